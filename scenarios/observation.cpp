#include "scenarios/observation.h"

#include <algorithm>

namespace attestlab::scenarios {

namespace {

std::string or_none(const std::string& s) {
  return s.empty() ? std::string("(none)") : s;
}

std::string error_text(const Observation& o) {
  if (!o.error) return o.issued ? "certificate issued" : "no error";
  std::string s = o.error->type;
  if (o.error->status != 0) s += " (HTTP " + std::to_string(o.error->status) + ")";
  return s;
}

}  // namespace

std::string Observation::describe() const {
  std::string s;
  if (error) {
    s = "refused: " + error->type;
    if (error->status != 0) s += " (HTTP " + std::to_string(error->status) + ")";
    if (!failed_step.empty()) s += " at " + failed_step;
    if (!error->detail.empty()) s += ": " + error->detail;
  } else if (issued) {
    s = "certificate issued";
  } else {
    s = "ok";
  }
  if (!challenge_status.empty()) s += "; challenge " + challenge_status;
  if (!mdm_verdict.empty()) s += "; MDM verdict " + mdm_verdict;
  if (!command_status.empty()) s += "; command status " + command_status;
  if (revoked) s += *revoked ? "; certificate revoked" : "; certificate not revoked";
  if (key_usable) s += *key_usable ? "; key usable" : "; key unusable";
  if (ari_renewal) s += *ari_renewal ? "; renewed through ARI" : "; renewed without ARI";
  s += "; " + std::to_string(network_requests) + " network requests";
  return s;
}

std::vector<std::string> mismatches(const Expectation& e, const Observation& o) {
  std::vector<std::string> out;
  if (e.issued && *e.issued != o.issued) {
    out.push_back(std::string("issued: expected ") +
                  (*e.issued ? "a certificate" : "no certificate") + ", observed " +
                  (o.issued ? "a certificate issued" : "refused: " + error_text(o)));
  }
  if (!e.error.empty()) {
    const bool match =
        o.error && std::find(e.error.begin(), e.error.end(), o.error->type) != e.error.end();
    if (!match) {
      std::string want;
      for (std::size_t i = 0; i < e.error.size(); ++i) want += (i ? " or " : "") + e.error[i];
      out.push_back("error: expected " + want + ", observed " + error_text(o));
    }
  }
  if (e.status && (!o.error || o.error->status != *e.status)) {
    out.push_back("status: expected HTTP " + std::to_string(*e.status) + ", observed " +
                  (o.error && o.error->status != 0 ? "HTTP " + std::to_string(o.error->status)
                                                   : std::string("no HTTP error status")));
  }
  if (e.failed_step && *e.failed_step != o.failed_step) {
    out.push_back("failed_step: expected " + *e.failed_step + ", observed " +
                  or_none(o.failed_step));
  }
  if (e.challenge_status && *e.challenge_status != o.challenge_status) {
    out.push_back("challenge_status: expected " + *e.challenge_status + ", observed " +
                  or_none(o.challenge_status));
  }
  if (e.mdm_verdict && *e.mdm_verdict != o.mdm_verdict) {
    out.push_back("mdm_verdict: expected " + *e.mdm_verdict + ", observed " +
                  or_none(o.mdm_verdict));
  }
  if (e.command_status && *e.command_status != o.command_status) {
    out.push_back("command_status: expected " + *e.command_status + ", observed " +
                  or_none(o.command_status));
  }
  if (e.revoked && o.revoked != e.revoked) {
    out.push_back(std::string("revoked: expected ") + (*e.revoked ? "revoked" : "not revoked") +
                  ", observed " +
                  (!o.revoked   ? std::string("unknown")
                   : *o.revoked ? "revoked"
                                : "not revoked"));
  }
  if (e.key_usable && o.key_usable != e.key_usable) {
    out.push_back(std::string("key_usable: expected ") + (*e.key_usable ? "usable" : "unusable") +
                  ", observed " +
                  (!o.key_usable   ? std::string("unknown")
                   : *o.key_usable ? "usable"
                                   : "unusable"));
  }
  if (e.ari_renewal && o.ari_renewal.value_or(false) != *e.ari_renewal) {
    out.push_back(std::string("ari_renewal: expected ") +
                  (*e.ari_renewal ? "a renewal through ARI" : "a renewal without ARI") +
                  ", observed " +
                  (!o.ari_renewal   ? std::string("no renewal")
                   : *o.ari_renewal ? "a renewal through ARI"
                                    : "a renewal without ARI"));
  }
  if (e.network_requests && *e.network_requests != o.network_requests) {
    out.push_back("network_requests: expected " + std::to_string(*e.network_requests) +
                  ", observed " + std::to_string(o.network_requests));
  }
  return out;
}

}  // namespace attestlab::scenarios
