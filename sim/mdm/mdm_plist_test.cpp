// Property-list input found by fuzzing (fuzz/mdm_plist_fuzz.cpp): each crash it found is a
// test named after what it found, on the input it found (kept in fixtures/fuzz/mdm_plist/).
#include "sim/mdm/mdm_plist.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

namespace attestlab::sim {
namespace {

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(ATTESTLAB_SOURCE_DIR) + "/fixtures/fuzz/mdm_plist/" + name,
                   std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A binary plist whose dictionary names a non-string object as a key: libplist 2.2 builds
// the dictionary anyway and its plist_dict_next_item aborts on an assertion. The reader
// must refuse it as malformed instead (a check-in body from any device reaches it).
TEST(MdmPlistFuzzFindings, DictionaryKeyThatIsNotAKeyNodeIsMalformedNotAnAbort) {
  const std::string input = read_fixture("regression-dict-key-not-a-key-node.bin");
  ASSERT_EQ(input.rfind("bplist00", 0), 0u) << "fixture missing";
  auto parsed = plist_to_json(input);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().type, "malformed");
}

// A binary dictionary may name one key twice; taking either value silently would let a
// device smuggle a second MessageType past whoever read the first.
TEST(MdmPlistFuzzFindings, BinaryDictionaryWithADuplicateKeyIsRefused) {
  // {"M": "A", "M": "C"}: a dict (0xD2) whose two key references both point at "M".
  const unsigned char bytes[] = {
      'b', 'p', 'l', 'i', 's', 't', '0', '0',           // header
      0xD2, 0x01, 0x01, 0x02, 0x03,                     // 0 @8: dict, keys 1 1, values 2 3
      0x51, 'M', 0x51, 'A', 0x51, 'C',                  // 1 @13, 2 @15, 3 @17
      0x08, 0x0D, 0x0F, 0x11,                           // offset table @19
      0, 0, 0, 0, 0, 0, 1, 1,                           // trailer: offset and ref size 1
      0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0,   // 4 objects, top object 0
      0, 0, 0, 0, 0, 0, 0, 19};                         // offset table at 19
  auto parsed = plist_to_json(std::string(reinterpret_cast<const char*>(bytes), sizeof bytes));
  ASSERT_FALSE(parsed.ok()) << parsed->dump();
  EXPECT_NE(parsed.error().detail.find("\"M\" appears twice"), std::string::npos)
      << parsed.error().detail;
}

TEST(MdmPlistFuzzFindings, BinaryDictionaryKeyWithANulIsRefusedBeforeLibplistReadsIt) {
  const unsigned char bytes[] = {
      'b', 'p', 'l', 'i', 's', 't', '0', '0',
      0xD1, 0x01, 0x02,                                 // 0 @8: dict, key 1, value 2
      0x53, 'a', 0x00, 'b', 0x51, 'x',                  // 1 @11: "a\0b", 2 @15: "x"
      0x08, 0x0B, 0x0F,                                 // offset table @17
      0, 0, 0, 0, 0, 0, 1, 1,
      0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 17};
  auto parsed = plist_to_json(std::string(reinterpret_cast<const char*>(bytes), sizeof bytes));
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().detail, "dictionary key contains a NUL character");
}

}  // namespace
}  // namespace attestlab::sim
