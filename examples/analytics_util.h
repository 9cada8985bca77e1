// Helpers shared by the analytics examples: parse-or-dead-letter routing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "examples/json.h"

namespace sluice::examples {

// A value parsed by an example, or why it could not be.
template <typename T>
struct Parsed {
  bool ok = false;
  T value{};
  std::string reason;  // when !ok
  std::string raw;     // when !ok: the original value
};

template <typename T>
Parsed<T> ToParsed(Result<T> r, std::string_view raw) {
  Parsed<T> p;
  if (r.ok()) {
    p.ok = true;
    p.value = std::move(r).value();
  } else {
    p.reason = r.status().message();
    p.raw = std::string(raw);
  }
  return p;
}

// The dead-letter record value: {"reason":...,"topic":...,"value":...}.
inline std::string DeadLetterJson(std::string_view reason, std::string_view topic,
                                  std::string_view value) {
  return JsonWriter().Add("reason", reason).Add("topic", topic).Add("value", value).Finish();
}

}  // namespace sluice::examples
