// A SQLite VFS that writes a transaction's WAL frames with one system call.
//
// SQLite writes a WAL frame as its 24-byte header and then its page, two pwrite calls at
// adjacent offsets (wal.c, walWriteOneFrame), and a transaction's frames one after another
// (a plain enrollment cost the server 27.7 pwrite calls with one call per frame, 6.5 with
// this VFS: bench/RESULTS.md, fourteenth pass). This VFS wraps the platform's default VFS
// and holds a WAL file's frames, header and page, while they come at adjacent offsets; the
// transaction's commit frame (a header whose second word, the database size after the
// commit, is not zero) sends them all down in one write, at once. Any other call on that
// file (a read, a sync, a lock, a write that does not continue the frames) writes what is
// held first, and so does passing 60 KiB. Nothing else changes: locks, shared memory, sync
// and every other file go straight to the default VFS, so connections on this VFS and on
// the default one share a database, in one process or several.
//
// Why it is safe: SQLite publishes a transaction's frames to readers (the wal-index in
// shared memory) only after writing the commit frame's page, which writes all of them;
// frames held before that are uncommitted, and a crash that loses them loses nothing a
// reader or a recovery could have used (recovery stops at the last commit frame). Frames
// of a transaction that spilled pages before its commit are read back by SQLite through
// this file, which writes them first. The one 24-byte write no page follows, a header
// rewritten with new checksums after its frame was read back (walRewriteChecksums), is
// written at once: held, it could still be in memory when the commit is published, and a
// recovery after a crash would cut the WAL at its stale checksum (test
// WalChecksumRewritesOfASpilledTransactionSurviveKillMinus9 fails that way without it).
#pragma once

#include <cstdint>

namespace attestlab::server::sqlite_internal {

// The VFS's name, registered (not as the default) on first call; nullptr if SQLite has no
// default VFS to wrap. Thread-safe.
const char* wal_batching_vfs();

// Since the process started (tests and benchmarks): WAL frames held and written together,
// and the writes that carried them.
struct WalBatchStats {
  std::uint64_t frames = 0;
  std::uint64_t writes = 0;
};
WalBatchStats wal_batch_stats();

}  // namespace attestlab::server::sqlite_internal
