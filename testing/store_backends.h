// The two Store implementations as interchangeable test backends, so one store test suite
// runs against both (server/store/store_test.cpp, a test parameterized by backend name).
// Each backend owns one fresh database (a temporary SQLite file, or a new database on the
// test's own PostgreSQL server, testing/pg_server.h) and reaches it behind the store's
// back for what the tests check directly (row counts, the schema version).
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "server/store/store.h"
#include "testing/pg_server.h"
#include "testing/temp_dir.h"

namespace attestlab::testing {

class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  // The --store spec of this backend's database.
  virtual std::string spec() const = 0;
  // Runs one SQL statement on the database through a separate raw connection.
  virtual void raw_exec(const std::string& sql) = 0;
  virtual std::int64_t raw_count(const std::string& table) = 0;
  // Overwrites the recorded schema version.
  virtual void set_schema_version(int v) = 0;
  // Takes a current database back to schema version 1 (undoes migrations 5 to 2).
  virtual void downgrade_to_v1() = 0;

  // A new store (connection) on the database.
  Result<std::unique_ptr<server::Store>> open_raw() { return server::open_store(spec()); }
  std::unique_ptr<server::Store> open() {
    auto r = open_raw();
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().detail);
    return r.ok() ? std::move(r).value() : nullptr;
  }
};

class SqliteBackend final : public StoreBackend {
 public:
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_.path(); }

  std::string spec() const override { return "sqlite:" + path_; }
  void raw_exec(const std::string& sql) override {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  std::int64_t raw_count(const std::string& table) override {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    std::int64_t n = -1;
    if (sqlite3_prepare_v2(db, ("SELECT count(*) FROM " + table).c_str(), -1, &s, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      n = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
  }
  void set_schema_version(int v) override {
    raw_exec("PRAGMA user_version = " + std::to_string(v));
  }
  void downgrade_to_v1() override {
    raw_exec("DROP INDEX orders_processing");
    raw_exec("DROP INDEX certificates_valid_by_device");
    raw_exec("CREATE INDEX certificates_by_device ON certificates(device_id)");
    raw_exec("DROP INDEX authzs_by_account_status");
    raw_exec("DROP INDEX certificates_by_order");
    set_schema_version(1);
  }

 private:
  TempDir dir_{"store"};
  std::string path_ = dir_.file("state.db");
};

class PgBackend final : public StoreBackend {
 public:
  // url: a fresh database (PgTestServer::fresh_database()).
  explicit PgBackend(std::string url) : url_(std::move(url)) {}

  std::string spec() const override { return url_; }
  void raw_exec(const std::string& sql) override {
    try {
      pqxx::connection c(url_);
      pqxx::nontransaction t(c);
      t.exec0(sql);
    } catch (const std::exception& e) {
      ADD_FAILURE() << sql << ": " << e.what();
    }
  }
  std::int64_t raw_count(const std::string& table) override {
    try {
      pqxx::connection c(url_);
      pqxx::nontransaction t(c);
      return t.exec1("SELECT count(*) FROM " + table)[0].as<std::int64_t>();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "count " << table << ": " << e.what();
      return -1;
    }
  }
  void set_schema_version(int v) override {
    raw_exec("UPDATE schema_version SET version = " + std::to_string(v));
  }
  void downgrade_to_v1() override {
    raw_exec("DROP INDEX orders_processing");
    raw_exec("DROP INDEX certificates_valid_by_device");
    raw_exec("CREATE INDEX certificates_by_device ON certificates(device_id, seq)");
    raw_exec("DROP INDEX authzs_by_account_status");
    raw_exec("ALTER TABLE certificates DROP CONSTRAINT certificates_order_id_key");
    set_schema_version(1);
  }

 private:
  std::string url_;
};

}  // namespace attestlab::testing
