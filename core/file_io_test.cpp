#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "core/pki.h"
#include "testing/temp_dir.h"

namespace attestlab::pki {
namespace {

class PkiFileIo : public ::testing::Test {
 protected:
  attestlab::testing::TempDir tmp_{"file-io"};
  std::string dir_ = tmp_.path();
};

TEST_F(PkiFileIo, WriteReadReplace) {
  const std::string path = dir_ + "/a.txt";
  ASSERT_TRUE(write_file(path, std::string("one\0two", 7)).ok());
  auto r = read_file(path);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::string("one\0two", 7));
  ASSERT_TRUE(write_file(path, "replaced").ok());
  EXPECT_EQ(*read_file(path), "replaced");
  // no temporaries left behind
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_F(PkiFileIo, PrivateModeIs0600) {
  const std::string path = dir_ + "/key.pem";
  ASSERT_TRUE(write_file(path, "secret", true).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(write_file(dir_ + "/pub.pem", "public").ok());
  ASSERT_EQ(stat((dir_ + "/pub.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST_F(PkiFileIo, ErrorsNameThePath) {
  auto missing = read_file(dir_ + "/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().type, "serverInternal");
  EXPECT_NE(missing.error().detail.find(dir_ + "/missing"), std::string::npos);
  auto bad_dir = write_file(dir_ + "/no/such/dir/file", "x");
  ASSERT_FALSE(bad_dir.ok());
  EXPECT_NE(bad_dir.error().detail.find("No such file"), std::string::npos);
}

}  // namespace
}  // namespace attestlab::pki
