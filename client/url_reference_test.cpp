#include "client/url_reference.h"

#include <gtest/gtest.h>

#include "client/acme_types.h"

namespace attestlab::client {
namespace {

// RFC 3986 §5.4.1 and §5.4.2, base "http://a/b/c/d;p?q" (strict parser).
TEST(ResolveReference, Rfc3986Examples) {
  const std::string base = "http://a/b/c/d;p?q";
  const std::vector<std::pair<std::string, std::string>> examples = {
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../g", "http://a/g"},
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"http:g", "http:g"},
  };
  for (const auto& [reference, want] : examples) {
    auto got = resolve_reference(base, reference);
    ASSERT_TRUE(got.ok()) << reference;
    EXPECT_EQ(*got, want) << reference;
  }
  EXPECT_EQ(*resolve_reference("https://ca.example:8443/acme/new-order", "/acme/order/7"),
            "https://ca.example:8443/acme/order/7");
  EXPECT_EQ(*resolve_reference("https://ca.example", "acct/1"), "https://ca.example/acct/1");
  EXPECT_FALSE(resolve_reference("/relative/base", "x").ok());
  EXPECT_FALSE(resolve_reference("https://ca.example/", "/a b").ok());
}

http::Response created(std::vector<std::string> locations) {
  http::Response r;
  r.status = 201;
  for (auto& l : locations) r.add("Location", std::move(l));
  return r;
}

TEST(LocationUrl, RelativeReferencesResolveAgainstTheRequestUrl) {
  const std::string request = "https://127.0.0.1:14000/acme/new-acct";
  EXPECT_EQ(*location_url(created({"/acme/acct/12"}), request),
            "https://127.0.0.1:14000/acme/acct/12");
  EXPECT_EQ(*location_url(created({"acct/12"}), request), "https://127.0.0.1:14000/acme/acct/12");
  EXPECT_EQ(*location_url(created({"https://other.example/acct/12"}), request),
            "https://other.example/acct/12");
}

TEST(LocationUrl, MissingOrRepeatedLocationIsRefused) {
  const std::string request = "https://ca.example/acme/new-order";
  auto none = location_url(created({}), request);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().type, kErrorUnexpectedResponse);
  EXPECT_EQ(none.error().status, 201);
  EXPECT_FALSE(location_url(created({""}), request).ok());
  for (const auto& twice : {std::vector<std::string>{"/acme/order/1", "/acme/order/2"},
                            std::vector<std::string>{"/acme/order/1", "/acme/order/1"}}) {
    auto two = location_url(created(twice), request);
    ASSERT_FALSE(two.ok());
    EXPECT_EQ(two.error().type, kErrorUnexpectedResponse);
    EXPECT_NE(two.error().detail.find("2 Location header fields"), std::string::npos)
        << two.error().detail;
  }
}

}  // namespace
}  // namespace attestlab::client
