#include "examples/json.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <bit>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace sluice::examples {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Word-at-a-time byte tests (exact as yes/no answers): whether some byte of w is zero, equals c,
// or is below n (n <= 128).
constexpr uint64_t kOnes = 0x0101010101010101ull;
constexpr uint64_t kHighs = 0x8080808080808080ull;
inline uint64_t HasZero(uint64_t w) { return (w - kOnes) & ~w & kHighs; }
inline uint64_t HasByte(uint64_t w, unsigned char c) { return HasZero(w ^ (kOnes * c)); }
inline uint64_t HasLess(uint64_t w, unsigned char n) { return (w - kOnes * n) & ~w & kHighs; }
inline uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  return w;
}

// The byte of p at the lowest flag of a match mask (bit 7 of each matching byte). The lowest
// flag is always a true match: the tests above only over-report bytes above a true match.
inline const char* AtFirstMatch(const char* p, uint64_t mask) {
  if constexpr (std::endian::native == std::endian::little) {
    return p + (std::countr_zero(mask) >> 3);
  } else {
    return p + (std::countl_zero(mask) >> 3);
  }
}

// The first '"' or '\\' in [p, end), or end.
const char* FindQuoteOrBackslash(const char* p, const char* end) {
  while (end - p >= 8) {
    uint64_t w = Load64(p);
    uint64_t m = HasByte(w, '"') | HasByte(w, '\\');
    if (m != 0) return AtFirstMatch(p, m);
    p += 8;
  }
  while (p < end && *p != '"' && *p != '\\') ++p;
  return p;
}

// The first byte of [p, end) that a JSON string must escape ('"', '\\', control), or end.
const char* FindEscape(const char* p, const char* end) {
  while (end - p >= 8) {
    uint64_t w = Load64(p);
    uint64_t m = HasByte(w, '"') | HasByte(w, '\\') | HasLess(w, 0x20);
    if (m != 0) return AtFirstMatch(p, m);
    p += 8;
  }
  while (p < end && static_cast<unsigned char>(*p) >= 0x20 && *p != '"' && *p != '\\') ++p;
  return p;
}

// from_chars for an int64 that must take all of t, with a fast path for up to 18 plain digits.
bool ParseInt64(std::string_view t, int64_t* v) {
  size_t i = t.size() > 0 && t[0] == '-' ? 1 : 0;
  if (t.size() > i && t.size() - i <= 18) {
    int64_t x = 0;
    size_t j = i;
    for (; j < t.size() && IsDigit(t[j]); ++j) x = x * 10 + (t[j] - '0');
    if (j == t.size()) {
      *v = i == 1 ? -x : x;
      return true;
    }
  }
  const char* end = t.data() + t.size();
  auto r = std::from_chars(t.data(), end, *v);
  return r.ec == std::errc() && r.ptr == end;
}

// The end of the number in JSON's grammar that starts at p, or nullptr if none starts there.
const char* ScanJsonNumber(const char* p, const char* end) {
  if (p < end && *p == '-') ++p;
  if (p >= end || !IsDigit(*p)) return nullptr;
  if (*p == '0') {
    ++p;
  } else {
    while (p < end && IsDigit(*p)) ++p;
  }
  if (p < end && *p == '.') {
    ++p;
    if (p >= end || !IsDigit(*p)) return nullptr;
    while (p < end && IsDigit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p >= end || !IsDigit(*p)) return nullptr;
    while (p < end && IsDigit(*p)) ++p;
  }
  return p;
}

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

// a == b, for the short member names (a loop beats a call to memcmp).
bool SameName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
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

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  // Leading bytes that need no escaping, appended in one go.
  size_t plain = static_cast<size_t>(FindEscape(s.data(), s.data() + s.size()) - s.data());
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
  if (out_->size() > 1) out_->push_back(',');
  AppendJsonString(out_, name);
  out_->push_back(':');
}

char* JsonWriter::Key(std::string_view name, char* buf) const {
  // Most names are short and need no escaping: ,"name": is built here and appended in one go
  // with what follows it (std::string's appends are calls, not inlined).
  if (name.size() > kMaxFastName ||
      FindEscape(name.data(), name.data() + name.size()) != name.data() + name.size()) {
    return nullptr;
  }
  char* p = buf;
  if (out_->size() > 1) *p++ = ',';
  *p++ = '"';
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = '"';
  *p++ = ':';
  return p;
}

JsonWriter& JsonWriter::Add(std::string_view name, std::string_view value) {
  char buf[kMaxFastName + 8];
  char* p = Key(name, buf);
  const char* plain_end = FindEscape(value.data(), value.data() + value.size());
  if (p == nullptr || plain_end != value.data() + value.size()) {
    Name(name);
    AppendJsonString(out_, value);
    return *this;
  }
  *p++ = '"';
  out_->append(buf, p);
  out_->append(value);
  out_->push_back('"');
  return *this;
}

void AppendJsonNumber(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendJsonNumber(std::string* out, double v) {
  // The compiled "{}" is fmt's runtime "{}" without parsing the format string each time.
  char buf[40];
  char* end = fmt::format_to(buf, FMT_COMPILE("{}"), v);
  out->append(buf, end);
}

JsonWriter& JsonWriter::Add(std::string_view name, int64_t value) {
  char buf[kMaxFastName + 8 + 24];
  char* p = Key(name, buf);
  if (p == nullptr) {
    Name(name);
    AppendJsonNumber(out_, value);
    return *this;
  }
  p = std::to_chars(p, buf + sizeof(buf), value).ptr;
  out_->append(buf, p);
  return *this;
}

JsonWriter& JsonWriter::Add(std::string_view name, double value) {
  char buf[kMaxFastName + 8 + 40];
  char* p = Key(name, buf);
  if (p == nullptr) {
    Name(name);
    AppendJsonNumber(out_, value);
    return *this;
  }
  p = fmt::format_to(p, FMT_COMPILE("{}"), value);
  out_->append(buf, p);
  return *this;
}

JsonWriter& JsonWriter::Add(std::string_view name, bool value) {
  Name(name);
  out_->append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::AddNull(std::string_view name) {
  Name(name);
  out_->append("null");
  return *this;
}

JsonWriter& JsonWriter::Add(std::string_view name, const std::vector<std::string>& values) {
  Name(name);
  out_->push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out_->push_back(',');
    AppendJsonString(out_, values[i]);
  }
  out_->push_back(']');
  return *this;
}

JsonWriter& JsonWriter::AddRaw(std::string_view name, std::string_view json) {
  Name(name);
  out_->append(json);
  return *this;
}

std::string JsonWriter::Finish() {
  End();
  return std::move(*out_);
}

}  // namespace sluice::examples
