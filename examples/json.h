// A minimal JSON reader and writer for the flat objects the example analytics exchange
// (string, integer, floating and boolean members; arrays of strings when writing). Not a
// general JSON library: nested objects are rejected with a clear error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice::examples {

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
class JsonWriter {
 public:
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
  std::string Finish();

 private:
  void Name(std::string_view name);
  std::string out_ = "{";
};

// Appends `s` as a quoted JSON string.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace sluice::examples
