// A minimal JSON reader and writer for the flat objects the example analytics exchange
// (string, integer, floating and boolean members; arrays of strings when writing). Not a
// general JSON library: nested objects are rejected with a clear error.
//
// Three ways to read, from the cheapest: JsonFields binds members straight to the caller's
// fields (what the examples' per-record parsers use), FlatJsonReader walks the members as views
// without copying, FlatJson keeps a parsed copy to query by name. All three accept the same
// documents and reject the rest with the same messages.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "operators/json_serde.h"

namespace sluice::examples {

// The kind of a member's value.
enum class JsonType : uint8_t { kString, kNumber, kTrue, kFalse, kNull };

// Reads the members of one flat JSON object in document order. Names and values are views into
// the text, or, for a string with escapes, into the reader's own buffers; they stay valid until
// the next call to Next.
//   FlatJsonReader r(text);
//   FlatJsonReader::Member m;
//   while (r.Next(&m)) { ... }
//   SLUICE_RETURN_IF_ERROR(r.status());
class FlatJsonReader {
 public:
  struct Member {
    std::string_view name;
    std::string_view text;  // strings unescaped; numbers and booleans as written; null as ""
    JsonType type = JsonType::kNull;
  };

  explicit FlatJsonReader(std::string_view text) : s_(text) {}
  // The next member: true with *m set, or false at the end of the object (status() ok, nothing
  // but whitespace after it) or on an error (status() says what is wrong and where).
  bool Next(Member* m);
  const Status& status() const { return status_; }

 private:
  void Ws();
  bool Eat(char c);
  bool Fail(std::string_view what);
  bool End();
  bool String(std::string* scratch, std::string_view* out);
  bool Scalar(Member* m);

  std::string_view s_;
  size_t i_ = 0;
  enum class State : uint8_t { kStart, kMore, kDone } state_ = State::kStart;
  Status status_;
  std::string name_buf_, text_buf_;  // unescaped strings that had escapes
};

// Parses a flat JSON object straight into the caller's fields in one pass, with the checks and
// messages of FlatJson's getters:
//   JsonFields f;
//   f.Int("id", &p.id).String("name", &p.name).OptionalString("extra", &p.extra);
//   SLUICE_RETURN_IF_ERROR(f.Parse(json));
// The first member of a name counts (as FlatJson::Find); members not bound are only checked for
// syntax. A syntax error wins; then the first bound field, in binding order, that is missing or
// of the wrong type. At most kMaxFields fields. A document laid out exactly as JsonWriter writes
// the bound fields (the common case) takes a shortcut with the same result.
class JsonFields {
 public:
  static constexpr size_t kMaxFields = 12;
  // A string; missing is an error.
  JsonFields& String(std::string_view name, std::string* out) {
    return Bind(name, Kind::kString, out);
  }
  // A string or absent (then *out is left alone).
  JsonFields& OptionalString(std::string_view name, std::string* out) {
    return Bind(name, Kind::kOptionalString, out);
  }
  // A string, null or absent (then *out is left alone).
  JsonFields& NullableString(std::string_view name, std::string* out) {
    return Bind(name, Kind::kNullableString, out);
  }
  // An integer written as one (from_chars accepts all of it); missing is an error.
  JsonFields& Int(std::string_view name, int64_t* out) { return Bind(name, Kind::kInt, out); }
  Status Parse(std::string_view json);

 private:
  enum class Kind : uint8_t { kString, kOptionalString, kNullableString, kInt };
  enum class Got : uint8_t { kMissing, kOk, kBad };
  struct Field {
    std::string_view name;
    Kind kind = Kind::kString;
    Got got = Got::kMissing;
    void* out = nullptr;
  };
  // The fast path for documents laid out exactly as JsonWriter writes the bound fields.
  bool ParseCanonical(std::string_view json);
  JsonFields& Bind(std::string_view name, Kind kind, void* out) {
    SLUICE_CHECK(n_ < kMaxFields);
    fields_[n_++] = Field{name, kind, Got::kMissing, out};
    for (char c : name) {
      if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) plain_names_ = false;
    }
    return *this;
  }
  std::array<Field, kMaxFields> fields_;
  size_t n_ = 0;
  bool plain_names_ = true;  // no bound name needs escaping (else no shortcut)
  // The text of the first field, in binding order, that is not an integer but should be.
  size_t bad_int_ = kMaxFields;
  std::string bad_int_text_;
};

// A parsed flat object: members in document order.
class FlatJson {
 public:
  struct Member {
    std::string name;
    std::string text;  // strings unescaped; numbers and booleans as written; null as ""
    bool is_string = false;
    bool is_null = false;
  };

  // Parses one flat JSON object; kInvalidArgument saying what is wrong and where.
  static Result<FlatJson> Parse(std::string_view text);

  // nullptr if absent.
  const Member* Find(std::string_view name) const;
  // The member as a string / integer / double; kInvalidArgument naming the member if it is
  // missing or of the wrong type.
  Result<std::string> GetString(std::string_view name) const;
  Result<int64_t> GetInt(std::string_view name) const;
  Result<double> GetDouble(std::string_view name) const;
  const std::vector<Member>& members() const { return members_; }

 private:
  std::vector<Member> members_;
};

// Builds one object: JsonWriter().Add("a", 1).Add("b", "x").Finish() == R"({"a":1,"b":"x"})".
// JsonWriter(&buf)...End() builds it in `buf` instead (replacing its contents, reusing its
// capacity: a serde's output buffer, say).
class JsonWriter {
 public:
  JsonWriter() : out_(&own_) {
    own_.reserve(128);
    own_.push_back('{');
  }
  explicit JsonWriter(std::string* out) : out_(out) {
    out_->clear();
    out_->push_back('{');
  }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;
  JsonWriter& Add(std::string_view name, std::string_view value);
  JsonWriter& Add(std::string_view name, const char* value) {
    return Add(name, std::string_view(value));
  }
  JsonWriter& Add(std::string_view name, const std::string& value) {
    return Add(name, std::string_view(value));
  }
  JsonWriter& Add(std::string_view name, int64_t value);
  JsonWriter& Add(std::string_view name, int value) { return Add(name, int64_t{value}); }
  JsonWriter& Add(std::string_view name, double value);
  JsonWriter& Add(std::string_view name, bool value);
  JsonWriter& AddNull(std::string_view name);
  JsonWriter& Add(std::string_view name, const std::vector<std::string>& values);
  // Adds pre-encoded JSON (an object or array) as the value.
  JsonWriter& AddRaw(std::string_view name, std::string_view json);
  // Closes the object and returns it (moved out of the writer's own string).
  std::string Finish();
  // Closes the object in the buffer given to the constructor.
  void End() { out_->push_back('}'); }

 private:
  static constexpr size_t kMaxFastName = 48;
  void Name(std::string_view name);
  // Writes [,]"name": to buf (kMaxFastName + 4 bytes at most) and returns its end, or nullptr
  // if the name is long or needs escaping (then use Name).
  char* Key(std::string_view name, char* buf) const;
  std::string own_;
  std::string* out_;
};

// The JSON that `write(value, &out)` builds, as a new string: the string-returning ToJson of a
// record type, from its buffer-reusing one.
template <typename T>
std::string JsonString(const T& value, void (*write)(const T&, std::string*)) {
  std::string out;
  out.reserve(192);
  write(value, &out);
  return out;
}

// Strings are appended with operators' AppendJsonString (operators/json_serde.h).
// Appends a number as JsonWriter writes it (doubles as fmt's "{}": shortest round trip).
void AppendJsonNumber(std::string* out, int64_t v);
void AppendJsonNumber(std::string* out, double v);

}  // namespace sluice::examples
