// A librdkafka producer that says which records the cluster acknowledged.
//
//   cluster_acked_producer BOOTSTRAP TOPIC COUNT PARTITIONS
//
// Produces COUNT records with acks=all and the idempotent producer: record i has key "k<i>",
// value "v<i>" (8 digits) and goes to partition i % PARTITIONS. It paces itself (a 20 ms poll
// every 100 records, so 30000 records take 6 s or more) so that a broker can be killed while
// records are still being produced. Prints one
// line per delivery report, in the order librdkafka reports them:
//   ack PARTITION OFFSET VALUE     the record is written and acknowledged
//   fail VALUE ERROR               the record was not acknowledged
// then "done acked=A failed=F". Exits 0 when every record was reported, 2 on a fatal producer
// error (e.g. the idempotent producer lost its sequence), 3 when records were still
// unreported after the final flush, 1 on bad arguments or setup errors.
#include <librdkafka/rdkafka.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Counts {
  long acked = 0;
  long failed = 0;
};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* opaque) {
  auto* counts = static_cast<Counts*>(opaque);
  std::string value(static_cast<const char*>(msg->payload), msg->len);
  if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::printf("ack %d %lld %s\n", static_cast<int>(msg->partition),
                static_cast<long long>(msg->offset), value.c_str());
    ++counts->acked;
  } else {
    std::printf("fail %s %s\n", value.c_str(), rd_kafka_err2str(msg->err));
    ++counts->failed;
  }
}

void OnError(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
  // Broker disconnects are expected while a broker is down; only fatal errors end the run.
  if (err != RD_KAFKA_RESP_ERR__FATAL) return;
  char fatal[512];
  rd_kafka_resp_err_t code = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
  std::printf("fatal %s: %s (%s)\n", rd_kafka_err2name(code), fatal, reason);
  std::fflush(stdout);
  std::exit(2);
}

bool Set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "acked_producer: %s=%s: %s\n", name, value.c_str(), err);
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s BOOTSTRAP TOPIC COUNT PARTITIONS\n", argv[0]);
    return 1;
  }
  const std::string topic = argv[2];
  const long count = std::atol(argv[3]);
  const int partitions = std::atoi(argv[4]);
  if (count <= 0 || partitions <= 0) {
    std::fprintf(stderr, "acked_producer: COUNT and PARTITIONS must be positive\n");
    return 1;
  }
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // the test reads the reports as they come

  Counts counts;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (!Set(conf, "bootstrap.servers", argv[1]) || !Set(conf, "enable.idempotence", "true") ||
      !Set(conf, "acks", "all") || !Set(conf, "linger.ms", "5") ||
      // Long enough to ride out a broker's loss (fencing takes broker.session.timeout.ms, 9 s),
      // short enough to end a run against a cluster that lost its quorum.
      !Set(conf, "message.timeout.ms", "60000")) {
    return 1;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_conf_set_error_cb(conf, OnError);
  rd_kafka_conf_set_opaque(conf, &counts);
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    std::fprintf(stderr, "acked_producer: %s\n", err);
    return 1;
  }

  char key[32];
  char value[32];
  for (long i = 0; i < count; ++i) {
    int key_len = std::snprintf(key, sizeof(key), "k%ld", i);
    int value_len = std::snprintf(value, sizeof(value), "v%08ld", i);
    while (true) {
      rd_kafka_resp_err_t e =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic.c_str()),
                            RD_KAFKA_V_PARTITION(static_cast<int32_t>(i % partitions)),
                            RD_KAFKA_V_KEY(key, static_cast<size_t>(key_len)),
                            RD_KAFKA_V_VALUE(value, static_cast<size_t>(value_len)),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        std::printf("fail %s %s\n", value, rd_kafka_err2str(e));
        ++counts.failed;
        break;
      }
      rd_kafka_poll(rk, 100);  // the queue is full: wait for delivery reports
    }
    rd_kafka_poll(rk, (i + 1) % 100 == 0 ? 20 : 0);
  }
  rd_kafka_flush(rk, 120 * 1000);
  int unreported = rd_kafka_outq_len(rk);
  std::printf("done acked=%ld failed=%ld unreported=%d\n", counts.acked, counts.failed, unreported);
  rd_kafka_destroy(rk);
  return unreported == 0 ? 0 : 3;
}
