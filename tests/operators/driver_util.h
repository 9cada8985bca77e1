// What the TestDriver tests of operators share: building a topology and piping string records.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "operators/test_driver.h"
#include "operators/topology_builder.h"

namespace sluice::testing {

// Builds `b`; a wiring error fails the test (and returns an empty topology).
inline Topology BuildOrDie(const TopologyBuilder& b) {
  auto t = b.Build();
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(t).value();
}

// Pipes one string record into `topic` at time `ts`; a failure fails the test.
inline void Pipe(TestDriver& d, const std::string& topic, const std::string& k,
                 const std::string& v, int64_t ts) {
  Status s = d.PipeInput<std::string, std::string>(topic, k, v, Timestamp(ts));
  ASSERT_TRUE(s.ok()) << s;
}

}  // namespace sluice::testing
