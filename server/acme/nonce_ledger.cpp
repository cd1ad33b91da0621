#include "server/acme/nonce_ledger.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace attestlab::server {

namespace {

// --- the store's nonce table ---------------------------------------------------------------

class StoreNonceLedger final : public NonceLedger {
 public:
  explicit StoreNonceLedger(Store& store) : store_(store) {}
  Result<bool> first_use(const std::string& nonce, std::string_view, std::int64_t,
                         std::int64_t now) override {
    // Recorded at the verifier's time, not the issuer's stamp: a skewed issuer must not make
    // the record look older than it is to the purge.
    auto recorded = store_.put_nonce(nonce, now);
    if (recorded) return true;
    if (recorded.error().type == "conflict") return false;
    return recorded.error();
  }

 private:
  Store& store_;
};

// --- the shared table ---------------------------------------------------------------------

constexpr char kMagic[8] = {'A', 'T', 'L', 'N', 'O', 'N', 'C', 'E'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 4096;  // the slots start on the next page

struct Half {
  std::int64_t started;  // when it became current
  std::uint64_t used;    // records in it
};

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t tag_bytes;
  std::uint64_t slots_per_half;
  std::int64_t retention;  // the longest any opener asked for
  std::int64_t floor;      // nonces issued before this are refused
  std::uint32_t current;   // 0 or 1
  std::uint32_t reserved;
  Half halves[2];
  pthread_mutex_t mutex;  // process-shared, robust
};
static_assert(sizeof(Header) <= kHeaderBytes);

std::size_t table_bytes(std::uint64_t slots_per_half) {
  return kHeaderBytes + 2 * slots_per_half * kNonceTagBytes;
}

Error table_error(const std::string& path, const std::string& what) {
  return Error::make(
      "serverInternal",
      "nonce table " + (path.empty() ? std::string("(memory)") : path) + ": " + what);
}

class SharedNonceTable final : public NonceLedger {
 public:
  SharedNonceTable(void* map, std::size_t bytes)
      : map_(map),
        bytes_(bytes),
        header_(static_cast<Header*>(map)),
        slots_(static_cast<std::uint8_t*>(map) + kHeaderBytes) {}
  ~SharedNonceTable() override { ::munmap(map_, bytes_); }
  SharedNonceTable(const SharedNonceTable&) = delete;
  SharedNonceTable& operator=(const SharedNonceTable&) = delete;

  Result<bool> first_use(const std::string&, std::string_view tag, std::int64_t issued,
                         std::int64_t now) override {
    if (tag.size() != kNonceTagBytes) return Error::make("serverInternal", "nonce tag size");
    Locked lock(header_);
    if (!lock.ok()) return Error::make("serverInternal", "nonce table: cannot lock");
    if (issued < header_->floor) return false;
    const std::uint64_t cap = header_->slots_per_half;
    const std::uint32_t cur = header_->current & 1;
    std::uint8_t* slot = nullptr;
    if (find(cur, tag, &slot) || find(cur ^ 1, tag, nullptr)) return false;
    const Half& h = header_->halves[cur];
    if (h.used >= cap - cap / 4 || now - h.started >= header_->retention) {
      rotate(now);
      // The cleared half may have held this nonce's use: the raised floor decides.
      if (issued < header_->floor) return false;
      find(header_->current & 1, tag, &slot);  // the cleared half: the first slot is empty
    }
    std::memcpy(slot, tag.data(), kNonceTagBytes);
    ++header_->halves[header_->current & 1].used;
    return true;
  }

  // Initialises a zeroed mapping.
  static Result<void> init(Header* h, std::int64_t now, const SharedNonceTableOptions& o,
                           const std::string& path) {
    h->version = kVersion;
    h->tag_bytes = kNonceTagBytes;
    h->slots_per_half = o.slots_per_half;
    h->retention = o.retention_seconds;
    // A new table knows nothing of uses recorded before it existed (an earlier table, or
    // the store's records): only nonces issued from now on are accepted.
    h->floor = now;
    h->current = 0;
    h->halves[0] = {now, 0};
    h->halves[1] = {now, 0};
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    const int rc = pthread_mutex_init(&h->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) return table_error(path, std::string("mutex: ") + std::strerror(rc));
    std::memcpy(h->magic, kMagic, sizeof kMagic);  // last: a torn init is redone
    return {};
  }

  // Takes the larger retention of several openers.
  void adopt_retention(std::int64_t retention) {
    Locked lock(header_);
    if (lock.ok()) header_->retention = std::max(header_->retention, retention);
  }

 private:
  class Locked {
   public:
    explicit Locked(Header* h) : h_(h) {
      const int rc = pthread_mutex_lock(&h_->mutex);
      // The last holder died while holding it: a record it was writing may be torn (a slot
      // that matches nothing) or uncounted; the table is still sound.
      if (rc == EOWNERDEAD) pthread_mutex_consistent(&h_->mutex);
      ok_ = rc == 0 || rc == EOWNERDEAD;
    }
    ~Locked() {
      if (ok_) pthread_mutex_unlock(&h_->mutex);
    }
    bool ok() const { return ok_; }

   private:
    Header* h_;
    bool ok_ = false;
  };

  std::uint8_t* half_slots(std::uint32_t half) const {
    return slots_ + half * header_->slots_per_half * kNonceTagBytes;
  }

  // Linear probing from the tag's first 8 bytes (a MAC: the client cannot choose them).
  // true when found; otherwise *empty (if asked) is the first empty slot of its run.
  bool find(std::uint32_t half, std::string_view tag, std::uint8_t** empty) const {
    static constexpr std::uint8_t kZero[kNonceTagBytes] = {};
    const std::uint64_t mask = header_->slots_per_half - 1;
    std::uint64_t start = 0;
    std::memcpy(&start, tag.data(), sizeof start);
    std::uint8_t* base = half_slots(half);
    for (std::uint64_t i = 0; i <= mask; ++i) {
      std::uint8_t* s = base + ((start + i) & mask) * kNonceTagBytes;
      if (std::memcmp(s, tag.data(), kNonceTagBytes) == 0) return true;
      if (std::memcmp(s, kZero, kNonceTagBytes) == 0) {
        if (empty) *empty = s;
        return false;
      }
    }
    return false;  // never reached: a half is never more than 3/4 full
  }

  // The other half is cleared and becomes current. Every record it held was made before
  // the kept half began, so nonces issued up to that second are refused first: the floor
  // is raised before the records go, and a crash in between loses no protection.
  void rotate(std::int64_t now) {
    const std::uint32_t cur = header_->current & 1;
    const std::uint32_t next = cur ^ 1;
    header_->floor = std::max(header_->floor, header_->halves[cur].started + 1);
    std::memset(half_slots(next), 0, header_->slots_per_half * kNonceTagBytes);
    header_->halves[next] = {now, 0};
    header_->current = next;
  }

  void* map_;
  std::size_t bytes_;
  Header* header_;
  std::uint8_t* slots_;
};

// Closes the file, releasing its flock first: the mapping keeps the open file description
// (and so a flock on it) alive after close.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd < 0) return;
    ::flock(fd, LOCK_UN);
    ::close(fd);
  }
};

}  // namespace

std::unique_ptr<NonceLedger> make_store_nonce_ledger(Store& store, std::int64_t now,
                                                     std::int64_t retention_seconds) {
  // Tells the store how long records matter, so that it purges them after that (the empty
  // nonce matches nothing).
  (void)store.consume_nonce("", now, retention_seconds);
  return std::make_unique<StoreNonceLedger>(store);
}

Result<std::unique_ptr<NonceLedger>> open_shared_nonce_table(const std::string& path,
                                                             std::int64_t now,
                                                             const SharedNonceTableOptions& o) {
  const std::uint64_t slots = o.slots_per_half;
  if (slots < 16 || (slots & (slots - 1)) != 0 || slots > (std::uint64_t{1} << 26))
    return table_error(path, "slots per half must be a power of two from 16 to 2^26");
  if (o.retention_seconds <= 0) return table_error(path, "retention must be positive");
  const std::size_t bytes = table_bytes(slots);

  if (path.empty()) {
    void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (map == MAP_FAILED) return table_error(path, std::strerror(errno));
    auto table = std::make_unique<SharedNonceTable>(map, bytes);
    ATTESTLAB_TRY(SharedNonceTable::init(static_cast<Header*>(map), now, o, path));
    return std::unique_ptr<NonceLedger>(std::move(table));
  }

  FdCloser fd{::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)};
  if (fd.fd < 0) return table_error(path, std::strerror(errno));
  // Openers take turns: the first one creates the table, the others check it.
  if (::flock(fd.fd, LOCK_EX) != 0) return table_error(path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return table_error(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return table_error(path, "not a regular file");
  const bool fresh = st.st_size == 0;
  if (fresh && ::ftruncate(fd.fd, static_cast<off_t>(bytes)) != 0)
    return table_error(path, std::strerror(errno));
  if (!fresh && static_cast<std::uint64_t>(st.st_size) != bytes) {
    return table_error(path, "is " + std::to_string(st.st_size) + " bytes, expected " +
                                 std::to_string(bytes) +
                                 " (made by another build or damaged; stop every server "
                                 "using this data directory and remove it)");
  }
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd.fd, 0);
  if (map == MAP_FAILED) return table_error(path, std::strerror(errno));
  auto table = std::make_unique<SharedNonceTable>(map, bytes);
  auto* h = static_cast<Header*>(map);
  static constexpr char kNoMagic[8] = {};
  if (std::memcmp(h->magic, kNoMagic, sizeof kNoMagic) == 0) {
    // New, or an earlier opener died before finishing: (re)initialise under the flock. A
    // file this opener just sized is zeros already: writing them would dirty all of its
    // pages (8 MiB by default) and send them to the disk for nothing.
    if (!fresh) std::memset(map, 0, bytes);
    ATTESTLAB_TRY(SharedNonceTable::init(h, now, o, path));
    return std::unique_ptr<NonceLedger>(std::move(table));
  }
  if (std::memcmp(h->magic, kMagic, sizeof kMagic) != 0 || h->version != kVersion ||
      h->tag_bytes != kNonceTagBytes || h->slots_per_half != slots || h->current > 1 ||
      h->retention <= 0) {
    return table_error(path,
                       "not a nonce table of this build (stop every server using this data "
                       "directory and remove it)");
  }
  table->adopt_retention(o.retention_seconds);
  return std::unique_ptr<NonceLedger>(std::move(table));
}

}  // namespace attestlab::server
