#include "conformance/selection.h"

#include <gtest/gtest.h>

namespace attestlab::conformance {
namespace {

Case make(const std::string& id, const std::string& profile) {
  Case c;
  c.id = id;
  c.profile = profile;
  return c;
}

const CaseList& sample() {
  static const CaseList cases = {
      make("rfc8555-6.5-nonce-reuse", kProfileRfc8555),
      make("rfc8555-6.5-nonce-missing", kProfileRfc8555),
      make("rfc8555-6.5.1-nonce-syntax", kProfileRfc8555),
      make("rfc8555-6.50-imaginary", kProfileRfc8555),
      make("rfc8555-7.4-finalize-not-ready", kProfileRfc8555),
      make("rfc8738-3-ip-order", kProfileRfc8555),
      make("device-attest-5-valid-attestation", kProfileDeviceAttest),
      make("apple-chain-rogue-root", kProfileApple),
      make("mda-posture-sip-disabled", kProfileMdaPolicy),
  };
  return cases;
}

std::vector<std::string> ids(const Result<CaseList>& r) {
  std::vector<std::string> out;
  if (r) {
    for (const auto& c : *r) out.push_back(c.id);
  }
  return out;
}

TEST(Selection, ProfileNameSelectsEveryCaseOfTheProfile) {
  auto r = select_cases(sample(), {{"rfc8555"}, {}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ids(r),
            (std::vector<std::string>{"rfc8555-6.5-nonce-missing", "rfc8555-6.5-nonce-reuse",
                                      "rfc8555-6.5.1-nonce-syntax", "rfc8555-6.50-imaginary",
                                      "rfc8555-7.4-finalize-not-ready", "rfc8738-3-ip-order"}));
}

TEST(Selection, SectionPrefixStopsAtABoundary) {
  // "rfc8555-6.5" is section 6.5 and its subsections, never 6.50.
  EXPECT_TRUE(pattern_matches("rfc8555-6.5", make("rfc8555-6.5-nonce-reuse", "rfc8555")));
  EXPECT_TRUE(pattern_matches("rfc8555-6.5", make("rfc8555-6.5.1-nonce-syntax", "rfc8555")));
  EXPECT_FALSE(pattern_matches("rfc8555-6.5", make("rfc8555-6.50-imaginary", "rfc8555")));
  EXPECT_TRUE(pattern_matches("rfc8555-6", make("rfc8555-6.50-imaginary", "rfc8555")));
  EXPECT_FALSE(pattern_matches("rfc8555-6.5-nonce-re", make("rfc8555-6.5-nonce-reuse", "rfc8555")));
  EXPECT_TRUE(pattern_matches("rfc8555-6.5-nonce", make("rfc8555-6.5-nonce-reuse", "rfc8555")));
}

TEST(Selection, ExactIdAndStarPrefix) {
  EXPECT_TRUE(pattern_matches("apple-chain-rogue-root", make("apple-chain-rogue-root", "apple")));
  EXPECT_TRUE(pattern_matches("apple-chain-ro*", make("apple-chain-rogue-root", "apple")));
  EXPECT_FALSE(pattern_matches("apple-chain-ro", make("apple-chain-rogue-root", "apple")));
  EXPECT_FALSE(pattern_matches("", make("apple-chain-rogue-root", "apple")));
}

TEST(Selection, AppleDoesNotSelectThePolicyProfile) {
  auto r = select_cases(sample(), {{"apple"}, {}});
  EXPECT_EQ(ids(r), std::vector<std::string>{"apple-chain-rogue-root"});
  auto policy = select_cases(sample(), {{"apple-mda-policy"}, {}});
  EXPECT_EQ(ids(policy), std::vector<std::string>{"mda-posture-sip-disabled"});
}

TEST(Selection, SkipWinsOverOnlyAndNoOnlyMeansAll) {
  auto r = select_cases(sample(), {{"rfc8555-6.5"}, {"rfc8555-6.5-nonce-missing"}});
  EXPECT_EQ(ids(r),
            (std::vector<std::string>{"rfc8555-6.5-nonce-reuse", "rfc8555-6.5.1-nonce-syntax"}));
  auto all_but = select_cases(sample(), {{}, {"rfc8555", "apple"}});
  EXPECT_EQ(ids(all_but), (std::vector<std::string>{"device-attest-5-valid-attestation",
                                                    "mda-posture-sip-disabled"}));
}

TEST(Selection, AnExactIdSelectsThatCaseAloneNotTheCasesSplitFromIt) {
  const CaseList split = {make("rfc8555-7.1.1-directory-meta", kProfileRfc8555),
                          make("rfc8555-7.1.1-directory-meta-fields", kProfileRfc8555),
                          make("rfc8555-7.1.1-directory-resources", kProfileRfc8555)};
  auto skip = select_cases(split, {{}, {"rfc8555-7.1.1-directory-meta"}});
  EXPECT_EQ(ids(skip), (std::vector<std::string>{"rfc8555-7.1.1-directory-meta-fields",
                                                 "rfc8555-7.1.1-directory-resources"}));
  auto only = select_cases(split, {{"rfc8555-7.1.1-directory-meta"}, {}});
  EXPECT_EQ(ids(only), std::vector<std::string>{"rfc8555-7.1.1-directory-meta"});
  auto family = select_cases(split, {{"rfc8555-7.1.1-directory-meta*"}, {}});
  EXPECT_EQ(ids(family), (std::vector<std::string>{"rfc8555-7.1.1-directory-meta",
                                                   "rfc8555-7.1.1-directory-meta-fields"}));
}

TEST(Selection, ASelectedCaseBringsItsPremisesUnlessSkipped) {
  CaseList cases = {make("x-feature", kProfileRfc8555), make("x-feature-detail", kProfileRfc8555),
                    make("x-uses-detail", kProfileRfc8555), make("y-other", kProfileRfc8555)};
  cases[1].depends_on = {"x-feature"};
  cases[2].depends_on = {"x-feature-detail", "not-a-case"};
  auto only = select_cases(cases, {{"x-uses-detail"}, {}});
  EXPECT_EQ(ids(only), (std::vector<std::string>{"x-feature", "x-feature-detail",
                                                 "x-uses-detail"}));
  auto skip = select_cases(cases, {{"x-uses-detail"}, {"x-feature"}});
  EXPECT_EQ(ids(skip), (std::vector<std::string>{"x-feature-detail", "x-uses-detail"}));
}

TEST(Selection, SeveralOnlyPatternsAreAUnion) {
  auto r = select_cases(sample(), {{"device-attest", "rfc8555-7.4"}, {}});
  EXPECT_EQ(ids(r), (std::vector<std::string>{"device-attest-5-valid-attestation",
                                              "rfc8555-7.4-finalize-not-ready"}));
}

TEST(Selection, APatternMatchingNothingIsAUsageError) {
  auto only = select_cases(sample(), {{"rfc8555-99"}, {}});
  ASSERT_FALSE(only.ok());
  EXPECT_EQ(only.error().type, "malformed");
  EXPECT_NE(only.error().detail.find("--only \"rfc8555-99\""), std::string::npos);
  auto skip = select_cases(sample(), {{}, {"typo"}});
  ASSERT_FALSE(skip.ok());
  EXPECT_NE(skip.error().detail.find("--skip \"typo\""), std::string::npos);
}

TEST(Selection, ResultIsSortedById) {
  CaseList shuffled = {make("b", "rfc8555"), make("c", "rfc8555"), make("a", "rfc8555")};
  auto r = select_cases(shuffled, {});
  EXPECT_EQ(ids(r), (std::vector<std::string>{"a", "b", "c"}));
}

}  // namespace
}  // namespace attestlab::conformance
