#include "scenarios/json_fields.h"

namespace attestlab::scenarios {

void FieldErrors::fail(const std::string& path, const std::string& message) {
  if (error_) return;
  std::string where = file_.empty() ? std::string() : file_ + ": ";
  if (!path.empty()) where += path + ": ";
  error_ = Error::make("malformed", where + message);
}

Fields::Fields(const Json& object, std::string path, FieldErrors& errors)
    : object_(object), path_(std::move(path)), errors_(errors) {}

std::string Fields::at(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool Fields::has(const char* key) const {
  return object_.is_object() && object_.contains(key);
}

const Json* Fields::find(const char* key, bool required) {
  seen_.insert(key);
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end()) {
    if (required) fail(key, "is required");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> Fields::string(const char* key, bool required) {
  const Json* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    fail(key, "must be a string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::optional<bool> Fields::boolean(const char* key, bool required) {
  const Json* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) {
    fail(key, "must be true or false");
    return std::nullopt;
  }
  return v->get<bool>();
}

std::optional<std::int64_t> Fields::integer(const char* key, bool required, std::int64_t min,
                                            std::int64_t max) {
  const Json* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) {
    fail(key, "must be an integer");
    return std::nullopt;
  }
  // Unsigned values above INT64_MAX read as negative through get<int64_t>: refuse them.
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    fail(key, "is out of range");
    return std::nullopt;
  }
  const std::int64_t n = v->get<std::int64_t>();
  if (n < min || n > max) {
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<std::string> Fields::choice(const char* key, const std::vector<std::string>& allowed,
                                          bool required) {
  auto v = string(key, required);
  if (!v) return std::nullopt;
  for (const auto& a : allowed)
    if (*v == a) return v;
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail(key, "must be one of " + list + " (got \"" + *v + "\")");
  return std::nullopt;
}

std::optional<std::vector<std::string>> Fields::strings(const char* key, bool required,
                                                        bool non_empty) {
  const Json* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) {
    fail(key, "must be an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) {
      errors_.fail(index_path(at(key), i), "must be a string");
      return std::nullopt;
    }
    out.push_back((*v)[i].get<std::string>());
  }
  if (non_empty && out.empty()) {
    fail(key, "must not be empty");
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::string>> Fields::string_or_strings(const char* key, bool required) {
  const Json* v = find(key, required);
  if (v == nullptr) return std::nullopt;
  if (v->is_string()) return std::vector<std::string>{v->get<std::string>()};
  if (v->is_array() && !v->empty()) {
    std::vector<std::string> out;
    for (const auto& e : *v) {
      if (!e.is_string()) break;
      out.push_back(e.get<std::string>());
    }
    if (out.size() == v->size()) return out;
  }
  fail(key, "must be a string or a non-empty array of strings");
  return std::nullopt;
}

const Json* Fields::object(const char* key, bool required) {
  const Json* v = find(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    fail(key, "must be an object");
    return nullptr;
  }
  return v;
}

const Json* Fields::array(const char* key, bool required) {
  const Json* v = find(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    fail(key, "must be an array");
    return nullptr;
  }
  return v;
}

void Fields::reject_unknown(const std::string& context) {
  if (!object_.is_object()) return;
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (!it.key().empty() && it.key()[0] == '_') continue;
    if (seen_.count(it.key()) == 0) {
      fail(it.key(), context);
      return;
    }
  }
}

std::string index_path(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

}  // namespace attestlab::scenarios
