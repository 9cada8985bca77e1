// The reference for tests/examples/json_test.cc: the parsing the examples used before the
// one-pass JsonFields (a copy of that FlatJson reader and of the getter-based ParsePageView and
// ParseBid), so the new parsers can be checked to accept, reject and report exactly as it did.
#pragma once

#include <charconv>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "examples/clickstream.h"
#include "examples/nexmark.h"

namespace sluice::examples::reference {

class RefReader {
 public:
  explicit RefReader(std::string_view s) : s_(s) {}
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
      char c = s_[i_++];
      if (c == '"') return Status::Ok();
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) break;
      char e = s_[i_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out->push_back(e);
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
    if (end != tmp.c_str() + tmp.size()) {
      return Error("expected a number, string, true, false or null");
    }
    out->assign(t);
    return Status::Ok();
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

struct RefMember {
  std::string name, text;
  bool is_string = false, is_null = false;
};

inline Result<std::vector<RefMember>> RefParse(std::string_view text) {
  RefReader r(text);
  std::vector<RefMember> ms;
  if (!r.Eat('{')) return r.Error("expected '{'");
  if (!r.Eat('}')) {
    while (true) {
      RefMember m;
      SLUICE_RETURN_IF_ERROR(r.String(&m.name));
      if (!r.Eat(':')) return r.Error("expected ':'");
      if (r.Peek() == '"') {
        SLUICE_RETURN_IF_ERROR(r.String(&m.text));
        m.is_string = true;
      } else {
        SLUICE_RETURN_IF_ERROR(r.Scalar(&m.text, &m.is_null));
      }
      ms.push_back(std::move(m));
      if (r.Eat(',')) continue;
      if (r.Eat('}')) break;
      return r.Error("expected ',' or '}'");
    }
  }
  if (!r.AtEnd()) return r.Error("trailing bytes after the object");
  return ms;
}

inline const RefMember* RefFind(const std::vector<RefMember>& ms, std::string_view name) {
  for (const auto& m : ms) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

inline Result<std::string> RefString(const std::vector<RefMember>& ms, std::string_view name) {
  const RefMember* m = RefFind(ms, name);
  if (m == nullptr) return InvalidArgument("member \"{}\" is missing", name);
  if (!m->is_string) return InvalidArgument("member \"{}\" must be a string", name);
  return m->text;
}

inline Result<int64_t> RefInt(const std::vector<RefMember>& ms, std::string_view name) {
  const RefMember* m = RefFind(ms, name);
  if (m == nullptr) return InvalidArgument("member \"{}\" is missing", name);
  int64_t v = 0;
  auto r = std::from_chars(m->text.data(), m->text.data() + m->text.size(), v);
  if (m->is_string || m->is_null || r.ec != std::errc() ||
      r.ptr != m->text.data() + m->text.size()) {
    return InvalidArgument("member \"{}\" must be an integer, got '{}'", name, m->text);
  }
  return v;
}

inline Result<PageView> RefParsePageView(std::string_view json) {
  SLUICE_ASSIGN_OR_RETURN(auto j, RefParse(json));
  PageView v;
  SLUICE_ASSIGN_OR_RETURN(v.user, RefString(j, "user"));
  SLUICE_ASSIGN_OR_RETURN(v.page, RefString(j, "page"));
  if (RefFind(j, "referrer") != nullptr && !RefFind(j, "referrer")->is_null) {
    SLUICE_ASSIGN_OR_RETURN(v.referrer, RefString(j, "referrer"));
  }
  SLUICE_ASSIGN_OR_RETURN(v.ts, RefInt(j, "ts"));
  if (v.user.empty()) return InvalidArgument("member \"user\" is empty");
  if (v.page.empty()) return InvalidArgument("member \"page\" is empty");
  SLUICE_RETURN_IF_ERROR(CheckEventTime(v.ts));
  return v;
}

inline Result<Bid> RefParseBid(std::string_view json) {
  SLUICE_ASSIGN_OR_RETURN(auto j, RefParse(json));
  Bid b;
  SLUICE_ASSIGN_OR_RETURN(b.auction, RefInt(j, "auction"));
  SLUICE_ASSIGN_OR_RETURN(b.bidder, RefInt(j, "bidder"));
  SLUICE_ASSIGN_OR_RETURN(b.price, RefInt(j, "price"));
  SLUICE_ASSIGN_OR_RETURN(b.channel, RefString(j, "channel"));
  SLUICE_ASSIGN_OR_RETURN(b.url, RefString(j, "url"));
  SLUICE_ASSIGN_OR_RETURN(b.date_time, RefInt(j, "date_time"));
  if (RefFind(j, "extra")) {
    SLUICE_ASSIGN_OR_RETURN(b.extra, RefString(j, "extra"));
  }
  SLUICE_RETURN_IF_ERROR(CheckEventTime(b.date_time));
  return b;
}

}  // namespace sluice::examples::reference
