// A user's job with its own main: counts shouted words (all upper case) per word, and checks
// itself with the TestDriver before anything touches a log.
#include <cctype>
#include <cstdio>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "sluice/sluice.h"

namespace {

void AddShoutCount(sluice::TopologyBuilder& builder) {
  builder.Stream<std::string, std::string>("lines")
      .FlatMap(
          [](const std::string&, const std::string& line) {
            std::vector<std::pair<std::string, std::string>> out;
            std::istringstream in(line);
            for (std::string w; in >> w;) {
              bool shouted = !w.empty();
              for (char c : w) shouted = shouted && std::isupper(static_cast<unsigned char>(c));
              if (shouted) out.emplace_back(w, std::string());
            }
            return out;
          },
          "shouted-words")
      .GroupByKey()
      .Count("shout-counts")
      .ToStream("shout-updates")
      .WithSerdes({.value = sluice::DecimalInt64Serde()})
      .To("shouts", "shouts-sink");
}

}  // namespace

int main() {
  sluice::TopologyBuilder builder;
  AddShoutCount(builder);
  auto topology = builder.Build();
  if (!topology.ok()) {
    std::fprintf(stderr, "%s\n", topology.status().ToString().c_str());
    return 1;
  }
  sluice::testing::TestDriver driver(std::move(topology).value());
  for (const char* line : {"HELLO world", "say HELLO again", "STOP now STOP"}) {
    auto st = driver.PipeInput<std::string, std::string>("lines", "", line, sluice::Timestamp(0));
    if (!st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
  }
  for (const auto& r : driver.ReadOutput("shouts")) {
    std::printf("%s=%s\n", r.key.c_str(), r.value.c_str());
  }
  return 0;
}
