// The per-request log of a load run (`attestlab load --jsonl FILE`): one JSON object a
// line, written as enrollments end. Thread-safe: lines of one write() call stay together.
#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace attestlab::load {

class JsonlWriter {
 public:
  // Creates or truncates path. Error("serverInternal", "<path>: <reason>").
  static Result<std::unique_ptr<JsonlWriter>> open(const std::string& path);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  void write(const std::vector<Json>& lines);
  // Flushes; false when any write failed.
  bool close();

 private:
  JsonlWriter() = default;
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  bool failed_ = false;
};

}  // namespace attestlab::load
