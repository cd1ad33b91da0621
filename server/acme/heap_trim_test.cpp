#include "server/acme/heap_trim.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "testing/sanitizers.h"

namespace attestlab::server {
namespace {

#ifndef ATTESTLAB_SANITIZED_ALLOCATOR
long rss_anon_kb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = -1;
  while (status >> key) {
    if (key == "RssAnon:") {
      status >> value;
      break;
    }
  }
  return value;
}
#endif

// 32 MiB freed in 16 KiB blocks between small ones still in use stays resident (glibc returns only
// the top of a heap by itself); the trimmer gives back the pages inside them (3 of each 4).
TEST(HeapTrimmer, GivesFreedMemoryBetweenLiveBlocksBackToTheSystem) {
#ifdef ATTESTLAB_SANITIZED_ALLOCATOR
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's";
#else
  constexpr int kBlocks = 2048;
  constexpr std::size_t kBlock = 16 * 1024;
  std::vector<void*> big(kBlocks), keepers(kBlocks);
  for (int i = 0; i < kBlocks; ++i) {
    big[i] = std::malloc(kBlock);
    keepers[i] = std::malloc(64);
    ASSERT_NE(big[i], nullptr);
    std::memset(big[i], 0x5a, kBlock);
  }
  for (void* p : big) std::free(p);
  const long after_free = rss_anon_kb();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // The premise: nothing gave the freed blocks back meanwhile.
  ASSERT_GT(rss_anon_kb(), after_free - 4096);
  EXPECT_GT(HeapTrimmer::free_bytes(), std::size_t{24} << 20);

  HeapTrimmer trimmer(std::chrono::milliseconds(20), std::size_t{1} << 20);
  long now = after_free;
  for (int i = 0; i < 150 && (trimmer.trims() == 0 || now > after_free - 16 * 1024); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    now = rss_anon_kb();
  }
  EXPECT_GE(trimmer.trims(), 1u);
  EXPECT_GT(trimmer.trim_nanos(), 0u);
  EXPECT_LT(now, after_free - 16 * 1024) << "RssAnon " << after_free << " kB -> " << now << " kB";
  trimmer.stop();
  const auto trims = trimmer.trims();
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(trimmer.trims(), trims);  // stopped
  for (void* p : keepers) std::free(p);
#endif
}

// Below the threshold it leaves the heap alone; interval 0 runs nothing.
TEST(HeapTrimmer, LeavesASmallFreeHeapAloneAndCanBeOff) {
  HeapTrimmer quiet(std::chrono::milliseconds(10), std::size_t{1} << 40);
  HeapTrimmer off(std::chrono::milliseconds(0), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(quiet.trims(), 0u);
  EXPECT_EQ(off.trims(), 0u);
}

}  // namespace
}  // namespace attestlab::server
