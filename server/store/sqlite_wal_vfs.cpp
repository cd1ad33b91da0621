// See sqlite_wal_vfs.h.
#include "server/store/sqlite_wal_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <vector>

namespace attestlab::server::sqlite_internal {
namespace {

constexpr int kFrameHeaderSize = 24;  // wal.c: WAL_FRAME_HDRSIZE

std::atomic<std::uint64_t> coalesced{0};
sqlite3_vfs* base_vfs = nullptr;  // the default VFS, set once before registration

// Our file: the wrapped VFS's file follows this struct in the same allocation (szOsFile).
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  bool wal;
  bool held;  // a frame header waits in `header` for the page that follows it
  sqlite3_int64 held_offset;
  sqlite3_int64 last_read_offset;  // -1 when the last call was not a read
  unsigned char header[kFrameHeaderSize];
  std::vector<unsigned char>* joined;  // header + page, reused
};

sqlite3_file* real_of(sqlite3_file* f) {
  return reinterpret_cast<File*>(f)->real;
}

// Writes the held header, if any.
int flush(File* f) {
  f->last_read_offset = -1;
  if (!f->held) return SQLITE_OK;
  f->held = false;
  return f->real->pMethods->xWrite(f->real, f->header, kFrameHeaderSize, f->held_offset);
}

int flush(sqlite3_file* f) {
  return flush(reinterpret_cast<File*>(f));
}

int x_close(sqlite3_file* file) {
  File* f = reinterpret_cast<File*>(file);
  int rc = flush(f);
  const int closed = f->real->pMethods->xClose(f->real);
  delete f->joined;
  f->joined = nullptr;
  return rc != SQLITE_OK ? rc : closed;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = reinterpret_cast<File*>(file);
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  f->last_read_offset = offset;
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = reinterpret_cast<File*>(file);
  // A frame just read and now given a new header is a checksum rewrite (wal.c,
  // walRewriteChecksums), which no page write follows: its header goes down at once.
  const bool rewrite = f->last_read_offset == offset;
  f->last_read_offset = -1;
  if (f->held && offset == f->held_offset + kFrameHeaderSize) {
    // The page after its header: one write of both.
    f->held = false;
    std::vector<unsigned char>& joined = *f->joined;
    joined.resize(kFrameHeaderSize + static_cast<std::size_t>(amount));
    std::memcpy(joined.data(), f->header, kFrameHeaderSize);
    std::memcpy(joined.data() + kFrameHeaderSize, data, static_cast<std::size_t>(amount));
    const int rc = f->real->pMethods->xWrite(f->real, joined.data(),
                                             static_cast<int>(joined.size()), f->held_offset);
    if (rc == SQLITE_OK) coalesced.fetch_add(1, std::memory_order_relaxed);
    return rc;
  }
  if (int rc = flush(f); rc != SQLITE_OK) return rc;
  if (f->wal && amount == kFrameHeaderSize && !rewrite) {
    std::memcpy(f->header, data, kFrameHeaderSize);
    f->held_offset = offset;
    f->held = true;
    return SQLITE_OK;
  }
  return f->real->pMethods->xWrite(f->real, data, amount, offset);
}

// Every other method writes a held header first, then hands over.
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
  f->joined = new (std::nothrow) std::vector<unsigned char>();
  if (f->joined == nullptr) f->wal = false;  // no room to join: write as SQLite does
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

std::uint64_t wal_frames_coalesced() {
  return coalesced.load(std::memory_order_relaxed);
}

}  // namespace attestlab::server::sqlite_internal
