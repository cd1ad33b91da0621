// Temporary on-disk state for benchmarks: a directory under the system temp dir (the
// test-support TempDir), and a SQLite store on a fresh file in one, removed with its
// directory when destroyed. Benchmark support only; not thread-safe (one per benchmark run).
#pragma once

#include <memory>
#include <string>

#include "server/store/store.h"
#include "testing/pebble_fixture.h"

namespace attestlab::bench {

using client::testing::TempDir;  // testing/pebble_fixture.h

class TempStore {
 public:
  TempStore() {
    if (dir_.path().empty()) return;
    auto opened = server::open_sqlite_store(dir_.path() + "/bench.db");
    if (opened.ok()) store_ = std::move(opened).value();
  }

  // nullptr when the store could not be opened.
  server::Store* get() { return store_.get(); }

 private:
  TempDir dir_;  // declared first, so the store closes before its directory goes
  std::unique_ptr<server::Store> store_;
};

}  // namespace attestlab::bench
