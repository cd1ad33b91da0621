// The extension module attestlab._attestlab; the package attestlab (python/attestlab)
// re-exports it with the exception classes and the pytest plugin.
#include <pybind11/pybind11.h>

#include "python/src/bindings.h"

namespace attestlab::python {

py::object to_python(const Json& j) {
  return py::module_::import("json").attr("loads")(j.dump());
}

Json from_python(const py::handle& obj) {
  const std::string text = py::str(py::module_::import("json").attr("dumps")(obj));
  return Json::parse(text);
}

void raise_error(const Error& e) {
  py::object cls = py::module_::import("attestlab._errors").attr("AttestlabError");
  PyErr_SetObject(cls.ptr(), cls(e.type, e.detail).ptr());
  throw py::error_already_set();
}

void raise_problem(const Error& e, const std::string& step, const py::object& problem,
                   const py::object& result) {
  py::object cls = py::module_::import("attestlab._errors").attr("AcmeProblem");
  int status = e.status;
  if (status == 0 && !problem.is_none() && py::isinstance<py::dict>(problem) &&
      problem.contains("status") && py::isinstance<py::int_>(problem["status"]))
    status = problem["status"].cast<int>();
  py::object exc = cls(e.type, status, e.detail, step, problem, result);
  PyErr_SetObject(cls.ptr(), exc.ptr());
  throw py::error_already_set();
}

}  // namespace attestlab::python

PYBIND11_MODULE(_attestlab, m) {
  namespace ap = attestlab::python;
  m.doc() =
      "attestlab's C++ engine: the mock Apple attestation CA, simulated devices and their "
      "ACME enrollment, targets (a foreign ACME server or the embedded one), scenarios, "
      "the conformance suite and the load generator. Import the package `attestlab`.";
  ap::bind_ca(m);
  ap::bind_results(m);
  ap::bind_target(m);
  ap::bind_device(m);
  ap::bind_runs(m);
}
