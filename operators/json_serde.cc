#include "operators/json_serde.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <cmath>
#include <limits>

#include "operators/internal/json_scan.h"

namespace sluice {

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  // Leading bytes that need no escaping, appended in one go.
  size_t plain =
      static_cast<size_t>(json_scan::FindEscape(s.data(), s.data() + s.size()) - s.data());
  out->append(s.data(), plain);
  s.remove_prefix(plain);
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          fmt::format_to(std::back_inserter(*out), "\\u{:04x}", static_cast<unsigned char>(c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

namespace json_internal {
namespace {

namespace dom = simdjson::dom;

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kString:
      return "a string";
    case Kind::kInt64:
    case Kind::kInt32:
      return "an integer";
    case Kind::kDouble:
      return "a number";
    case Kind::kBool:
      return "true or false";
  }
  return "?";
}

std::string_view TypeName(dom::element_type t) {
  switch (t) {
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "?";
}

Status Wrong(const Slot& s, std::string_view got) {
  return InvalidArgument("JSON member '{}' must be {}, not {}", s.name, KindName(s.kind), got);
}

// Reads `v` into slot `s`.
Status ReadValue(dom::element v, Slot& s) {
  const dom::element_type type = v.type();
  if (type == dom::element_type::NULL_VALUE && s.optional) return Status::Ok();  // absent
  switch (s.kind) {
    case Kind::kString:
      if (type != dom::element_type::STRING) return Wrong(s, TypeName(type));
      static_cast<std::string*>(s.target)->assign(std::string_view(v.get_string().value_unsafe()));
      break;
    case Kind::kInt64:
    case Kind::kInt32: {
      if (type == dom::element_type::DOUBLE) {
        return InvalidArgument("JSON member '{}' must be an integer, not {}", s.name,
                               v.get_double().value_unsafe());
      }
      if (type == dom::element_type::UINT64) {
        return InvalidArgument("JSON member '{}' must be a 64-bit integer, not {}", s.name,
                               v.get_uint64().value_unsafe());
      }
      if (type != dom::element_type::INT64) return Wrong(s, TypeName(type));
      const int64_t i = v.get_int64().value_unsafe();
      if (s.kind == Kind::kInt64) {
        *static_cast<int64_t*>(s.target) = i;
      } else if (i < std::numeric_limits<int32_t>::min() ||
                 i > std::numeric_limits<int32_t>::max()) {
        return InvalidArgument("JSON member '{}' must be a 32-bit integer, not {}", s.name, i);
      } else {
        *static_cast<int32_t*>(s.target) = static_cast<int32_t>(i);
      }
      break;
    }
    case Kind::kDouble:
      if (type != dom::element_type::DOUBLE && type != dom::element_type::INT64 &&
          type != dom::element_type::UINT64) {
        return Wrong(s, TypeName(type));
      }
      *static_cast<double*>(s.target) = v.get_double().value_unsafe();
      break;
    case Kind::kBool:
      if (type != dom::element_type::BOOL) return Wrong(s, TypeName(type));
      *static_cast<bool*>(s.target) = v.get_bool().value_unsafe();
      break;
  }
  s.present = true;
  return Status::Ok();
}

}  // namespace

Status ParseObject(std::string_view json, std::span<Slot> slots) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the text: parse a padded copy, kept per
  // thread with its parser so that a record costs no allocation once they have grown. The DOM
  // parser picks the fastest kernel of the CPU at run time (On-Demand would be compiled for the
  // baseline x86-64 of the build).
  thread_local dom::parser parser;
  thread_local std::string buf;
  if (buf.capacity() < json.size() + simdjson::SIMDJSON_PADDING) {
    buf.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  }
  buf.assign(json);
  dom::element doc;
  if (auto e = parser.parse(buf.data(), buf.size(), /*realloc_if_needed=*/false).get(doc)) {
    return InvalidArgument("not valid JSON ({})", simdjson::error_message(e));
  }
  if (doc.type() != dom::element_type::OBJECT) {
    return InvalidArgument("expected a JSON object, not {}", TypeName(doc.type()));
  }
  dom::object object;
  if (auto e = doc.get_object().get(object)) {
    return InvalidArgument("not valid JSON ({})", simdjson::error_message(e));
  }
  for (dom::key_value_pair member : object) {
    for (Slot& s : slots) {
      if (s.name != member.key) continue;
      // The first member of a name counts; a repeat is skipped like an unknown member.
      if (!s.present) SLUICE_RETURN_IF_ERROR(ReadValue(member.value, s));
      break;
    }
  }
  for (const Slot& s : slots) {
    if (!s.present && !s.optional) {
      return InvalidArgument("JSON member '{}' is missing (expected {})", s.name, KindName(s.kind));
    }
  }
  return Status::Ok();
}

void AppendValue(Kind kind, const void* value, std::string* out) {
  auto it = std::back_inserter(*out);
  switch (kind) {
    case Kind::kString:
      AppendJsonString(out, *static_cast<const std::string*>(value));
      break;
    case Kind::kInt64:
      fmt::format_to(it, "{}", *static_cast<const int64_t*>(value));
      break;
    case Kind::kInt32:
      fmt::format_to(it, "{}", *static_cast<const int32_t*>(value));
      break;
    case Kind::kDouble: {
      double d = *static_cast<const double*>(value);
      if (std::isfinite(d)) {
        fmt::format_to(it, "{}", d);  // shortest text that reads back as the same double
      } else {
        out->append("null");
      }
      break;
    }
    case Kind::kBool:
      out->append(*static_cast<const bool*>(value) ? "true" : "false");
      break;
  }
}

}  // namespace json_internal
}  // namespace sluice
