#include "core/types.h"

#include <chrono>

namespace sluice {

Timestamp Now() {
  return Timestamp(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count());
}

}  // namespace sluice
