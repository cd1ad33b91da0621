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

// 32 MiB freed in 16 KiB blocks between blocks still in use stays resident; the trimmer gives
// back the pages inside them (3 of each 4).
TEST(HeapTrimmer, GivesFreedMemoryBetweenLiveBlocksBackToTheSystem) {
#ifdef ATTESTLAB_SANITIZED_ALLOCATOR
  GTEST_SKIP() << "the sanitizer's allocator replaces glibc's";
#else
  // Every other one of 4096 blocks of 16 KiB is freed: the 32 MiB freed lie between blocks
  // still in use, so glibc cannot give them back by itself (it returns only the top of a
  // heap), whatever state earlier tests left the heap in.
  constexpr int kBlocks = 4096;
  constexpr std::size_t kBlock = 16 * 1024;
  std::vector<void*> blocks(kBlocks);
  for (int i = 0; i < kBlocks; ++i) {
    blocks[i] = std::malloc(kBlock);
    ASSERT_NE(blocks[i], nullptr);
    std::memset(blocks[i], 0x5a, kBlock);
  }
  const long before_free = rss_anon_kb();
  for (int i = 0; i < kBlocks; i += 2) std::free(blocks[i]);
  const long after_free = rss_anon_kb();
  // The premise: freeing gave (almost) nothing back.
  ASSERT_GT(after_free, before_free - 4096) << "RssAnon " << before_free << " -> " << after_free;
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
  for (int i = 1; i < kBlocks; i += 2) std::free(blocks[i]);
#endif
}

// What /metrics reports as attestlab_process_heap_bytes: a block allocated now is in use.
TEST(HeapTrimmer, HeapCountsALiveBlockAsInUse) {
  const auto before = HeapTrimmer::heap();
  ASSERT_TRUE(before.has_value()) << "glibc >= 2.33 reports its heap (Debian bookworm: 2.36)";
  std::vector<char> block(4 << 20, 'x');
  const auto during = HeapTrimmer::heap();
  ASSERT_TRUE(during.has_value());
#ifdef ATTESTLAB_SANITIZED_ALLOCATOR
  (void)block;  // mallinfo2 describes glibc's heap, which the sanitizer's allocator bypasses
#else
  EXPECT_GE(during->in_use, before->in_use + block.size());
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
