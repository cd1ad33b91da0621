#include "server/attest/attest_text.h"

#include <gtest/gtest.h>

namespace attestlab::server {
namespace {

TEST(AttestText, Utf8Validity) {
  for (const char* text : {"", "C02XL0GVJGH5", "ger\xc3\xa4t \xf0\x9f\x98\x80"})
    EXPECT_TRUE(is_valid_utf8(text)) << text;
  for (const char* text : {
           "\xff",
           "\xc0\xaf",          // overlong '/'
           "\xed\xa0\x80",      // surrogate
           "\xf4\x90\x80\x80",  // above U+10FFFF
           "\xe2\x82"           // truncated
       })
    EXPECT_FALSE(is_valid_utf8(text)) << text;
}

TEST(AttestText, PrintableTokens) {
  EXPECT_TRUE(is_printable_token("00008103-000A4C9E1E8A001E"));
  EXPECT_TRUE(is_printable_token("ger\xc3\xa4t"));
  for (const char* text : {"a b", "a\nb", "a\x7f",
                           "a\xc2\x85",  // NEL, a C1 control
                           "\xff"})
    EXPECT_FALSE(is_printable_token(text)) << text;
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
