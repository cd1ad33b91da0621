// Gives memory the allocator keeps back to the system, now and then.
//
// glibc's malloc keeps what is freed inside its arenas and returns only the top of a heap.
// A busy moment (a stall that leaves a few hundred TLS connections open at once, each with
// some 100 kB of OpenSSL and Asio buffers) raises an arena to that peak, and what is freed
// afterwards stays resident: a 10-minute soak showed resident memory climbing in steps while
// the bytes in use stayed flat (bench/soak.sh; bench/RESULTS.md, tenth pass). Every
// `interval`, when the allocator holds more than `min_free_bytes` free, HeapTrimmer calls
// malloc_trim(0), which returns the free pages of every arena (MADV_DONTNEED), so resident
// memory follows live memory. Pages given back still count as free in mallinfo2, so once the
// free heap has passed the threshold a trim runs every interval: about 2 ms each at 280
// enrollments/s (bench/RESULTS.md, eleventh pass), and while it walks an arena it holds that
// arena's lock. On other C libraries it does nothing. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

namespace attestlab::server {

class HeapTrimmer {
 public:
  // interval 0: never runs (no thread).
  HeapTrimmer(std::chrono::milliseconds interval, std::size_t min_free_bytes);
  ~HeapTrimmer();
  HeapTrimmer(const HeapTrimmer&) = delete;
  HeapTrimmer& operator=(const HeapTrimmer&) = delete;

  // Stops and joins the thread; idempotent.
  void stop();
  // malloc_trim calls made so far, and the time they took together (each holds every arena's
  // lock in turn while it walks that arena's free chunks, so this is what trimming cost the
  // request threads at most).
  std::uint64_t trims() const { return trims_.load(std::memory_order_relaxed); }
  std::uint64_t trim_nanos() const { return trim_nanos_.load(std::memory_order_relaxed); }

  // The allocator's free bytes now (0 where unknown).
  static std::size_t free_bytes();
  // The allocator's heap now: bytes in use (mmapped blocks included) and free but kept;
  // nullopt where the C library does not say (not glibc ≥ 2.33).
  struct Heap {
    std::size_t in_use = 0;
    std::size_t free = 0;
  };
  static std::optional<Heap> heap();

 private:
  void run();

  const std::chrono::milliseconds interval_;
  const std::size_t min_free_;
  std::atomic<std::uint64_t> trims_{0};
  std::atomic<std::uint64_t> trim_nanos_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace attestlab::server
