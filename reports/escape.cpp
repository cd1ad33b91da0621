#include "reports/escape.h"

#include "core/utf8.h"

namespace attestlab::reports {

std::string escape_xml(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : utf8_or_replaced(s)) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
          out += "?";
        else
          out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace attestlab::reports
