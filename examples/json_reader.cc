// FlatJsonReader, JsonFields and FlatJson (examples/json.h).
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "examples/json.h"
#include "operators/internal/json_scan.h"

namespace sluice::examples {
namespace {

using json_scan::FindQuoteOrBackslash;
using json_scan::IsDigit;
using json_scan::IsWs;
using json_scan::ParseInt64;
using json_scan::SameName;
using json_scan::ScanJsonNumber;

// Whether t is a number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
// (strtod reads all of such a token, so it is the common case's fast answer).
bool IsJsonNumber(std::string_view t) {
  return ScanJsonNumber(t.data(), t.data() + t.size()) == t.data() + t.size();
}

// Whether strtod reads all of t: what a number member may be (it accepts more than JSON, e.g.
// "+1", "0x10", ".5", "inf"; kept so that the same documents parse as always did).
bool StrtodReadsAll(std::string_view t) {
  std::string tmp(t);
  char* end = nullptr;
  std::strtod(tmp.c_str(), &end);
  return end == tmp.c_str() + tmp.size();
}

// Appends the UTF-8 encoding of a \u escape's code unit (as written: surrogates are not paired).
void AppendCodeUnit(std::string* out, unsigned cp) {
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
}

}  // namespace

inline void FlatJsonReader::Ws() {
  while (i_ < s_.size() && IsWs(s_[i_])) ++i_;
}

inline bool FlatJsonReader::Eat(char c) {
  if (i_ < s_.size() && s_[i_] == c) {  // the common case: no whitespace before c
    ++i_;
    return true;
  }
  Ws();
  if (i_ < s_.size() && s_[i_] == c) {
    ++i_;
    return true;
  }
  return false;
}

bool FlatJsonReader::Fail(std::string_view what) {
  status_ =
      InvalidArgument("not a flat JSON object: {} at byte {} of '{}'", what, i_,
                      s_.size() > 80 ? std::string(s_.substr(0, 80)) + "..." : std::string(s_));
  state_ = State::kDone;
  return false;
}

bool FlatJsonReader::String(std::string* scratch, std::string_view* out) {
  if (!Eat('"')) return Fail("expected a string");
  // The common case: no escapes, so the value is a view of the text.
  const char* const begin = s_.data() + i_;
  const char* const end = s_.data() + s_.size();
  const char* p = FindQuoteOrBackslash(begin, end);
  if (p < end && *p == '"') {
    *out = std::string_view(begin, static_cast<size_t>(p - begin));
    i_ = static_cast<size_t>(p + 1 - s_.data());
    return true;
  }
  scratch->clear();
  while (i_ < s_.size()) {
    // Copy the run up to the next quote or backslash in one go.
    size_t j = static_cast<size_t>(FindQuoteOrBackslash(s_.data() + i_, end) - s_.data());
    scratch->append(s_.data() + i_, j - i_);
    i_ = j;
    if (i_ >= s_.size()) break;
    char c = s_[i_++];
    if (c == '"') {
      *out = *scratch;
      return true;
    }
    if (i_ >= s_.size()) break;
    char e = s_[i_++];
    switch (e) {
      case '"':
        scratch->push_back('"');
        break;
      case '\\':
        scratch->push_back('\\');
        break;
      case '/':
        scratch->push_back('/');
        break;
      case 'b':
        scratch->push_back('\b');
        break;
      case 'f':
        scratch->push_back('\f');
        break;
      case 'n':
        scratch->push_back('\n');
        break;
      case 'r':
        scratch->push_back('\r');
        break;
      case 't':
        scratch->push_back('\t');
        break;
      case 'u': {
        if (i_ + 4 > s_.size()) return Fail("short \\u escape");
        unsigned cp = 0;
        auto r = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, cp, 16);
        if (r.ec != std::errc() || r.ptr != s_.data() + i_ + 4) return Fail("bad \\u escape");
        i_ += 4;
        AppendCodeUnit(scratch, cp);
        break;
      }
      default:
        return Fail("bad escape");
    }
  }
  return Fail("unterminated string");
}

bool FlatJsonReader::Scalar(Member* m) {
  Ws();
  size_t b = i_;
  {
    // The common case: a number in JSON's grammar, followed by a delimiter.
    const char* end = s_.data() + s_.size();
    const char* q = ScanJsonNumber(s_.data() + b, end);
    if (q != nullptr && (q == end || *q == ',' || *q == '}' || IsWs(*q))) {
      i_ = static_cast<size_t>(q - s_.data());
      m->type = JsonType::kNumber;
      m->text = s_.substr(b, i_ - b);
      return true;
    }
  }
  while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && !IsWs(s_[i_])) ++i_;
  std::string_view t = s_.substr(b, i_ - b);
  if (IsJsonNumber(t)) {  // the common case first
    m->type = JsonType::kNumber;
    m->text = t;
    return true;
  }
  if (t == "null") {
    m->type = JsonType::kNull;
    m->text = std::string_view();
    return true;
  }
  if (t == "true" || t == "false") {
    m->type = t[0] == 't' ? JsonType::kTrue : JsonType::kFalse;
    m->text = t;
    return true;
  }
  if (t.empty()) return Fail("expected a value");
  if (t[0] == '{' || t[0] == '[') return Fail("nested objects and arrays are not supported");
  if (!StrtodReadsAll(t)) return Fail("expected a number, string, true, false or null");
  m->type = JsonType::kNumber;
  m->text = t;
  return true;
}

bool FlatJsonReader::End() {
  state_ = State::kDone;
  Ws();
  if (i_ < s_.size()) return Fail("trailing bytes after the object");
  return false;
}

bool FlatJsonReader::Next(Member* m) {
  if (state_ == State::kDone) return false;
  if (state_ == State::kStart) {
    state_ = State::kMore;
    if (!Eat('{')) return Fail("expected '{'");
    if (Eat('}')) return End();
  } else if (!Eat(',')) {
    if (Eat('}')) return End();
    return Fail("expected ',' or '}'");
  }
  if (!String(&name_buf_, &m->name)) return false;
  if (!Eat(':')) return Fail("expected ':'");
  Ws();
  if (i_ < s_.size() && s_[i_] == '"') {
    if (!String(&text_buf_, &m->text)) return false;
    m->type = JsonType::kString;
  } else if (!Scalar(m)) {
    return false;
  }
  return true;
}

bool JsonFields::ParseCanonical(std::string_view json) {
  // Exactly {"f0":v0,"f1":v1,...} with every bound field once, in binding order, no whitespace,
  // integers of at most 18 digits in JSON's grammar, strings without escapes, no null: what
  // JsonWriter writes for these fields. Such a document is valid and the general path would
  // read the same values; anything else returns false (having maybe set some outputs to the
  // values the general path sets them to as well).
  if (!plain_names_) return false;
  const char* p = json.data();
  const char* const end = p + json.size();
  for (size_t i = 0; i < n_; ++i) {
    const Field& f = fields_[i];
    if (end - p < static_cast<ptrdiff_t>(f.name.size() + 4) || *p != (i == 0 ? '{' : ',') ||
        p[1] != '"' || std::memcmp(p + 2, f.name.data(), f.name.size()) != 0 ||
        p[2 + f.name.size()] != '"' || p[3 + f.name.size()] != ':') {
      return false;
    }
    p += f.name.size() + 4;
    if (f.kind == Kind::kInt) {
      bool neg = p < end && *p == '-';
      if (neg) ++p;
      const char* digits = p;
      int64_t x = 0;
      while (p < end && IsDigit(*p) && p - digits < 18) x = x * 10 + (*p++ - '0');
      if (p == digits || p == end || (*p != ',' && *p != '}') ||
          (*digits == '0' && p - digits > 1)) {
        return false;
      }
      *static_cast<int64_t*>(f.out) = neg ? -x : x;
    } else {
      if (p >= end || *p != '"') return false;
      const char* b = ++p;
      p = FindQuoteOrBackslash(p, end);
      if (p == end || *p != '"') return false;
      static_cast<std::string*>(f.out)->assign(b, static_cast<size_t>(p - b));
      ++p;
    }
  }
  if (n_ == 0 || p + 1 != end || *p != '}') return false;
  for (size_t i = 0; i < n_; ++i) fields_[i].got = Got::kOk;
  return true;
}

Status JsonFields::Parse(std::string_view json) {
  if (ParseCanonical(json)) return Status::Ok();
  for (size_t i = 0; i < n_; ++i) fields_[i].got = Got::kMissing;
  bad_int_ = kMaxFields;
  FlatJsonReader r(json);
  FlatJsonReader::Member m;
  size_t next = 0;  // documents usually list the members in binding order: try that one first
  while (r.Next(&m)) {
    Field* f = nullptr;
    for (size_t k = 0; k < n_; ++k) {
      size_t i = next + k < n_ ? next + k : next + k - n_;
      if (SameName(fields_[i].name, m.name)) {
        f = &fields_[i];
        next = i + 1 < n_ ? i + 1 : 0;
        break;
      }
    }
    if (f == nullptr || f->got != Got::kMissing) continue;  // unbound, or not the first
    switch (f->kind) {
      case Kind::kInt: {
        int64_t v = 0;
        if (m.type == JsonType::kNumber && ParseInt64(m.text, &v)) {
          *static_cast<int64_t*>(f->out) = v;
          f->got = Got::kOk;
        } else {
          f->got = Got::kBad;
          size_t i = static_cast<size_t>(f - fields_.data());
          if (i < bad_int_) {
            bad_int_ = i;
            bad_int_text_.assign(m.text);
          }
        }
        break;
      }
      case Kind::kNullableString:
        if (m.type == JsonType::kNull) {
          f->got = Got::kOk;
          break;
        }
        [[fallthrough]];
      case Kind::kString:
      case Kind::kOptionalString:
        if (m.type == JsonType::kString) {
          static_cast<std::string*>(f->out)->assign(m.text);
          f->got = Got::kOk;
        } else {
          f->got = Got::kBad;
        }
        break;
    }
  }
  if (!r.status().ok()) return r.status();
  for (size_t i = 0; i < n_; ++i) {
    const Field& f = fields_[i];
    if (f.got == Got::kMissing && (f.kind == Kind::kString || f.kind == Kind::kInt)) {
      return InvalidArgument("member \"{}\" is missing", f.name);
    }
    if (f.got == Got::kBad) {
      if (f.kind == Kind::kInt) {
        // The first field in binding order that is bad is the first bad integer: its text.
        return InvalidArgument("member \"{}\" must be an integer, got '{}'", f.name, bad_int_text_);
      }
      return InvalidArgument("member \"{}\" must be a string", f.name);
    }
  }
  return Status::Ok();
}

Result<FlatJson> FlatJson::Parse(std::string_view text) {
  FlatJsonReader r(text);
  FlatJson j;
  FlatJsonReader::Member m;
  while (r.Next(&m)) {
    j.members_.push_back(Member{std::string(m.name), std::string(m.text),
                                m.type == JsonType::kString, m.type == JsonType::kNull});
  }
  SLUICE_RETURN_IF_ERROR(r.status());
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

}  // namespace sluice::examples
