#include "core/bytes.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <set>

#include "core/clock.h"

namespace attestlab {
namespace detail {
std::size_t random_pool_left();  // core/bytes.cpp, for these tests only
}  // namespace detail
namespace {

// RFC 4648 §10 test vectors.
struct Vector {
  const char* plain;
  const char* b64;
};
constexpr Vector kRfc4648[] = {{"", ""},
                               {"f", "Zg=="},
                               {"fo", "Zm8="},
                               {"foo", "Zm9v"},
                               {"foob", "Zm9vYg=="},
                               {"fooba", "Zm9vYmE="},
                               {"foobar", "Zm9vYmFy"}};

std::string unpadded(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

TEST(BytesBase64, Rfc4648Vectors) {
  for (const auto& v : kRfc4648) {
    SCOPED_TRACE(v.plain);
    EXPECT_EQ(base64_encode(to_bytes(v.plain)), v.b64);
    auto d = base64_decode(v.b64);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(to_string(*d), v.plain);
    EXPECT_EQ(base64url_encode(std::string_view(v.plain)), unpadded(v.b64));
    EXPECT_EQ(base64url_encode(to_bytes(v.plain)), unpadded(v.b64));
    auto u = base64url_decode(unpadded(v.b64));
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(to_string(*u), v.plain);
  }
}

TEST(BytesBase64, UrlAlphabetDiffersFromStandard) {
  const Bytes data = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(base64_encode(data), "+/+/");
  EXPECT_EQ(base64url_encode(data), "-_-_");
  auto d = base64url_decode("-_-_");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, data);
  EXPECT_FALSE(base64url_decode("+/+/").ok());
  EXPECT_FALSE(base64_decode("-_-_").ok());
}

TEST(BytesBase64, UrlRefusesPaddingWhitespaceAndForeignCharacters) {
  for (const char* bad : {"Zg==", "Zm8=", "Zg=", "Zm9v\n", " Zm9v", "Zm 9v", "Zm9v!", "Zm9\x80",
                          "Z", "Zm9vY", "Zm9v+", "Zm9v/", "Zm9v."}) {
    SCOPED_TRACE(bad);
    auto r = base64url_decode(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().type, "malformed");
  }
  // An embedded NUL is a foreign character too.
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)).ok());
}

TEST(BytesBase64, NonCanonicalTrailingBitsAreRefused) {
  // "Zh" would decode to 'f' with non-zero leftover bits; only "Zg" is canonical.
  EXPECT_FALSE(base64url_decode("Zh").ok());
  EXPECT_FALSE(base64url_decode("Zm9=").ok());
  EXPECT_FALSE(base64url_decode("Zm9").ok());
  EXPECT_TRUE(base64url_decode("Zm8").ok());  // the canonical form of "fo"
  EXPECT_FALSE(base64url_decode("Zm-").ok());
}

// RFC 7468 §3: 64 characters per line, the last one shorter, never an empty line.
TEST(BytesBase64, PemEncodeWrapsAtSixtyFourCharacters) {
  const std::string b = "-----BEGIN TEST-----\n", e = "-----END TEST-----\n";
  EXPECT_EQ(pem_encode("TEST", Bytes{}), b + e);
  EXPECT_EQ(pem_encode("TEST", to_bytes("f")), b + "Zg==\n" + e);
  const Bytes full(48, 0xff);  // exactly one line
  EXPECT_EQ(pem_encode("TEST", full), b + std::string(64, '/') + "\n" + e);
  Bytes more = full;
  more.push_back(0xff);
  EXPECT_EQ(pem_encode("TEST", more), b + std::string(64, '/') + "\n/w==\n" + e);
  auto decoded = base64_decode(pem_encode("TEST", Bytes(1000, 7)).substr(b.size()));
  ASSERT_FALSE(decoded.ok());  // the END line is not base64
}

TEST(BytesBase64, StandardToleratesLineBreaksOnly) {
  auto d = base64_decode("Zm9v\nYmFy\r\n");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(to_string(*d), "foobar");
  EXPECT_FALSE(base64_decode("Zg=x").ok());   // data after padding
  EXPECT_FALSE(base64_decode("Zg===").ok());  // too much padding
  EXPECT_FALSE(base64_decode("Zm9v=").ok());  // padding where none belongs
  EXPECT_FALSE(base64_decode("Z===").ok());
  EXPECT_FALSE(base64_decode("Zm9v*").ok());
}

TEST(BytesBase64, AllByteValuesRoundTrip) {
  Bytes all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<std::uint8_t>(i));
  for (std::size_t n = 0; n <= all.size(); n += 37) {
    Bytes part(all.begin(), all.begin() + static_cast<long>(n));
    EXPECT_EQ(*base64url_decode(base64url_encode(part)), part);
    EXPECT_EQ(*base64_decode(base64_encode(part)), part);
  }
}

TEST(BytesHex, RoundTripAndErrors) {
  EXPECT_EQ(hex_encode({0x00, 0xab, 0xff}), "00abff");
  auto d = hex_decode("00ABff");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (Bytes{0x00, 0xab, 0xff}));
  EXPECT_TRUE(hex_decode("")->empty());
  EXPECT_FALSE(hex_decode("abc").ok());
  EXPECT_FALSE(hex_decode("zz").ok());
  EXPECT_FALSE(hex_decode("0x").ok());
}

TEST(BytesDigest, KnownAnswers) {
  EXPECT_EQ(hex_encode(sha256(std::string_view("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256(to_bytes("abc")), sha256(std::string_view("abc")));
  EXPECT_EQ(hex_encode(sha384(to_bytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  // RFC 4231 test case 2.
  EXPECT_EQ(hex_encode(hmac_sha256(to_bytes("Jefe"), "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256({}, "").size(), 32u);
}

TEST(BytesRandom, LengthsAndUniqueness) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(33).size(), 33u);
  EXPECT_NE(random_bytes(16), random_bytes(16));
  const std::string token = random_token();
  EXPECT_EQ(token.size(), 22u);  // 16 bytes, unpadded base64url
  EXPECT_TRUE(base64url_decode(token).ok());
  EXPECT_NE(random_token(), random_token());
  EXPECT_EQ(random_token(32).size(), 43u);
}

// Small draws come from a per-thread pool refilled 512 bytes at a time: across many refills
// (draw sizes that do not divide the pool, so refills happen with bytes left over) every draw
// has its size, none repeats another and none is the pool's wiped (zero) bytes.
TEST(BytesRandom, PooledDrawsAcrossRefillsAreAllDistinct) {
  std::set<Bytes> seen;
  const Bytes zeros15(15, 0);
  for (int i = 0; i < 3000; ++i) {
    const std::size_t n = i % 3 == 0 ? 15 : (i % 3 == 1 ? 64 : 1);
    Bytes drawn = random_bytes(n);
    ASSERT_EQ(drawn.size(), n);
    if (n == 15) {
      EXPECT_NE(drawn, zeros15) << "draw " << i;
      EXPECT_TRUE(seen.insert(drawn).second) << "draw " << i << " repeats an earlier one";
    }
  }
  EXPECT_EQ(random_bytes(65).size(), 65u);  // past the pooled size: drawn directly
}

// A forked child must not hand out the bytes its parent's pool still holds.
TEST(BytesRandom, ForkedChildDrawsOtherBytesThanItsParent) {
  (void)random_bytes(16);
  if (detail::random_pool_left() < 32) (void)random_bytes(64);  // a refill: 448 left
  ASSERT_GE(detail::random_pool_left(), 32u);  // what the child inherits and must not use
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const Bytes drawn = random_bytes(32);
    const bool written = ::write(fds[1], drawn.data(), drawn.size()) == 32;
    ::_exit(written ? 0 : 1);
  }
  ::close(fds[1]);
  const Bytes parent = random_bytes(32);
  Bytes from_child(32);
  std::size_t got = 0;
  while (got < from_child.size()) {
    const ssize_t n = ::read(fds[0], from_child.data() + got, from_child.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, 32u);
  EXPECT_NE(parent, from_child);
}

TEST(BytesRandom, SortableIdsSortByTimeAndStayUrlSafe) {
  // Ids made later sort after ids made earlier, however far apart (a millisecond, a carry
  // across a byte, years); ids of the same millisecond differ.
  const std::int64_t times[] = {0,
                                1,
                                255,
                                256,
                                65535,
                                65536,
                                1733400000000,
                                1733400000001,
                                1733400000999,
                                1733400001000,
                                4102444800000,
                                281474976710655};
  std::string previous;
  for (std::int64_t t : times) {
    const std::string id = sortable_id(t);
    ASSERT_EQ(id.size(), 20u) << t;
    for (char c : id) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << id;
    }
    if (!previous.empty()) {
      EXPECT_LT(previous, id) << "at " << t;
    }
    EXPECT_NE(sortable_id(t), sortable_id(t));
    EXPECT_EQ(sortable_id(t).substr(0, 8), id.substr(0, 8)) << "the first 48 bits are the time";
    previous = id;
  }
  EXPECT_EQ(sortable_id(0).substr(0, 8), "--------");
  EXPECT_EQ(sortable_id(281474976710655).substr(0, 8), "zzzzzzzz");
  // The 72 random bits vary: 50 ids of one millisecond are all different.
  std::set<std::string> same_ms;
  for (int i = 0; i < 50; ++i) same_ms.insert(sortable_id(1733400000000).substr(8));
  EXPECT_EQ(same_ms.size(), 50u);
  // Without an argument: now, so after an id of a minute ago and before one of a minute ahead.
  const std::int64_t now_ms = system_millis();
  EXPECT_LT(sortable_id(now_ms - 60000), sortable_id());
  EXPECT_LT(sortable_id(), sortable_id(now_ms + 60000));
}

TEST(BytesCompare, ConstantTimeEquality) {
  EXPECT_TRUE(equal_ct({}, {}));
  EXPECT_TRUE(equal_ct({1, 2, 3}, {1, 2, 3}));
  EXPECT_FALSE(equal_ct({1, 2, 3}, {1, 2, 4}));
  EXPECT_FALSE(equal_ct({1, 2, 3}, {1, 2}));
  EXPECT_EQ(to_string(to_bytes(std::string("a\0b", 3))), std::string("a\0b", 3));
}

}  // namespace
}  // namespace attestlab
