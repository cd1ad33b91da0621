#include "server/acme/heap_trim.h"

#include <malloc.h>

#include <system_error>

#include "core/thread_name.h"

namespace attestlab::server {

#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#define ATTESTLAB_GLIBC_MALLOC 1
#endif

HeapTrimmer::HeapTrimmer(std::chrono::milliseconds interval, std::size_t min_free_bytes)
    : interval_(interval), min_free_(min_free_bytes) {
#ifdef ATTESTLAB_GLIBC_MALLOC
  if (interval_.count() <= 0) return;
  try {
    thread_ = std::thread([this] {
      name_this_thread("heap-trim");
      run();
    });
  } catch (const std::system_error&) {
    // Without the thread memory is only returned as glibc does by itself.
  }
#endif
}

HeapTrimmer::~HeapTrimmer() {
  stop();
}

void HeapTrimmer::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t HeapTrimmer::free_bytes() {
  const auto now = heap();
  return now ? now->free : 0;
}

std::optional<HeapTrimmer::Heap> HeapTrimmer::heap() {
#ifdef ATTESTLAB_GLIBC_MALLOC
  const struct mallinfo2 info = mallinfo2();
  return Heap{info.uordblks + info.hblkhd, info.fordblks};
#else
  return std::nullopt;
#endif
}

void HeapTrimmer::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, interval_, [this] { return stop_; })) {
    lock.unlock();
    if (free_bytes() > min_free_) {
      const auto start = std::chrono::steady_clock::now();
#ifdef ATTESTLAB_GLIBC_MALLOC
      (void)malloc_trim(0);
#endif
      const auto took = std::chrono::steady_clock::now() - start;
      trim_nanos_.fetch_add(static_cast<std::uint64_t>(
                                std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()),
                            std::memory_order_relaxed);
      trims_.fetch_add(1, std::memory_order_relaxed);
    }
    lock.lock();
  }
}

}  // namespace attestlab::server
