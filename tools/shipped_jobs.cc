#include "tools/shipped_jobs.h"

#include <fmt/format.h>

#include "examples/balances.h"
#include "examples/word_count.h"

namespace sluice::tools {

bool AddSimpleJob(TopologyBuilder& builder, const std::string& job, const std::string& input,
                  const std::string& output) {
  if (job == "wordcount") {
    examples::AddWordCount(builder, {.input = input, .output = output});
  } else if (job == "balances") {
    examples::AddBalances(builder, {.input = input, .output = output});
  } else {
    return false;
  }
  return true;
}

std::function<std::string(std::string_view)> TopicsOfSimpleJob(std::string job, std::string app,
                                                               std::string input,
                                                               std::string output,
                                                               std::string where) {
  return [job = std::move(job), app = std::move(app), input = std::move(input),
          output = std::move(output), where = std::move(where)](std::string_view topic) {
    if (topic == input || topic == output ||
        (topic.starts_with(app + "-") && topic.ends_with("-repartition"))) {
      return fmt::format("job {} (application '{}'), running in {}", job, app, where);
    }
    return std::string();
  };
}

}  // namespace sluice::tools
