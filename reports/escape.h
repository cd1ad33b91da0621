// Escaping for the HTML/XML the renderers write (reports/render.cpp, the load report):
// & < > " ' become entities, and control characters that XML 1.0 forbids even escaped
// become '?', and bytes that are not UTF-8 become U+FFFD. Safe in element content and in
// quoted attribute values.
#pragma once

#include <string>

namespace attestlab::reports {

std::string escape_xml(const std::string& s);

}  // namespace attestlab::reports
