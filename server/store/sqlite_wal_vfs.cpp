// See sqlite_wal_vfs.h.
#include "server/store/sqlite_wal_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace attestlab::server::sqlite_internal {
namespace {

constexpr int kFrameHeaderSize = 24;  // wal.c: WAL_FRAME_HDRSIZE
// Frames held for one write are written sooner once they pass this size (a transaction
// larger than the page cache spills many frames before its commit frame). Held bytes then
// stay under 60 KiB + one frame of the largest page (64 KiB): the unix VFS writes at most
// 128 KiB - 1 per call (os_unix.c, seekAndWrite masks the count with 0x1ffff) and reports a
// larger write as a full disk.
constexpr std::size_t kMaxHeld = 60 * 1024;
// Reserved when the file opens, so holding never allocates (nor throws through SQLite).
constexpr std::size_t kHeldCapacity = kMaxHeld + kFrameHeaderSize + 65536;

std::atomic<std::uint64_t> frames_held{0};
std::atomic<std::uint64_t> held_writes{0};
sqlite3_vfs* base_vfs = nullptr;  // the default VFS, set once before registration

// Our file: the wrapped VFS's file follows this struct in the same allocation (szOsFile).
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  bool wal;
  // What is held: whole frames, maybe then one header whose page has not come yet
  // (`page_due`, and `commit_due` when it is a commit frame's), to go at `held_offset`.
  std::vector<unsigned char>* held;
  sqlite3_int64 held_offset;
  bool page_due;
  bool commit_due;
  sqlite3_int64 last_read_offset;  // -1 when the last call was not a read
};

sqlite3_file* real_of(sqlite3_file* f) {
  return reinterpret_cast<File*>(f)->real;
}

// Writes what is held, if anything, with one call.
int flush(File* f) {
  f->last_read_offset = -1;
  if (f->held == nullptr || f->held->empty()) return SQLITE_OK;
  f->page_due = false;
  f->commit_due = false;
  const int rc = f->real->pMethods->xWrite(f->real, f->held->data(),
                                           static_cast<int>(f->held->size()), f->held_offset);
  f->held->clear();
  if (rc == SQLITE_OK) held_writes.fetch_add(1, std::memory_order_relaxed);
  return rc;
}

int flush(sqlite3_file* f) {
  return flush(reinterpret_cast<File*>(f));
}

int x_close(sqlite3_file* file) {
  File* f = reinterpret_cast<File*>(file);
  int rc = flush(f);
  const int closed = f->real->pMethods->xClose(f->real);
  delete f->held;
  f->held = nullptr;
  return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = reinterpret_cast<File*>(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  f->last_read_offset = offset;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

// Within the capacity reserved at open (x_write keeps it so): no allocation.
void hold(File* f, const void* data, int amount) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  f->held->insert(f->held->end(), bytes, bytes + amount);
}

// A WAL frame header's second word: the database size after the commit for a commit frame,
// zero for every other frame (wal.c, walEncodeFrame).
bool is_commit_header(const void* data) {
  const auto* h = static_cast<const unsigned char*>(data);
  return (h[4] | h[5] | h[6] | h[7]) != 0;
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = reinterpret_cast<File*>(file);
  // A frame just read and now given a new header is a checksum rewrite (wal.c,
  // walRewriteChecksums), which no page write follows: its header goes down at once.
  const bool rewrite = f->last_read_offset == offset;
  f->last_read_offset = -1;
  if (f->wal && !rewrite) {
    const sqlite3_int64 end = f->held_offset + static_cast<sqlite3_int64>(f->held->size());
    const std::size_t room = f->held->capacity() - f->held->size();
    if (f->page_due && offset == end && static_cast<std::size_t>(amount) <= room) {
      // The page after its header: the frame is whole. A commit frame ends the transaction's
      // frames, which then go down together before SQLite publishes them.
      hold(f, data, amount);
      f->page_due = false;
      frames_held.fetch_add(1, std::memory_order_relaxed);
      if (f->commit_due || f->held->size() >= kMaxHeld) return flush(f);
      return SQLITE_OK;
    }
    if (!f->page_due && amount == kFrameHeaderSize) {
      // Whole frames are held below kMaxHeld, so a header always has room after them.
      if (!f->held->empty() && offset != end) {
        if (int rc = flush(f); rc != SQLITE_OK) return rc;
      }
      if (f->held->empty()) f->held_offset = offset;
      hold(f, data, amount);
      f->page_due = true;
      f->commit_due = is_commit_header(data);
      return SQLITE_OK;
    }
  }
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

// Every other method writes what is held first, then hands over.
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int x_lock(sqlite3_file* f, int level) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xLock(real_of(f), level);
}
int x_unlock(sqlite3_file* f, int level) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int x_check_reserved_lock(sqlite3_file* f, int* out) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int x_sector_size(sqlite3_file* f) {
  return real_of(f)->pMethods->xSectorSize(real_of(f));
}
int x_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) {
  (void)flush(f);  // a failed write shows again on the next write or sync
  real_of(f)->pMethods->xShmBarrier(real_of(f));
}
int x_shm_unmap(sqlite3_file* f, int remove) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xShmUnmap(real_of(f), remove);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xFetch(real_of(f), offset, amount, out);
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  return real_of(f)->pMethods->xUnfetch(real_of(f), offset, page);
}

// Version 3 methods, as the unix VFS's; v_open refuses a wrapped file with fewer.
const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int v_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = reinterpret_cast<File*>(file);
  std::memset(f, 0, sizeof(File));
  f->real = reinterpret_cast<sqlite3_file*>(f + 1);
  const int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
  const sqlite3_io_methods* real_methods = f->real->pMethods;
  if (real_methods == nullptr) {
    f->base.pMethods = nullptr;  // nothing to close
    return rc;
  }
  if (real_methods->iVersion < 3) {
    // Not a VFS of the kind this wraps (the unix VFS's files have version 3 methods).
    real_methods->xClose(f->real);
    f->base.pMethods = nullptr;
    return SQLITE_CANTOPEN;
  }
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->last_read_offset = -1;
  if (f->wal) {
    try {
      auto held = std::make_unique<std::vector<unsigned char>>();
      held->reserve(kHeldCapacity);
      f->held = held.release();
    } catch (const std::bad_alloc&) {
      f->wal = false;  // no room to hold: write as SQLite does
    }
  }
  f->base.pMethods = &kMethods;
  return rc;
}

int v_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return base_vfs->xDelete(base_vfs, name, sync_dir);
}
int v_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}
int v_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, n, out);
}
void* v_dl_open(sqlite3_vfs*, const char* name) {
  return base_vfs->xDlOpen(base_vfs, name);
}
void v_dl_error(sqlite3_vfs*, int n, char* out) {
  base_vfs->xDlError(base_vfs, n, out);
}
void (*v_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return base_vfs->xDlSym(base_vfs, handle, symbol);
}
void v_dl_close(sqlite3_vfs*, void* handle) {
  base_vfs->xDlClose(base_vfs, handle);
}
int v_randomness(sqlite3_vfs*, int n, char* out) {
  return base_vfs->xRandomness(base_vfs, n, out);
}
int v_sleep(sqlite3_vfs*, int micros) {
  return base_vfs->xSleep(base_vfs, micros);
}
int v_current_time(sqlite3_vfs*, double* out) {
  return base_vfs->xCurrentTime(base_vfs, out);
}
int v_get_last_error(sqlite3_vfs*, int n, char* out) {
  return base_vfs->xGetLastError(base_vfs, n, out);
}
int v_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

sqlite3_vfs vfs{};

const char* register_vfs() {
  base_vfs = sqlite3_vfs_find(nullptr);
  if (base_vfs == nullptr || base_vfs->iVersion < 2 || base_vfs->xCurrentTimeInt64 == nullptr)
    return nullptr;
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(sizeof(File)) + base_vfs->szOsFile;
  vfs.mxPathname = base_vfs->mxPathname;
  vfs.zName = "attestlab-wal-batching";
  vfs.xOpen = v_open;
  vfs.xDelete = v_delete;
  vfs.xAccess = v_access;
  vfs.xFullPathname = v_full_pathname;
  vfs.xDlOpen = v_dl_open;
  vfs.xDlError = v_dl_error;
  vfs.xDlSym = v_dl_sym;
  vfs.xDlClose = v_dl_close;
  vfs.xRandomness = v_randomness;
  vfs.xSleep = v_sleep;
  vfs.xCurrentTime = v_current_time;
  vfs.xGetLastError = v_get_last_error;
  vfs.xCurrentTimeInt64 = v_current_time_int64;
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
  return vfs.zName;
}

}  // namespace

const char* wal_batching_vfs() {
  static const char* const name = register_vfs();
  return name;
}

WalBatchStats wal_batch_stats() {
  return WalBatchStats{frames_held.load(std::memory_order_relaxed),
                       held_writes.load(std::memory_order_relaxed)};
}

}  // namespace attestlab::server::sqlite_internal
