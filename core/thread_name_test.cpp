#include "core/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <string>
#include <thread>

namespace attestlab {
namespace {

std::string name_in_thread(const std::string& name) {
  std::string seen;
  std::thread t([&] {
    name_this_thread(name);
    char buf[32] = {};
    if (pthread_getname_np(pthread_self(), buf, sizeof buf) == 0) seen = buf;
  });
  t.join();
  return seen;
}

TEST(ThreadName, NamesTheCallingThread) {
  EXPECT_EQ(name_in_thread("http-io-1"), "http-io-1");
}

TEST(ThreadName, CutsALongNameAtFifteenBytes) {
  EXPECT_EQ(name_in_thread("validation-worker-12"), "validation-work");
}

TEST(ThreadName, LeavesOtherThreadsAlone) {
  char before[32] = {};
  ASSERT_EQ(pthread_getname_np(pthread_self(), before, sizeof before), 0);
  name_in_thread("other");
  char after[32] = {};
  ASSERT_EQ(pthread_getname_np(pthread_self(), after, sizeof after), 0);
  EXPECT_STREQ(before, after);
}

}  // namespace
}  // namespace attestlab
