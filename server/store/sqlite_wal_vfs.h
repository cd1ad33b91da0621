// A SQLite VFS that writes each WAL frame with one system call instead of two.
//
// SQLite writes a WAL frame as its 24-byte header and then its page, two pwrite calls at
// adjacent offsets (wal.c, walWriteOneFrame). This VFS wraps the platform's default VFS and
// holds a WAL file's 24-byte write back until the next call on that file: when it is the
// page at the following offset, both go down in one write; any other call writes the held
// header first. Nothing else changes: locks, shared memory, sync and every other file go
// straight to the default VFS, so connections on this VFS and on the default one share a
// database, in one process or several.
//
// Why it is safe: SQLite publishes frames to readers (the wal-index in shared memory) only
// after walWriteOneFrame has written the page, which flushes the header first; a crash
// between the two loses an unpublished frame, as a crash between the two writes would. The
// one 24-byte write no page follows, a header rewritten with new checksums after its frame
// was read back (walRewriteChecksums, transactions that spilled pages into the WAL), is
// written at once: held, it could still be in memory when the commit is published, and a
// recovery after a crash would cut the WAL at its stale checksum (test
// WalChecksumRewritesOfASpilledTransactionSurviveKillMinus9 fails that way without it).
#pragma once

#include <cstdint>

namespace attestlab::server::sqlite_internal {

// The VFS's name, registered (not as the default) on first call; nullptr if SQLite has no
// default VFS to wrap. Thread-safe.
const char* wal_batching_vfs();

// Frames written with one call since the process started (tests and benchmarks).
std::uint64_t wal_frames_coalesced();

}  // namespace attestlab::server::sqlite_internal
