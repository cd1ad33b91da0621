#include "core/json.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/json_unique.h"

namespace attestlab {
namespace {

// nlohmann's text parser is iterative but its serializer and CBOR reader recurse, so
// deeply nested input could exhaust the stack. Values deeper than these are refused.
constexpr int kMaxJsonDepth = 128;
constexpr std::size_t kMaxCborDepth = 64;

// Walks the CBOR item structure without recursion and reports whether it is well formed
// enough to hand to nlohmann and nests at most kMaxCborDepth containers (tags count as a
// level). Everything else (types, UTF-8, map keys) is left to nlohmann.
bool cbor_nesting_ok(const Bytes& data) {
  struct Frame {
    std::uint64_t remaining;  // items still expected (definite containers and tags)
    bool indefinite;
  };
  std::vector<Frame> stack;
  std::size_t pos = 0;
  const std::size_t size = data.size();

  // Counts one completed item against the enclosing containers.
  auto complete_item = [&stack] {
    while (!stack.empty()) {
      Frame& top = stack.back();
      if (top.indefinite) return;
      if (--top.remaining > 0) return;
      stack.pop_back();  // the container itself is now a completed item of its parent
    }
  };
  auto push = [&](std::uint64_t count, bool indefinite) {
    if (stack.size() >= kMaxCborDepth) return false;
    if (!indefinite && count == 0) {
      complete_item();
      return true;
    }
    stack.push_back({count, indefinite});
    return true;
  };

  bool top_level_done = false;
  while (!top_level_done) {
    if (pos >= size) return false;
    const std::uint8_t initial = data[pos++];
    const int major = initial >> 5;
    const int info = initial & 31;
    std::uint64_t value = 0;
    bool indefinite = false;
    if (info < 24) {
      value = static_cast<std::uint64_t>(info);
    } else if (info <= 27) {
      const std::size_t n = std::size_t{1} << (info - 24);
      if (size - pos < n) return false;
      for (std::size_t i = 0; i < n; ++i) value = value << 8 | data[pos++];
    } else if (info == 31) {
      indefinite = true;
    } else {
      return false;  // reserved additional information 28..30
    }

    switch (major) {
      case 0:
      case 1:
        if (indefinite) return false;
        complete_item();
        break;
      case 2:
      case 3:
        if (indefinite) {
          if (!push(0, true)) return false;
        } else {
          if (value > size - pos) return false;
          pos += static_cast<std::size_t>(value);
          complete_item();
        }
        break;
      case 4:
      case 5:
        if (indefinite) {
          if (!push(0, true)) return false;
        } else {
          // Every item takes at least one byte, so larger counts cannot be satisfied.
          if (value > size - pos) return false;
          if (!push(major == 5 ? value * 2 : value, false)) return false;
        }
        break;
      case 6:
        if (indefinite) return false;
        if (!push(1, false)) return false;
        break;
      default:  // 7: simple values, floats, break
        if (indefinite) {
          if (stack.empty() || !stack.back().indefinite) return false;
          stack.pop_back();
        }
        complete_item();
        break;
    }
    top_level_done = stack.empty();
  }
  return true;
}

// nlohmann's DOM builder, plus the member names seen in each open object so that a
// repeated one is refused instead of overwriting the first (sax_parse calls these
// by the static type, so hiding the base methods is enough).
class UniqueKeysSax : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  using Base = nlohmann::detail::json_sax_dom_parser<Json>;
  explicit UniqueKeysSax(Json& out) : Base(out, /*allow_exceptions_=*/false) {}
  bool start_object(std::size_t len) {
    names_.emplace_back();
    return Base::start_object(len);
  }
  bool key(std::string& name) {
    if (names_.empty() || !names_.back().insert(name).second) {
      duplicate_ = true;
      return false;
    }
    return Base::key(name);
  }
  bool end_object() {
    if (!names_.empty()) names_.pop_back();
    return Base::end_object();
  }
  bool duplicate() const { return duplicate_; }

 private:
  std::vector<std::set<std::string>> names_;
  bool duplicate_ = false;
};

Result<Json> parse_json_checked(std::string_view text, bool unique) {
  try {
    int max_depth = 0;
    std::vector<std::set<std::string>> names;
    bool duplicate = false;
    Json::parser_callback_t track = [&](int depth, Json::parse_event_t event, Json& parsed) {
      if (depth > max_depth) max_depth = depth;
      if (!unique) return true;
      if (event == Json::parse_event_t::object_start) names.emplace_back();
      if (event == Json::parse_event_t::object_end && !names.empty()) names.pop_back();
      if (event == Json::parse_event_t::key && parsed.is_string() && !names.empty() &&
          !names.back().insert(parsed.get<std::string>()).second) {
        duplicate = true;
      }
      return true;
    };
    Json value = Json::parse(text, track);
    if (max_depth > kMaxJsonDepth) return Error::make("malformed", "JSON nested too deeply");
    if (duplicate) return Error::make("malformed", "JSON object has a duplicate member name");
    return value;
  } catch (const Json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line L, column C: ...";
    // the line and column are what a person editing the file needs.
    std::string what = e.what();
    auto at = what.find("] ");
    return Error::make("malformed",
                       "invalid JSON: " + (at == std::string::npos ? what : what.substr(at + 2)));
  } catch (const std::exception& e) {
    return Error::make("malformed", std::string("invalid JSON: ") + e.what());
  }
}

}  // namespace

std::string dump_lossy(const Json& value, int indent) {
  return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Result<Json> parse_json(std::string_view text) {
  return parse_json_checked(text, false);
}

Result<Json> parse_json_unique(std::string_view text) {
  return parse_json_checked(text, true);
}

Bytes to_cbor(const Json& value) {
  return Json::to_cbor(value);
}

Result<Json> parse_cbor(const Bytes& data) {
  if (!cbor_nesting_ok(data))
    return Error::make("malformed", "invalid CBOR (truncated, reserved or too deep)");
  try {
    Json value;
    UniqueKeysSax sax(value);
    const bool parsed =
        Json::sax_parse(data, &sax, nlohmann::detail::input_format_t::cbor, /*strict=*/true);
    if (sax.duplicate()) return Error::make("malformed", "CBOR map has a duplicate key");
    if (!parsed || sax.is_errored() || value.is_discarded())
      return Error::make("malformed", "invalid CBOR");
    // nlohmann does not check UTF-8 in CBOR text strings, but dump() throws on it later;
    // serialising once here (strict error handler) refuses such values at the edge.
    (void)value.dump();
    return value;
  } catch (const std::exception& e) {
    return Error::make("malformed", std::string("invalid CBOR: ") + e.what());
  }
}

const std::string* get_string(const Json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return nullptr;
  return it->get_ptr<const std::string*>();
}

}  // namespace attestlab
