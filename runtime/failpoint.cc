#include "runtime/failpoint.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace sluice {
namespace {

struct Config {
  std::string name;
  long target = 0;
  long delay_ms = 0;  // "name:delay=MS": sleep at every hit instead of exiting
  std::atomic<long> hits{0};
};

Config* LoadConfig() {
  const char* env = std::getenv("SLUICE_FAILPOINT");
  if (env == nullptr || *env == '\0') return nullptr;
  auto* c = new Config();
  std::string s(env);
  size_t colon = s.rfind(':');
  c->name = s.substr(0, colon);
  std::string arg = colon == std::string::npos ? "" : s.substr(colon + 1);
  if (arg.starts_with("delay=")) {
    c->delay_ms = std::atol(arg.c_str() + 6);
    return c;
  }
  c->target = arg.empty() ? 1 : std::atol(arg.c_str());
  if (c->target < 1) c->target = 1;
  return c;
}

}  // namespace

void FailPoint(const char* name) {
  static Config* config = LoadConfig();
  if (config == nullptr || config->name != name) return;
  if (config->delay_ms > 0) {
    usleep(static_cast<useconds_t>(config->delay_ms) * 1000);
    return;
  }
  if (config->hits.fetch_add(1) + 1 == config->target) {
    char msg[160];
    int n =
        snprintf(msg, sizeof(msg), "sluice: failpoint %s hit %ld: exiting\n", name, config->target);
    if (write(2, msg, n) < 0) {
    }
    _exit(kFailPointExitCode);
  }
}

}  // namespace sluice
