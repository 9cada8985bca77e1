// The shipped single-topic jobs (wordcount, balances) that `sluice run` and `sluice serve --run`
// build by name.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "operators/topology_builder.h"

namespace sluice::tools {

// Adds the shipped single-topic job `job` ("wordcount" or "balances") reading `input` and writing
// `output`. Returns false for any other name (the caller says what it can run instead).
bool AddSimpleJob(TopologyBuilder& builder, const std::string& job, const std::string& input,
                  const std::string& output);

// For kafka::ServerOptions::topic_in_use while a simple job runs beside a server: its input,
// output and repartition topics ("<app>-...-repartition") are in use by "job <job> (application
// '<app>'), running in <where>"; other topics are not ("").
std::function<std::string(std::string_view)> TopicsOfSimpleJob(std::string job, std::string app,
                                                               std::string input,
                                                               std::string output,
                                                               std::string where);

}  // namespace sluice::tools
