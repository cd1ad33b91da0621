#include "conformance/case.h"
#include "core/enum_names.h"

namespace attestlab::conformance {

namespace {
constexpr EnumName<Level> kLevelNames[] = {
    {Level::Must, "MUST"}, {Level::Should, "SHOULD"}, {Level::May, "MAY"}, {Level::Policy, "policy"}};
}  // namespace

const char* to_string(Level level) {
  return name_of(kLevelNames, level, "MUST");
}

const std::vector<std::string>& all_profiles() {
  static const std::vector<std::string> profiles = {kProfileRfc8555, kProfileDeviceAttest,
                                                    kProfileApple,   kProfileMdaPolicy,
                                                    kProfileRfc9773, kProfileAcmeProfiles};
  return profiles;
}

Verdict Verdict::pass(std::string note) {
  Verdict v;
  v.reason = std::move(note);
  return v;
}

Verdict Verdict::fail(std::string expected, std::string observed, std::string reason) {
  Verdict v;
  v.outcome = reports::Outcome::Fail;
  v.expected = std::move(expected);
  v.observed = std::move(observed);
  v.reason =
      reason.empty() ? "expected " + v.expected + ", observed " + v.observed : std::move(reason);
  return v;
}

Verdict Verdict::skip(std::string reason) {
  Verdict v;
  v.outcome = reports::Outcome::Skip;
  v.reason = std::move(reason);
  return v;
}

Verdict Verdict::error(std::string reason) {
  Verdict v;
  v.outcome = reports::Outcome::Error;
  v.reason = std::move(reason);
  return v;
}

void abort_case(Verdict verdict) {
  throw CaseAbort{std::move(verdict)};
}

}  // namespace attestlab::conformance
