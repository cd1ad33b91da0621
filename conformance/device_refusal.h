// How a case that needs a device refused judges the enrollment it ran
// (cases_apple_device.cpp): "the server refused" is a claim about the server, so only a
// refusal the server stated counts, at the step the fault shows.
#pragma once

#include "conformance/case.h"
#include "sim/device/device_acme.h"

namespace attestlab::conformance {

// pass: the enrollment stopped at the challenge or at finalize with the server's problem
//   document (an HTTP problem answer, or the error of an invalid challenge or order), and
//   no certificate URL was issued;
// fail: the enrollment succeeded, or the order became valid with a certificate URL
//   (even when the download then failed);
// error: anything else, which says nothing about the fault: a timeout or transport
//   failure, a failure before the challenge (account, order, authz: e.g. no
//   device-attest-01 offered), or a challenge/finalize failure without a problem document.
Verdict judge_device_refusal(const sim::EnrollmentResult& r);

}  // namespace attestlab::conformance
