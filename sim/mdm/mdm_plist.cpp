#include "sim/mdm/mdm_plist.h"

#include <plist/plist.h>

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "core/clock.h"

namespace attestlab::sim {
namespace {

struct NodeDeleter {
  void operator()(void* node) const noexcept {
    if (node != nullptr) plist_free(node);
  }
};
using Node = std::unique_ptr<void, NodeDeleter>;

// Seconds between the Unix epoch and libplist 2.2's date epoch (2001-01-01T00:00:00Z).
constexpr std::int64_t kMacEpochOffset = 978307200;

Result<Json> to_json(plist_t node, int depth) {
  if (depth > kMaxPlistDepth) {
    return Error::make("malformed",
                       "property list nested deeper than " + std::to_string(kMaxPlistDepth));
  }
  switch (plist_get_node_type(node)) {
    case PLIST_DICT: {
      Json out = Json::object();
      plist_dict_iter iter = nullptr;
      plist_dict_new_iter(node, &iter);
      if (iter == nullptr) return out;
      for (;;) {
        char* key = nullptr;
        plist_t value = nullptr;
        plist_dict_next_item(node, iter, &key, &value);
        if (key == nullptr) break;
        std::string name(key);
        std::free(key);
        if (value == nullptr) continue;
        auto converted = to_json(value, depth + 1);
        if (!converted) {
          std::free(iter);
          return converted.error();
        }
        out[name] = std::move(*converted);
      }
      std::free(iter);
      return out;
    }
    case PLIST_ARRAY: {
      Json out = Json::array();
      const std::uint32_t n = plist_array_get_size(node);
      for (std::uint32_t i = 0; i < n; ++i) {
        auto converted = to_json(plist_array_get_item(node, i), depth + 1);
        if (!converted) return converted.error();
        out.push_back(std::move(*converted));
      }
      return out;
    }
    case PLIST_STRING:
    case PLIST_KEY: {
      std::uint64_t length = 0;
      const char* s = plist_get_string_ptr(node, &length);
      return Json(std::string(s == nullptr ? "" : s, s == nullptr ? 0 : length));
    }
    case PLIST_UINT: {
      std::uint64_t v = 0;
      plist_get_uint_val(node, &v);
      return Json(static_cast<std::int64_t>(v));
    }
    case PLIST_UID: {
      std::uint64_t v = 0;
      plist_get_uid_val(node, &v);
      return Json(static_cast<std::int64_t>(v));
    }
    case PLIST_REAL: {
      double v = 0;
      plist_get_real_val(node, &v);
      return Json(v);
    }
    case PLIST_BOOLEAN: {
      std::uint8_t v = 0;
      plist_get_bool_val(node, &v);
      return Json(v != 0);
    }
    case PLIST_DATA: {
      std::uint64_t length = 0;
      const char* p = plist_get_data_ptr(node, &length);
      Bytes bytes;
      if (p != nullptr) bytes.assign(p, p + length);
      return Json::binary(std::move(bytes));
    }
    case PLIST_DATE: {
      std::int32_t sec = 0, usec = 0;
      plist_get_date_val(node, &sec, &usec);
      return Json(format_rfc3339(static_cast<std::int64_t>(sec) + kMacEpochOffset));
    }
    default:
      return Error::make("malformed", "property list holds a node of unknown type");
  }
}

// Returns nullptr for JSON null (which has no plist form).
plist_t to_node(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      plist_t dict = plist_new_dict();
      for (const auto& [key, member] : value.items()) {
        plist_t child = to_node(member);
        if (child != nullptr) plist_dict_set_item(dict, key.c_str(), child);
      }
      return dict;
    }
    case Json::value_t::array: {
      plist_t array = plist_new_array();
      for (const auto& item : value) {
        plist_t child = to_node(item);
        if (child != nullptr) plist_array_append_item(array, child);
      }
      return array;
    }
    case Json::value_t::string:
      return plist_new_string(value.get_ref<const std::string&>().c_str());
    case Json::value_t::boolean:
      return plist_new_bool(value.get<bool>() ? 1 : 0);
    case Json::value_t::number_integer:
      return plist_new_uint(static_cast<std::uint64_t>(value.get<std::int64_t>()));
    case Json::value_t::number_unsigned:
      return plist_new_uint(value.get<std::uint64_t>());
    case Json::value_t::number_float:
      return plist_new_real(value.get<double>());
    case Json::value_t::binary: {
      const auto& bytes = value.get_binary();
      return plist_new_data(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    default:
      return nullptr;
  }
}

Node node_of(const Json& value) {
  plist_t node = to_node(value);
  // A top-level null still has to be a plist: an empty dict is the closest harmless form.
  return Node(node != nullptr ? node : plist_new_dict());
}

}  // namespace

Result<Json> plist_to_json(std::string_view text) {
  if (text.empty()) return Error::make("malformed", "empty property list");
  if (text.size() > UINT32_MAX) return Error::make("malformed", "property list too large");
  plist_t root = nullptr;
  plist_from_memory(text.data(), static_cast<std::uint32_t>(text.size()), &root);
  if (root == nullptr) return Error::make("malformed", "not a property list (XML or binary)");
  Node owned(root);
  return to_json(root, 0);
}

std::string json_to_plist_xml(const Json& value) {
  Node node = node_of(value);
  char* xml = nullptr;
  std::uint32_t length = 0;
  plist_to_xml(node.get(), &xml, &length);
  if (xml == nullptr) return {};
  std::string text(xml, length);
  plist_to_xml_free(xml);
  return text;
}

std::string json_to_plist_binary(const Json& value) {
  Node node = node_of(value);
  char* bin = nullptr;
  std::uint32_t length = 0;
  plist_to_bin(node.get(), &bin, &length);
  if (bin == nullptr) return {};
  std::string text(bin, length);
  plist_to_bin_free(bin);
  return text;
}

Json plist_data(const Bytes& bytes) {
  return Json::binary(bytes);
}
Json plist_data(std::string_view bytes) {
  return Json::binary(Bytes(bytes.begin(), bytes.end()));
}

const std::string* plist_string(const Json& dict, const char* key) {
  if (!dict.is_object()) return nullptr;
  auto it = dict.find(key);
  if (it == dict.end() || !it->is_string()) return nullptr;
  return &it->get_ref<const std::string&>();
}

const Bytes* plist_bytes(const Json& dict, const char* key) {
  if (!dict.is_object()) return nullptr;
  auto it = dict.find(key);
  if (it == dict.end() || !it->is_binary()) return nullptr;
  const Bytes& bytes = it->get_binary();  // byte_container_with_subtype is a Bytes
  return &bytes;
}

const Json* plist_array(const Json& dict, const char* key) {
  if (!dict.is_object()) return nullptr;
  auto it = dict.find(key);
  if (it == dict.end() || !it->is_array()) return nullptr;
  return &*it;
}

const Json* plist_dict(const Json& dict, const char* key) {
  if (!dict.is_object()) return nullptr;
  auto it = dict.find(key);
  if (it == dict.end() || !it->is_object()) return nullptr;
  return &*it;
}

std::optional<std::int64_t> plist_integer(const Json& dict, const char* key) {
  if (!dict.is_object()) return std::nullopt;
  auto it = dict.find(key);
  if (it == dict.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<std::int64_t>();
  return std::nullopt;
}

std::optional<bool> plist_bool(const Json& dict, const char* key) {
  if (!dict.is_object()) return std::nullopt;
  auto it = dict.find(key);
  if (it == dict.end() || !it->is_boolean()) return std::nullopt;
  return it->get<bool>();
}

const char* plist_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object:
      return "dict";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "real";
    case Json::value_t::binary:
      return "data";
    default:
      return "nothing";
  }
}

}  // namespace attestlab::sim
