#include "server/acme/nonce_ledger.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <vector>

#include "core/bytes.h"
#include "testing/temp_dir.h"

namespace attestlab::server {
namespace {

constexpr std::int64_t kT0 = 1'800'000'000;

std::string tag_of(int i) {
  // Distinct tags spread over the table like MACs are.
  Bytes h = sha256(std::to_string(i));
  return std::string(reinterpret_cast<const char*>(h.data()), kNonceTagBytes);
}

SharedNonceTableOptions small(std::uint64_t slots = 16, std::int64_t retention = 100) {
  SharedNonceTableOptions o;
  o.slots_per_half = slots;
  o.retention_seconds = retention;
  return o;
}

class SharedNonceTableTest : public ::testing::Test {
 protected:
  std::unique_ptr<NonceLedger> open(const SharedNonceTableOptions& o, std::int64_t now = kT0) {
    auto t = open_shared_nonce_table(path, now, o);
    EXPECT_TRUE(t.ok()) << (t ? "" : t.error().detail);
    return t ? std::move(*t) : nullptr;
  }
  bool use(NonceLedger& t, int i, std::int64_t issued, std::int64_t now) {
    auto r = t.first_use("n" + std::to_string(i), tag_of(i), issued, now);
    EXPECT_TRUE(r.ok());
    return r && *r;
  }
  attestlab::testing::TempDir tmp_{"nonce-table"};
  std::string path = tmp_.path() + "/db-nonces";
};

TEST_F(SharedNonceTableTest, FirstUseOnlyAcrossMappings) {
  auto a = open(small(1024));
  auto b = open(small(1024));  // a second mapping of the file, as another process has
  ASSERT_TRUE(a && b);
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(use(*a, i, kT0, kT0)) << i;
  for (int i = 0; i < 200; ++i) EXPECT_FALSE(use(*b, i, kT0, kT0)) << i;
  EXPECT_TRUE(use(*b, 200, kT0, kT0));
  EXPECT_FALSE(use(*a, 200, kT0, kT0));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SharedNonceTableTest, SurvivesReopen) {
  {
    auto a = open(small());
    ASSERT_TRUE(a);
    EXPECT_TRUE(use(*a, 1, kT0, kT0));
  }
  auto again = open(small(), kT0 + 5);
  ASSERT_TRUE(again);
  EXPECT_FALSE(use(*again, 1, kT0, kT0 + 5));
}

// A new table knows no earlier uses: nonces issued before it was made are refused.
TEST_F(SharedNonceTableTest, NewTableRefusesOlderNonces) {
  auto t = open(small(), kT0);
  ASSERT_TRUE(t);
  EXPECT_FALSE(use(*t, 1, kT0 - 1, kT0));
  EXPECT_TRUE(use(*t, 2, kT0, kT0));
}

// 16 slots per half take 12 records. When the current half is full the other one is cleared
// and the floor rises: nonces issued before the kept half began can no longer be accepted
// (their use may have been in the cleared half); a replay is refused at every step.
TEST_F(SharedNonceTableTest, RotationWhenFullRefusesEveryReplay) {
  auto t = open(small(16, 1000));
  ASSERT_TRUE(t);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(use(*t, i, kT0, kT0));  // half 0 full
  for (int i = 0; i < 12; ++i) EXPECT_FALSE(use(*t, i, kT0, kT0));
  // Rotation 1 at kT0+10: half 1 current, half 0 kept (began at kT0, floor kT0 + 1).
  EXPECT_FALSE(use(*t, 100, kT0, kT0 + 10));  // issued in the kept half's first second
  EXPECT_TRUE(use(*t, 101, kT0 + 10, kT0 + 10));
  for (int i = 0; i < 12; ++i) EXPECT_FALSE(use(*t, i, kT0, kT0 + 10)) << i;
  for (int i = 102; i < 113; ++i) ASSERT_TRUE(use(*t, i, kT0 + 20, kT0 + 20));  // half 1 full
  // Rotation 2 at kT0+30: half 0 (the first twelve) cleared, floor kT0 + 11.
  EXPECT_TRUE(use(*t, 200, kT0 + 30, kT0 + 30));
  for (int i = 0; i < 12; ++i) EXPECT_FALSE(use(*t, i, kT0, kT0 + 30)) << i;
  EXPECT_FALSE(use(*t, 101, kT0 + 10, kT0 + 30));  // below the floor now
  for (int i = 102; i < 113; ++i) EXPECT_FALSE(use(*t, i, kT0 + 20, kT0 + 30)) << i;  // kept
  EXPECT_FALSE(use(*t, 200, kT0 + 30, kT0 + 30));
}

// A half older than the retention rotates on the next use; records of the kept half still
// count.
TEST_F(SharedNonceTableTest, RotationByAge) {
  auto t = open(small(1024, 100));
  ASSERT_TRUE(t);
  EXPECT_TRUE(use(*t, 1, kT0, kT0));
  EXPECT_TRUE(use(*t, 2, kT0 + 99, kT0 + 99));
  EXPECT_TRUE(use(*t, 3, kT0 + 100, kT0 + 100));  // rotates: half 0 kept, half 1 current
  EXPECT_FALSE(use(*t, 2, kT0 + 99, kT0 + 100));  // found in the kept half
  EXPECT_TRUE(use(*t, 5, kT0 + 150, kT0 + 150));
  EXPECT_TRUE(use(*t, 4, kT0 + 200, kT0 + 200));   // rotates again: half 0 cleared
  EXPECT_FALSE(use(*t, 5, kT0 + 150, kT0 + 200));  // found in half 1, now the kept one
  EXPECT_FALSE(use(*t, 2, kT0 + 99, kT0 + 200));   // its record is gone: the floor refuses it
}

// Several processes: every tag is accepted exactly once in total.
TEST_F(SharedNonceTableTest, ProcessesAcceptEachNonceOnce) {
  ASSERT_TRUE(open(small(1 << 14)));  // created before the fork
  constexpr int kProcs = 4, kTags = 2000;
  std::vector<pid_t> pids;
  std::vector<int> fds;
  for (int p = 0; p < kProcs; ++p) {
    int pipefd[2];
    ASSERT_EQ(::pipe(pipefd), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(pipefd[0]);
      auto t = open_shared_nonce_table(path, kT0, small(1 << 14));
      if (!t) ::_exit(3);
      for (int i = 0; i < kTags; ++i) {
        auto r = (*t)->first_use("", tag_of((i * (p + 1)) % kTags), kT0, kT0);
        if (!r) ::_exit(4);
        const char c = *r ? '1' : '0';
        if (::write(pipefd[1], &c, 1) != 1) ::_exit(5);
      }
      ::_exit(0);
    }
    ::close(pipefd[1]);
    pids.push_back(pid);
    fds.push_back(pipefd[0]);
  }
  int accepted = 0;
  for (int p = 0; p < kProcs; ++p) {
    char c;
    while (::read(fds[p], &c, 1) == 1) accepted += c == '1';
    ::close(fds[p]);
    int status = 0;
    ::waitpid(pids[p], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  EXPECT_EQ(accepted, kTags);
}

// A process killed at any moment (possibly holding the lock) leaves a table the others can
// still use.
TEST_F(SharedNonceTableTest, KilledProcessLeavesUsableTable) {
  auto t = open(small(1 << 16, 1'000'000));
  ASSERT_TRUE(t);
  for (int round = 0; round < 10; ++round) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto c = open_shared_nonce_table(path, kT0, small(1 << 16, 1'000'000));
      if (!c) ::_exit(3);
      for (int i = 0;; ++i)
        (void)(*c)->first_use("", tag_of(100000 * (round + 1) + i % 2000), kT0, kT0);
    }
    ::usleep(20000 + 3000 * round);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    EXPECT_TRUE(use(*t, round, kT0, kT0)) << round;
    EXPECT_FALSE(use(*t, round, kT0, kT0)) << round;
  }
}

// An opener that died while initialising leaves a file of the right size without its magic
// (written last), maybe over records of an earlier table: the next opener clears it all, so
// no leftover slot counts as a use (a file the opener creates is not cleared: it is zeros).
TEST_F(SharedNonceTableTest, UnfinishedTableIsClearedWhenReopened) {
  {
    auto a = open(small());
    ASSERT_TRUE(a);
    EXPECT_TRUE(use(*a, 1, kT0, kT0));
  }
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(file);
    const char zeros[8] = {};
    file.write(zeros, sizeof zeros);  // the magic, as if init had not finished
  }
  auto again = open(small(), kT0 + 5);
  ASSERT_TRUE(again);
  EXPECT_TRUE(use(*again, 1, kT0 + 5, kT0 + 5));  // the old record is gone
  EXPECT_FALSE(use(*again, 1, kT0 + 5, kT0 + 5));
  EXPECT_FALSE(use(*again, 2, kT0, kT0 + 5));  // issued before the new table: refused
}

TEST_F(SharedNonceTableTest, ForeignFilesRefusedWithTheirPath) {
  { std::ofstream(path) << "not a table"; }
  auto wrong_size = open_shared_nonce_table(path, kT0, small());
  ASSERT_FALSE(wrong_size.ok());
  EXPECT_NE(wrong_size.error().detail.find(path), std::string::npos);
  EXPECT_NE(wrong_size.error().detail.find("remove it"), std::string::npos);

  std::filesystem::remove(path);
  ASSERT_TRUE(open(small(16)));
  auto other_size = open_shared_nonce_table(path, kT0, small(32));
  ASSERT_FALSE(other_size.ok());  // made with other options: refused, not overwritten
  ASSERT_TRUE(open(small(16)));   // still the table it was

  std::filesystem::remove(path);
  {
    std::ofstream f(path, std::ios::binary);
    std::string junk(4096 + 2 * 16 * kNonceTagBytes, 'x');
    f << junk;
  }
  auto junk = open_shared_nonce_table(path, kT0, small(16));
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.error().detail.find("not a nonce table"), std::string::npos);

  const std::string link = tmp_.path() + "/link";
  std::filesystem::create_symlink(path, link);
  EXPECT_FALSE(open_shared_nonce_table(link, kT0, small(16)).ok());
  EXPECT_FALSE(open_shared_nonce_table(path, kT0, small(24)).ok());  // not a power of two
}

TEST(SharedNonceTableMemory, AnonymousTableForOneProcess) {
  auto t = open_shared_nonce_table("", kT0, small());
  ASSERT_TRUE(t.ok()) << t.error().detail;
  EXPECT_TRUE(*(*t)->first_use("", tag_of(1), kT0, kT0));
  EXPECT_FALSE(*(*t)->first_use("", tag_of(1), kT0, kT0));
}

}  // namespace
}  // namespace attestlab::server
