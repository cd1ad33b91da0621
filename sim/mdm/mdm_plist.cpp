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
      // libplist 2.2's binary reader can build a dictionary whose key is not a key node
      // (found by fuzz/mdm_plist_fuzz.cpp); plist_dict_next_item would then abort on an
      // assertion. So the items are taken without their keys, and each key node is
      // checked before it is read.
      Json out = Json::object();
      plist_dict_iter iter = nullptr;
      plist_dict_new_iter(node, &iter);
      if (iter == nullptr) return out;
      std::unique_ptr<void, decltype(&std::free)> iter_owner(iter, &std::free);
      const std::uint32_t n = plist_dict_get_size(node);
      for (std::uint32_t i = 0; i < n; ++i) {
        plist_t value = nullptr;
        plist_dict_next_item(node, iter, nullptr, &value);
        if (value == nullptr) return Error::make("malformed", "dictionary key without a value");
        plist_t key_node = plist_dict_item_get_key(value);
        if (key_node == nullptr || plist_get_node_type(key_node) != PLIST_KEY) {
          return Error::make("malformed", "dictionary key is not a string");
        }
        char* key = nullptr;
        plist_get_key_val(key_node, &key);
        if (key == nullptr) return Error::make("malformed", "dictionary key is not a string");
        std::string name(key);
        std::free(key);
        auto converted = to_json(value, depth + 1);
        if (!converted) return converted.error();
        if (out.contains(name)) {
          return Error::make("malformed", "dictionary key \"" + name + "\" appears twice");
        }
        out[name] = std::move(*converted);
      }
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

// libplist 2.2 aborts (assert in plist_get_key_val) on a binary plist whose dictionary
// key is a string with a NUL in it, and builds dictionaries whose keys are not strings
// (both found by fuzz/mdm_plist_fuzz.cpp). So before libplist reads a binary plist, every
// dictionary's keys are checked here: each must reference an ASCII or UTF-16 string object
// with no NUL. Anything this walk cannot follow (a truncated trailer, offsets or references
// out of range) is refused too; libplist would refuse such a file as well.
std::optional<std::string> unsafe_binary_plist(std::string_view b) {
  constexpr std::size_t kTrailer = 32;
  if (b.size() < 8 + kTrailer) return "binary property list too short";
  auto byte = [&](std::size_t at) { return static_cast<unsigned char>(b[at]); };
  auto uint_at = [&](std::size_t at, std::size_t width, std::uint64_t& out) {
    if (width == 0 || width > 8 || at > b.size() || b.size() - at < width) return false;
    out = 0;
    for (std::size_t i = 0; i < width; ++i) out = (out << 8) | byte(at + i);
    return true;
  };
  const std::size_t t = b.size() - kTrailer;
  const std::size_t offset_size = byte(t + 6), ref_size = byte(t + 7);
  std::uint64_t objects = 0, table = 0;
  if (!uint_at(t + 8, 8, objects) || !uint_at(t + 24, 8, table) || offset_size == 0 ||
      offset_size > 8 || ref_size == 0 || ref_size > 8 || table >= t ||
      objects > (t - table) / offset_size) {
    return "binary property list trailer is inconsistent";
  }
  auto offset_of = [&](std::uint64_t ref, std::uint64_t& out) {
    return ref < objects && uint_at(table + ref * offset_size, offset_size, out) && out >= 8 &&
           out < table;
  };
  // The element count after a marker at `at` (low nibble, or 0xF and an int object).
  auto count_at = [&](std::size_t at, std::uint64_t& count, std::size_t& data) {
    const unsigned low = byte(at) & 0x0F;
    if (low != 0x0F) {
      count = low;
      data = at + 1;
      return true;
    }
    if (at + 1 >= table || (byte(at + 1) & 0xF0) != 0x10) return false;
    const std::size_t width = std::size_t{1} << (byte(at + 1) & 0x0F);
    data = at + 2 + width;
    return width <= 8 && uint_at(at + 2, width, count) && data <= table;
  };
  for (std::uint64_t i = 0; i < objects; ++i) {
    std::uint64_t at = 0;
    if (!offset_of(i, at)) return "binary property list offset out of range";
    if ((byte(at) & 0xF0) != 0xD0) continue;  // only dictionaries have keys
    std::uint64_t entries = 0;
    std::size_t refs = 0;
    if (!count_at(at, entries, refs) || entries > (table - refs) / ref_size) {
      return "binary property list dictionary out of range";
    }
    for (std::uint64_t k = 0; k < entries; ++k) {
      std::uint64_t key_ref = 0, key_at = 0;
      if (!uint_at(refs + k * ref_size, ref_size, key_ref) || !offset_of(key_ref, key_at)) {
        return "binary property list dictionary key out of range";
      }
      const unsigned type = byte(key_at) & 0xF0;
      if (type != 0x50 && type != 0x60) return "dictionary key is not a string";
      std::uint64_t length = 0;
      std::size_t text = 0;
      const std::uint64_t unit = type == 0x60 ? 2 : 1;
      if (!count_at(key_at, length, text) || length > (table - text) / unit) {
        return "binary property list key out of range";
      }
      for (std::uint64_t c = 0; c < length; ++c) {
        const bool nul = unit == 1 ? byte(text + c) == 0
                                   : byte(text + 2 * c) == 0 && byte(text + 2 * c + 1) == 0;
        if (nul) return "dictionary key contains a NUL character";
      }
    }
  }
  return std::nullopt;
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
  if (plist_is_binary(text.data(), static_cast<std::uint32_t>(text.size()))) {
    if (auto why = unsafe_binary_plist(text)) return Error::make("malformed", *why);
  }
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
