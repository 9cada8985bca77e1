// JsonWriter and the append helpers; the reader is in json_reader.cc.
#include "examples/json.h"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "operators/internal/json_scan.h"

namespace sluice::examples {

using json_scan::FindEscape;

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
