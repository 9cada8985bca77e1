// A read_committed Fetch parked behind an open transaction is answered when EndTxn writes the
// COMMIT marker, not at its max_wait or a housekeeping poll: RequestHandler driven directly, with
// a queue for an executor (run after each request) and no Tick at all, so only the marker's
// wake-up can answer it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "core/log.h"
#include "core/record_batch.h"
#include "server/protocol/error_codes.h"
#include "server/protocol/request.h"
#include "server/protocol/wire_reader.h"
#include "server/request_handler.h"

namespace sluice::kafka {
namespace {

class TxnWakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-txn-wake-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    LogOptions o;
    o.data_dir = root_ + "/data";
    auto log = Log::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(log).value();
    ASSERT_TRUE(log_->CreateTopic("t", {}).ok());
    handler_ = std::make_unique<RequestHandler>(
        log_.get(), options_, "127.0.0.1", 9092,
        [this](std::function<void()> f) { queued_.push_back(std::move(f)); });
    ASSERT_TRUE(handler_->RecoverTransactions().ok());
  }
  void TearDown() override {
    handler_.reset();
    log_.reset();
    std::filesystem::remove_all(root_);
  }

  // Sends one request; `*reply` is set when (if) the handler answers.
  void Send(int16_t version, const RequestBody& body, std::optional<Reply>* reply) {
    RequestHeader h{ApiKeyOf(body), version, ++correlation_, std::string("wake-test")};
    std::string frame = EncodeRequest(h, body).substr(4);  // Handle takes it without the size
    handler_->Handle(std::move(frame), ClientInfo{}, [reply](Reply r) { *reply = std::move(r); });
    while (!queued_.empty()) {  // what the request woke (retried fetches), as the io thread would
      auto f = std::move(queued_.front());
      queued_.erase(queued_.begin());
      f();
    }
  }
  // The response body after the correlation id (response header v0).
  static std::string_view Body(const Reply& r) { return std::string_view(r.frame).substr(8); }

  std::string root_;
  ServerOptions options_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<RequestHandler> handler_;
  int32_t correlation_ = 0;
  std::vector<std::function<void()>> queued_;
};

TEST_F(TxnWakeTest, CommitMarkerAnswersAParkedReadCommittedFetch) {
  std::optional<Reply> init;
  Send(1, InitProducerIdRequest{std::string("x"), 60000}, &init);
  ASSERT_TRUE(init.has_value());
  WireReader r(Body(*init));
  r.Int32();  // throttle
  ASSERT_EQ(r.Int16(), kNone);
  const int64_t pid = r.Int64();
  const int16_t epoch = r.Int16();

  std::optional<Reply> added;
  Send(1, AddPartitionsToTxnRequest{"x", pid, epoch, {{"t", {0}}}}, &added);
  ASSERT_TRUE(added.has_value());
  Partition* part = log_->GetPartition("t", PartitionId(0)).value();
  RecordBatchBuilder b;
  b.Add(Timestamp(1), std::nullopt, "committed-value");
  b.SetProducer(pid, epoch, 0);
  b.SetTransactional();
  ASSERT_TRUE(part->Append(b.Finish(), Acks::kLeader).ok());
  ASSERT_EQ(part->last_stable_offset(), Offset(0));

  FetchRequest fetch;
  fetch.max_wait_ms = 600000;  // only a wake-up answers it within this test
  fetch.min_bytes = 1;
  fetch.isolation_level = 1;
  fetch.topics = {{"t", {{0, -1, 0, -1, 1 << 20}}}};
  std::optional<Reply> fetched;
  Send(4, fetch, &fetched);
  EXPECT_FALSE(fetched.has_value()) << "nothing is committed yet: the fetch waits";

  std::optional<Reply> ended;
  Send(1, EndTxnRequest{"x", pid, epoch, true}, &ended);
  ASSERT_TRUE(ended.has_value());
  ASSERT_TRUE(fetched.has_value()) << "the COMMIT marker did not wake the parked fetch";
  EXPECT_NE(fetched->frame.find("committed-value"), std::string::npos)
      << "the committed record is returned";
  handler_->Shutdown();
}

}  // namespace
}  // namespace sluice::kafka
