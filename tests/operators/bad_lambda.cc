// Compiled by ctest with -fsyntax-only and expected to FAIL with a readable message: a lambda
// with the wrong signature passed to a DSL operator (see CMakeLists.txt for the cases).
#include "operators/topology_builder.h"

void AddBadJob(sluice::TopologyBuilder& b) {
  auto s = b.Stream<std::string, std::string>("in");
#if defined(BAD_FILTER)
  // Takes an int where the value is a std::string.
  s.Filter([](const std::string&, int) { return true; }).To("out");
#elif defined(BAD_MAP)
  // Returns a string instead of std::pair<K2, V2>.
  s.Map([](const std::string& k, const std::string&) { return k; }).To("out");
#elif defined(BAD_REDUCE)
  s.GroupByKey().Reduce("r", [](const std::string& a) { return a; });
#endif
}
