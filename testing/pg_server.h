// A PostgreSQL server of the test's own (testing/pg_tmp.sh: initdb in a temporary
// directory, a free port, run as the unprivileged user attestlab-pg when the test runs as
// root), started on first use and stopped and deleted when the test process exits.
// When it cannot start (e.g. the PostgreSQL binaries are missing), error() says why and
// the tests that need it must FAIL with that message, never skip: see PG_SERVER_OR_FAIL.
#pragma once

#include <gtest/gtest.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <string>

#ifndef ATTESTLAB_SOURCE_DIR
#error "testing/pg_server.h needs ATTESTLAB_SOURCE_DIR (set for every test target)"
#endif

namespace attestlab::testing {

class PgTestServer {
 public:
  static PgTestServer& shared() {
    static PgTestServer server;
    return server;
  }
  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;
  ~PgTestServer() {
    if (!dir_.empty()) (void)run("stop " + dir_);
  }

  bool ok() const { return !url_.empty(); }
  const std::string& error() const { return error_; }
  // URL of the database "attestlab".
  const std::string& url() const { return url_; }

  // A new, empty database; its URL, or "" with error() set.
  std::string fresh_database() {
    static std::atomic<int> counter{0};
    std::string name = "t" + std::to_string(++counter);
    auto out = run("createdb " + dir_ + " " + name);
    if (out.rc != 0) {
      error_ = "createdb " + name + " failed: " + out.text;
      return "";
    }
    return out.last_line;
  }

 private:
  struct Output {
    int rc = -1;
    std::string text, last_line;
  };

  PgTestServer() {
    std::string pattern = (std::filesystem::temp_directory_path() / "attestlab-pg-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = pattern;
    auto out = run("start " + dir_);
    if (out.rc != 0) {
      error_ = "cannot start a test PostgreSQL server: " + out.text;
      return;
    }
    url_ = out.last_line;
  }

  static Output run(const std::string& args) {
    Output out;
    std::string cmd = "bash " ATTESTLAB_SOURCE_DIR "/testing/pg_tmp.sh " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) {
      out.text = "popen failed";
      return out;
    }
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out.text += buf;
    int status = pclose(p);
    out.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    while (!out.text.empty() && out.text.back() == '\n') out.text.pop_back();
    auto nl = out.text.rfind('\n');
    out.last_line = nl == std::string::npos ? out.text : out.text.substr(nl + 1);
    return out;
  }

  std::string dir_, url_, error_;
};

}  // namespace attestlab::testing

// In a test body or SetUp: the shared server, or a test FAILURE naming why it is missing.
#define PG_SERVER_OR_FAIL(var)                              \
  auto& var = ::attestlab::testing::PgTestServer::shared(); \
  if (!var.ok()) GTEST_FAIL() << var.error() << " (PostgreSQL tests never skip)"
