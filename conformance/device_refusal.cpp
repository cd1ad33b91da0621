#include "conformance/device_refusal.h"

#include <string>

#include "client/acme_types.h"
#include "core/json.h"

namespace attestlab::conformance {

Verdict judge_device_refusal(const sim::EnrollmentResult& r) {
  const std::string expected = "the server refuses the challenge or finalize (no certificate)";
  if (r.ok()) return Verdict::fail(expected, "enrolled");
  if (!r.certificate_url.empty() || r.certificate.has_value()) {
    return Verdict::fail(expected, "the order became valid with certificate " + r.certificate_url +
                                       " (the enrollment then stopped at " + r.summary() + ")");
  }
  const std::string& type = r.error->type;
  if (type == client::kErrorTimeout || type == "connection") {
    return Verdict::error("no refusal seen, the enrollment got no answer: " + r.summary());
  }
  namespace step = sim::enroll_step;
  if (r.failed_step != step::kChallenge && r.failed_step != step::kFinalize) {
    return Verdict::error("the enrollment stopped before the fault could matter: " + r.summary());
  }
  if (!r.problem || !r.problem->is_object() || !get_string(*r.problem, "type")) {
    return Verdict::error("the enrollment stopped without a problem document from the server: " +
                          r.summary());
  }
  Verdict v = Verdict::pass();
  v.reason = "refused at " + r.summary();
  return v;
}

}  // namespace attestlab::conformance
