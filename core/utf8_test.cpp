#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace attestlab {
namespace {

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsUnchangedAndInvalidBytesAreReplaced) {
  EXPECT_EQ(utf8_or_replaced("caf\xC3\xA9 \xF0\x9F\x94\x91"), "caf\xC3\xA9 \xF0\x9F\x94\x91");
  EXPECT_EQ(utf8_or_replaced("a\xFF"
                             "b"),
            "a" + kReplacement + "b");
  EXPECT_EQ(utf8_or_replaced("\xC0\xAF"), kReplacement + kReplacement);  // overlong '/'
  EXPECT_EQ(utf8_or_replaced("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(utf8_or_replaced("x\xC3"), "x" + kReplacement);  // cut short
}

TEST(Utf8, AnExcerptNeverSplitsACharacter) {
  std::string text;
  for (int i = 0; i < 150; ++i) text += "\xC3\xA9";  // 300 bytes of 'é'
  const std::string cut = utf8_excerpt(text, 201);
  EXPECT_EQ(cut.size(), 200u + 3u);  // 100 whole characters, then "..."
  EXPECT_EQ(utf8_or_replaced(cut), cut);
  EXPECT_EQ(cut.substr(200), "...");
  EXPECT_EQ(utf8_excerpt("short", 200), "short");
  EXPECT_EQ(utf8_excerpt("\xFF\xFE", 200), kReplacement + kReplacement);
  EXPECT_EQ(utf8_excerpt("ab\xFF"
                         "cdef",
                         4),
            "ab" + kReplacement + "c...");
}

}  // namespace
}  // namespace attestlab
