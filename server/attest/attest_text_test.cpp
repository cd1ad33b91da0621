#include "server/attest/attest_text.h"

#include <gtest/gtest.h>

namespace attestlab::server {
namespace {

TEST(AttestText, Utf8Validity) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("C02XL0GVJGH5"));
  EXPECT_TRUE(is_valid_utf8("ger\xc3\xa4t \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));          // truncated
}

TEST(AttestText, PrintableTokens) {
  EXPECT_TRUE(is_printable_token("00008103-000A4C9E1E8A001E"));
  EXPECT_TRUE(is_printable_token("ger\xc3\xa4t"));
  EXPECT_FALSE(is_printable_token("a b"));
  EXPECT_FALSE(is_printable_token("a\nb"));
  EXPECT_FALSE(is_printable_token("a\x7f"));
  EXPECT_FALSE(is_printable_token("a\xc2\x85"));  // NEL, a C1 control
  EXPECT_FALSE(is_printable_token("\xff"));
}

TEST(AttestText, ClipKeepsUtf8) {
  EXPECT_EQ(clip_text("short", 10), "short");
  EXPECT_EQ(clip_text("abcdef", 3), "abc...");
  EXPECT_EQ(clip_text("\xc3\xa4\xc3\xa4", 3), "\xc3\xa4...");  // never cuts inside a character
  EXPECT_EQ(clip_text("a\xff"
                      "b",
                      10),
            "a?b");
  EXPECT_TRUE(is_valid_utf8(clip_text("\xf0\x9f\x98\x80\xff\xfe", 5)));
}

}  // namespace
}  // namespace attestlab::server
