// What the binding files of the attestlab Python module share: the wrapped objects that
// cross files (the mock CA, targets), conversions between JSON and Python objects, and
// how C++ error values become Python exceptions (attestlab.AcmeProblem for an ACME
// server's refusal, attestlab.AttestlabError for anything else, ValueError for bad
// arguments).
//
// Locking: every call that does network or crypto work releases the GIL
// (py::gil_scoped_release). A Target may be used by many Python threads at once (its
// close() waits for them); a Device serializes its own calls.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "cli/embedded_target.h"
#include "client/target_profile.h"
#include "core/json.h"
#include "core/result.h"
#include "scenarios/target.h"
#include "sim/device/apple_ca.h"

namespace attestlab::python {

namespace py = pybind11;

// The mock Apple attestation CA as Python holds it (immutable, shared with targets).
struct PyAppleCa {
  std::shared_ptr<const sim::AppleCa> ca;
};

// A target: a foreign ACME server described by URL/profile, or the embedded server.
class PyTarget {
 public:
  client::TargetProfile profile;  // conform, load
  scenarios::Target scenario;     // device enrollments, scenarios
  std::unique_ptr<cli::EmbeddedTarget> embedded;
  std::string temp_dir;  // a CA saved for the profile's device.attestation_ca_dir; removed

  ~PyTarget() { close(); }
  // For quick calls holding the GIL: a shared lock taken without waiting;
  // AttestlabError("closed") once close() runs or ran.
  std::shared_lock<std::shared_mutex> use() const;
  // For long calls, with the GIL released (so that close() waiting for them cannot
  // deadlock with a thread waiting for the GIL): takes the shared lock, false when closed.
  bool acquire(std::shared_lock<std::shared_mutex>& lock) const;
  // Stops the embedded server (waiting for the calls that use it); idempotent.
  void close();
  bool closed() const;

 private:
  mutable std::shared_mutex mu_;
  bool closed_ = false;
};

// The error a closed target's calls raise.
inline Error closed_error() {
  return Error::make("closed", "the target is closed");
}

// JSON <-> Python (through the json module: exact for every JSON value).
py::object to_python(const Json& j);
Json from_python(const py::handle& obj);

// Raises attestlab.AttestlabError(type, detail) (never returns).
[[noreturn]] void raise_error(const Error& e);
// Raises attestlab.AcmeProblem(type, status, detail, step, problem, result).
[[noreturn]] void raise_problem(const Error& e, const std::string& step, const py::object& problem,
                                const py::object& result);

template <class T>
T unwrap(Result<T> r) {
  if (!r) raise_error(r.error());
  return std::move(*r);
}
inline void unwrap(Result<void> r) {
  if (!r) raise_error(r.error());
}

void bind_ca(py::module_& m);
void bind_device(py::module_& m);
void bind_target(py::module_& m);
void bind_results(py::module_& m);
void bind_runs(py::module_& m);

}  // namespace attestlab::python
