// SqliteStore's connection: opening (pragmas, WAL), the background checkpointer, and the
// row helpers every part of the store uses. See sqlite_internal.h for the whole design.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <thread>

#include "core/thread_name.h"
#include "server/store/sqlite_internal.h"
#include "server/store/sqlite_wal_vfs.h"

namespace attestlab::server::sqlite_internal {
namespace {

constexpr int kBusyTimeoutMs = 5000;
// WAL size (pages) that wakes the background checkpointer, and the size at which a commit
// stops relying on it and checkpoints inline. SQLite's own default is 1000 pages; at 4000 a
// checkpoint copies a page rewritten by several commits once and syncs the database a quarter
// as often: under saturating load (bench/efficiency.sh, two A/B pairs) server CPU per
// enrollment 2.50-2.53 -> 2.35-2.39 ms, throughput +5 %. Durability against a crash of the
// process is the WAL's and does not change; see sqlite_internal.h.
constexpr int kBackgroundCheckpointPages = 4000;
constexpr int kInlineCheckpointPages = 16000;
// A WAL file that grew during a burst is cut back to this size when it restarts.
constexpr const char* kJournalSizeLimitPragma = "PRAGMA journal_size_limit=67108864;";

std::atomic<std::uint64_t> background_runs{0};
std::atomic<std::uint64_t> inline_runs{0};
std::atomic<std::uint64_t> wal_restarts{0};

}  // namespace

CheckpointStats checkpoint_stats() {
  return CheckpointStats{background_runs.load(std::memory_order_relaxed),
                         inline_runs.load(std::memory_order_relaxed),
                         wal_restarts.load(std::memory_order_relaxed)};
}

Result<void> SqliteStore::open(const std::string& path) {
  // The database holds account keys and nonce/EAB secrets: create it owner-only (SQLite
  // gives its -wal and -shm files the database file's mode). An existing file keeps its mode.
  if (path != ":memory:" && path.rfind("file:", 0) != 0) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) ::close(fd);
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           wal_batching_vfs());
  db_.reset(raw);
  if (!db_) return Error::make("serverInternal", "sqlite: out of memory opening " + path);
  if (rc != SQLITE_OK) {
    return Error::make("serverInternal",
                       "sqlite: " + std::string(sqlite3_errmsg(db_.get())) + " (" + path + ")");
  }
  sqlite3_extended_result_codes(db_.get(), 1);
  if (path == ":memory:") {
    local_path_ = "";
  } else if (path.rfind("file:", 0) != 0) {
    local_path_ = path;
  }
  sqlite3_busy_timeout(db_.get(), kBusyTimeoutMs);

  std::string journal_mode;
  {
    // journal_mode answers with the mode in effect; anything but WAL would silently weaken
    // the durability and concurrency promises (":memory:" databases cannot have a WAL).
    // Switching a new file to WAL needs its exclusive lock, and SQLite answers BUSY at once,
    // without the busy handler, while another connection holds any lock on it (processes
    // opening one new database together): tried again until the busy timeout.
    auto stmt = prepare("PRAGMA journal_mode=WAL");
    if (!stmt) return stmt.error();
    constexpr int kRetryMs = 2;
    int rc = SQLITE_BUSY;
    for (int waited = 0; waited <= kBusyTimeoutMs; waited += kRetryMs) {
      Query q(stmt->get());
      rc = q.step();
      if (rc == SQLITE_ROW) {
        journal_mode = q.column_text(0);
        break;
      }
      if ((rc & 0xff) != SQLITE_BUSY) return sqlite_error();
      std::this_thread::sleep_for(std::chrono::milliseconds(kRetryMs));
    }
    if (rc != SQLITE_ROW) return sqlite_error();
    if (journal_mode != "wal" && !(path == ":memory:" && journal_mode == "memory")) {
      return Error::make("serverInternal", "sqlite: cannot use WAL journal mode for " + path +
                                               " (got " + journal_mode + ")");
    }
  }
  ATTESTLAB_TRY(exec_script("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  ATTESTLAB_TRY(exec_script(kJournalSizeLimitPragma));

  const std::pair<StatementPtr*, const char*> control[] = {
      {&begin_, "BEGIN IMMEDIATE"},
      {&commit_, "COMMIT"},
      {&rollback_, "ROLLBACK"},
      {&user_version_, "PRAGMA user_version"},
  };
  for (const auto& [slot, sql] : control) {
    auto s = prepare(sql);
    if (!s) return s.error();
    *slot = std::move(*s);
  }
  ATTESTLAB_TRY(migrate());
  ATTESTLAB_TRY(prepare_statements());
  if (journal_mode == "wal") start_checkpointer(path);
  return ok();
}

void SqliteStore::start_checkpointer(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                           wal_batching_vfs());
  ckpt_db_.reset(raw);
  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(ckpt_db_.get(), kBusyTimeoutMs);
    // A connection only sees the WAL once it has read the database; until then its
    // checkpoints silently do nothing.
    rc = sqlite3_exec(ckpt_db_.get(), "SELECT count(*) FROM sqlite_schema", nullptr, nullptr,
                      nullptr);
  }
  if (rc != SQLITE_OK) {
    // Still correct without the helper: SQLite then checkpoints inline on commit.
    ckpt_db_.reset();
    return;
  }
  try {
    ckpt_thread_ = std::thread([this] {
      name_this_thread("wal-checkpoint");
      checkpoint_loop();
    });
  } catch (const std::system_error&) {
    ckpt_db_.reset();
    return;
  }
  sqlite3_wal_hook(db_.get(), &SqliteStore::on_wal_commit, this);  // replaces autocheckpoint
}

void SqliteStore::stop_checkpointer() {
  if (!ckpt_thread_.joinable()) return;
  {
    std::lock_guard lock(ckpt_mu_);
    ckpt_stop_ = true;
  }
  ckpt_cv_.notify_one();
  ckpt_thread_.join();
  ckpt_db_.reset();
}

void SqliteStore::checkpoint_loop() {
  std::unique_lock lock(ckpt_mu_);
  for (;;) {
    ckpt_cv_.wait(lock, [this] { return ckpt_requested_ || ckpt_stop_; });
    if (ckpt_stop_) return;
    ckpt_requested_ = false;
    lock.unlock();
    // PASSIVE neither waits for nor blocks writers; frames it cannot reach now are picked
    // up by the next run. A failure (e.g. I/O) leaves the data safe in the WAL.
    // The commits made while a pass runs are still to copy, and SQLite starts the WAL over
    // (writes it from its start again) only when a write begins with every frame copied.
    // Under steady writes that rarely happened by itself: each commit above the threshold
    // asked for another run, ~20 runs and 40 fsyncs per WAL cycle at saturation
    // (bench/RESULTS.md). So after two passes that block nobody (the second copies what came
    // during the first: the third then holds the mutex 1.8 ms on average at saturation here
    // instead of 2.5), the rest is copied with this process's requests held off; the next
    // write then starts the WAL over.
    for (int pass = 0; pass < 3; ++pass) {
      std::unique_lock hold(mu_, std::defer_lock);  // lock order: mu_, then ckpt_run_mu_
      if (pass == 2) hold.lock();
      std::lock_guard run(ckpt_run_mu_);
      sqlite3_wal_checkpoint_v2(ckpt_db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                nullptr);
    }
    background_runs.fetch_add(1, std::memory_order_relaxed);
    lock.lock();
    // What the commits of the run asked for is done.
    ckpt_requested_ = false;
  }
}

// Runs inside every commit on the main connection, with mu_ held.
int SqliteStore::on_wal_commit(void* self, sqlite3* db, const char* schema, int wal_pages) {
  auto* store = static_cast<SqliteStore*>(self);
  if (wal_pages < store->last_wal_pages_) wal_restarts.fetch_add(1, std::memory_order_relaxed);
  store->last_wal_pages_ = wal_pages;
  if (wal_pages >= kInlineCheckpointPages) {
    // The background checkpointer cannot catch up while writes keep coming. Wait for its
    // current run, then checkpoint here: no writer of this process can run meanwhile, so
    // this one reaches the end of the WAL and the next write restarts it.
    std::lock_guard run(store->ckpt_run_mu_);
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    inline_runs.fetch_add(1, std::memory_order_relaxed);
  } else if (wal_pages >= kBackgroundCheckpointPages) {
    {
      std::lock_guard lock(store->ckpt_mu_);
      store->ckpt_requested_ = true;
    }
    store->ckpt_cv_.notify_one();
  }
  return SQLITE_OK;
}

Result<std::optional<std::string>> SqliteStore::fetch_text(sqlite3_stmt* s,
                                                           const std::string& key) {
  Query q(s);
  int rc = q.text(key).step();
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return sqlite_error();
  return std::optional<std::string>(q.column_text(0));
}

Result<std::optional<SqliteStore::KeyedText>> SqliteStore::fetch_keyed_text(
    sqlite3_stmt* s, const std::string& lookup) {
  Query q(s);
  int rc = q.text(lookup).step();
  if (rc == SQLITE_DONE) return std::optional<KeyedText>();
  if (rc != SQLITE_ROW) return sqlite_error();
  KeyedText row{q.column_text(0), sqlite3_column_count(s) > 1 ? q.column_text(1) : lookup};
  return std::optional<KeyedText>(std::move(row));
}

Result<std::optional<Json>> SqliteStore::fetch_json(sqlite3_stmt* s, const std::string& key) {
  auto text = fetch_text(s, key);
  if (!text) return text.error();
  if (!*text) return std::optional<Json>();
  auto j = parse_stored(**text);
  if (!j) return j.error();
  return std::optional<Json>(std::move(*j));
}

Error SqliteStore::missed_update(sqlite3_stmt* exists, const std::string& id,
                                 const std::string& expected, const char* kind) {
  Query q(exists);
  int rc = q.text(id).step();
  if (rc == SQLITE_ROW) {
    return Error::make("conflict", std::string(kind) + " " + id + " is no longer " + expected);
  }
  if (rc == SQLITE_DONE) {
    return Error::make("serverInternal", std::string("store: no ") + kind + " " + id);
  }
  return sqlite_error();
}

}  // namespace attestlab::server::sqlite_internal

namespace attestlab::server {

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  auto store = std::make_unique<sqlite_internal::SqliteStore>();
  if (auto r = store->open(path); !r) return r.error();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace attestlab::server
