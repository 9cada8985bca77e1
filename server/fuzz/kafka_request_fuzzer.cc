// libFuzzer target for the frame splitter and every request decoder (reliability E8).
//
// The input is a byte stream as a client would send it: split into frames (max 1 MiB), each
// decoded as a request. A request that decodes must re-encode to bytes that decode to the same
// encoding again (round-trip stability); anything else must fail cleanly, never crash, read out
// of bounds or allocate what a length field claims. The same function is run over the
// checked-in corpus by a plain driver in the normal (gcc) build: fuzz_replay_main.cc.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/protocol/frame_splitter.h"
#include "server/protocol/request.h"

namespace {

void CheckOneFrame(std::string_view frame) {
  auto decoded = sluice::kafka::DecodeRequest(frame);
  if (!decoded.ok()) return;
  std::string once = sluice::kafka::EncodeRequest(decoded->header, decoded->body);
  auto again = sluice::kafka::DecodeRequest(std::string_view(once).substr(4));
  if (!again.ok()) {
    std::fprintf(stderr, "re-encoded request does not decode: %s\n",
                 again.status().ToString().c_str());
    std::abort();
  }
  std::string twice = sluice::kafka::EncodeRequest(again->header, again->body);
  if (once != twice) {
    std::fprintf(stderr, "request encoding is not stable across a round trip\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The whole input as one frame body.
  CheckOneFrame(input);
  // The input as a stream, fed in uneven pieces.
  sluice::kafka::FrameSplitter splitter(1 << 20);
  size_t pos = 0, step = 1;
  while (pos < input.size()) {
    size_t n = std::min(step, input.size() - pos);
    splitter.Append(input.substr(pos, n));
    pos += n;
    step = step * 3 + 1;
    while (true) {
      auto frame = splitter.Next();
      if (!frame.ok() || !frame->has_value()) break;
      CheckOneFrame(**frame);
    }
  }
  return 0;
}
