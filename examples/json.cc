#include "examples/json.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace sluice::examples {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  void Ws() {
    while (i_ < s_.size() &&
           (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
      ++i_;
    }
  }
  bool Eat(char c) {
    Ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool AtEnd() {
    Ws();
    return i_ >= s_.size();
  }
  char Peek() {
    Ws();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  Status Error(std::string_view what) const {
    return InvalidArgument(
        "not a flat JSON object: {} at byte {} of '{}'", what, i_,
        s_.size() > 80 ? std::string(s_.substr(0, 80)) + "..." : std::string(s_));
  }
  Status String(std::string* out) {
    if (!Eat('"')) return Error("expected a string");
    out->clear();
    while (i_ < s_.size()) {
      // Copy the run up to the next quote or backslash in one go.
      size_t j = i_;
      while (j < s_.size() && s_[j] != '"' && s_[j] != '\\') ++j;
      out->append(s_.data() + i_, j - i_);
      i_ = j;
      if (i_ >= s_.size()) break;
      char c = s_[i_++];
      if (c == '"') return Status::Ok();
      if (i_ >= s_.size()) break;
      char e = s_[i_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) return Error("short \\u escape");
          unsigned cp = 0;
          auto r = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, cp, 16);
          if (r.ec != std::errc() || r.ptr != s_.data() + i_ + 4) return Error("bad \\u escape");
          i_ += 4;
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default:
          return Error("bad escape");
      }
    }
    return Error("unterminated string");
  }
  Status Scalar(std::string* out, bool* is_null) {
    Ws();
    size_t b = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ' ' && s_[i_] != '\n' &&
           s_[i_] != '\t' && s_[i_] != '\r') {
      ++i_;
    }
    std::string_view t = s_.substr(b, i_ - b);
    *is_null = t == "null";
    if (*is_null) {
      out->clear();
      return Status::Ok();
    }
    if (t == "true" || t == "false") {
      out->assign(t);
      return Status::Ok();
    }
    if (t.empty()) return Error("expected a value");
    if (t[0] == '{' || t[0] == '[') return Error("nested objects and arrays are not supported");
    char* end = nullptr;
    std::string tmp(t);
    std::strtod(tmp.c_str(), &end);
    if (end != tmp.c_str() + tmp.size())
      return Error("expected a number, string, true, false or null");
    out->assign(t);
    return Status::Ok();
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Result<FlatJson> FlatJson::Parse(std::string_view text) {
  Reader r(text);
  FlatJson j;
  if (!r.Eat('{')) return r.Error("expected '{'");
  if (!r.Eat('}')) {
    while (true) {
      Member m;
      SLUICE_RETURN_IF_ERROR(r.String(&m.name));
      if (!r.Eat(':')) return r.Error("expected ':'");
      if (r.Peek() == '"') {
        SLUICE_RETURN_IF_ERROR(r.String(&m.text));
        m.is_string = true;
      } else {
        SLUICE_RETURN_IF_ERROR(r.Scalar(&m.text, &m.is_null));
      }
      j.members_.push_back(std::move(m));
      if (r.Eat(',')) continue;
      if (r.Eat('}')) break;
      return r.Error("expected ',' or '}'");
    }
  }
  if (!r.AtEnd()) return r.Error("trailing bytes after the object");
  return j;
}

const FlatJson::Member* FlatJson::Find(std::string_view name) const {
  for (const auto& m : members_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

Result<std::string> FlatJson::GetString(std::string_view name) const {
  const Member* m = Find(name);
  if (m == nullptr) return InvalidArgument("member \"{}\" is missing", name);
  if (!m->is_string) return InvalidArgument("member \"{}\" must be a string", name);
  return m->text;
}

Result<int64_t> FlatJson::GetInt(std::string_view name) const {
  const Member* m = Find(name);
  if (m == nullptr) return InvalidArgument("member \"{}\" is missing", name);
  int64_t v = 0;
  auto r = std::from_chars(m->text.data(), m->text.data() + m->text.size(), v);
  if (m->is_string || m->is_null || r.ec != std::errc() ||
      r.ptr != m->text.data() + m->text.size()) {
    return InvalidArgument("member \"{}\" must be an integer, got '{}'", name, m->text);
  }
  return v;
}

Result<double> FlatJson::GetDouble(std::string_view name) const {
  const Member* m = Find(name);
  if (m == nullptr) return InvalidArgument("member \"{}\" is missing", name);
  if (m->is_string || m->is_null || m->text == "true" || m->text == "false") {
    return InvalidArgument("member \"{}\" must be a number, got '{}'", name, m->text);
  }
  return std::strtod(m->text.c_str(), nullptr);
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t plain = 0;  // leading bytes that need no escaping, appended in one go
  while (plain < s.size() && static_cast<unsigned char>(s[plain]) >= 0x20 && s[plain] != '"' &&
         s[plain] != '\\') {
    ++plain;
  }
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
          out->append(fmt::format("\\u{:04x}", static_cast<unsigned char>(c)));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void JsonWriter::Name(std::string_view name) {
  if (out_.size() > 1) out_.push_back(',');
  AppendJsonString(&out_, name);
  out_.push_back(':');
}

JsonWriter& JsonWriter::Add(std::string_view name, std::string_view value) {
  Name(name);
  AppendJsonString(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Add(std::string_view name, int64_t value) {
  Name(name);
  fmt::format_to(std::back_inserter(out_), "{}", value);
  return *this;
}

JsonWriter& JsonWriter::Add(std::string_view name, double value) {
  Name(name);
  fmt::format_to(std::back_inserter(out_), "{}", value);
  return *this;
}

JsonWriter& JsonWriter::Add(std::string_view name, bool value) {
  Name(name);
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::AddNull(std::string_view name) {
  Name(name);
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Add(std::string_view name, const std::vector<std::string>& values) {
  Name(name);
  out_.push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out_.push_back(',');
    AppendJsonString(&out_, values[i]);
  }
  out_.push_back(']');
  return *this;
}

JsonWriter& JsonWriter::AddRaw(std::string_view name, std::string_view json) {
  Name(name);
  out_.append(json);
  return *this;
}

std::string JsonWriter::Finish() {
  out_.push_back('}');
  return std::move(out_);
}

}  // namespace sluice::examples
