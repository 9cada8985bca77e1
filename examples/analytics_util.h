// Helpers shared by the analytics examples: parse-or-dead-letter routing.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/types.h"
#include "examples/json.h"
#include "operators/stream.h"
#include "operators/topology_builder.h"

namespace sluice::examples {

// A value parsed by an example, or why it could not be.
template <typename T>
struct Parsed {
  bool ok = false;
  T value{};
  std::string reason;  // when !ok
  std::string raw;     // when !ok: the original value (when ok: empty unless the caller sets it)
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

// Reads `topic` (string keys and values), parses each value with parse(std::string_view) ->
// Result<T>, routes failures to `dead_letter_topic` with the reason, and returns the parsed
// records with their event time from time(const T&) (the watermark ignores the failures).
template <typename T, typename P, typename E>
Stream<std::string, T> ParseOrDeadLetter(TopologyBuilder& b, const std::string& topic,
                                         const std::string& dead_letter_topic,
                                         const std::string& name, P parse, E time) {
  auto parsed = b.Stream<std::string, std::string>(topic)
                    .MapValues([parse](const std::string& v) { return ToParsed<T>(parse(v), v); },
                               "parse-" + name)
                    .WithEventTime(
                        [time](const std::string&, const Parsed<T>& p) -> std::optional<Timestamp> {
                          if (!p.ok) return std::nullopt;
                          return Timestamp(time(p.value));
                        },
                        name + "-time");
  auto br = parsed.Branch([](const std::string&, const Parsed<T>& p) { return p.ok; },
                          [](const std::string&, const Parsed<T>&) { return true; });
  br[1]
      .MapValues([topic](const Parsed<T>& p) { return DeadLetterJson(p.reason, topic, p.raw); },
                 name + "-dead-letter")
      .To(dead_letter_topic, name + "-dead-letter-sink");
  return br[0].MapValues([](const Parsed<T>& p) { return p.value; }, name + "-parsed");
}

}  // namespace sluice::examples
