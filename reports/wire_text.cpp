#include "reports/wire_text.h"

#include <cstdio>
#include <sstream>

namespace attestlab::reports {

namespace {

std::string text_of(const Json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  if (it == obj.end()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

void headers(std::ostringstream& out, const Json& message, const char* prefix) {
  if (!message.is_object()) return;
  auto it = message.find("headers");
  if (it == message.end() || !it->is_array()) return;
  for (const auto& h : *it) {
    if (h.is_array() && h.size() == 2 && h[0].is_string() && h[1].is_string())
      out << prefix << h[0].get<std::string>() << ": " << h[1].get<std::string>() << "\n";
  }
}

// Pretty JSON when the text is JSON, else the text itself.
std::string pretty(const std::string& body) {
  auto parsed = parse_json(body);
  return parsed ? parsed->dump(2) : body;
}

void one(std::ostringstream& out, const Json& e) {
  if (!e.is_object()) return;
  out << "#" << text_of(e, "seq") << " " << text_of(e, "method") << " " << text_of(e, "url");
  if (auto d = e.find("duration_ms"); d != e.end() && d->is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", d->get<double>());
    out << "  (" << buf << " ms";
    if (!text_of(e, "label").empty()) out << ", " << text_of(e, "label");
    out << ")";
  }
  out << "\n";
  if (!text_of(e, "note").empty()) out << "  note: " << text_of(e, "note") << "\n";
  const Json request = e.value("request", Json::object());
  headers(out, request, "> ");
  if (request.is_object() && request.contains("jws") && request["jws"].is_object()) {
    const Json& jws = request["jws"];
    out << ">\n> JWS protected header:\n" << jws.value("protected", Json()).dump(2) << "\n";
    const Json payload = jws.value("payload", Json());
    out << "> JWS payload:"
        << (payload.is_string() && payload.get<std::string>().empty()
                ? " (empty: POST-as-GET)\n"
                : "\n" + payload.dump(2) + "\n");
  } else if (!text_of(request, "body").empty()) {
    out << ">\n" << pretty(text_of(request, "body")) << "\n";
  }
  if (!text_of(e, "error").empty()) out << "! " << text_of(e, "error") << "\n";
  if (e.contains("response") && e["response"].is_object()) {
    const Json& response = e["response"];
    out << "< HTTP " << text_of(response, "status") << "\n";
    headers(out, response, "< ");
    if (response.contains("json")) {
      out << "<\n" << response["json"].dump(2) << "\n";
    } else if (!text_of(response, "body").empty()) {
      out << "<\n" << text_of(response, "body") << "\n";
    }
    if (response.value("body_truncated", false)) out << "(body truncated)\n";
  }
  // Members this layout does not know (an older or hand-made log) are shown as they are,
  // never dropped.
  static const char* const kKnown[] = {"seq", "time_ms",     "label",   "note",     "method",
                                       "url", "duration_ms", "request", "response", "error"};
  for (const auto& [key, value] : e.items()) {
    bool known = false;
    for (const char* k : kKnown) known = known || key == k;
    if (known) continue;
    out << key << ": " << (value.is_string() ? pretty(value.get<std::string>()) : value.dump(2))
        << "\n";
  }
}

}  // namespace

std::string wire_log_as_http(const Json& wire_log) {
  std::ostringstream out;
  if (!wire_log.is_array()) return wire_log.dump(2);
  bool first = true;
  for (const auto& e : wire_log) {
    if (!first) out << "\n";
    first = false;
    one(out, e);
  }
  return out.str();
}

}  // namespace attestlab::reports
