// sluice gen clickstream|nexmark: writes deterministic example events into the log.
//
//   sluice gen clickstream --topic clicks --events 100000 --users 500 --pages 100 [--seed S]
//       [--late-fraction F] [--partitions N] [--interval-ms MS] [--start TIME]
//   sluice gen users --topic users --users 500 [--seed S] [--partitions N]
//   sluice gen nexmark --events 1000000 [--seed S] [--rate EVENTS_PER_S] [--partitions N]
//       [--persons T] [--auctions T] [--bids T] [--start TIME]
//
// It writes through client::LogClient: into the data directory itself, or through the process
// that serves it (`sluice serve`, a running `sluice run`) or the broker given with -b.
// Missing topics are created with --partitions (default 4); records are keyed (clickstream by
// user, persons and auctions by id, bids by auction) and stamped with their event time. The
// schemas are in examples/clickstream.h and examples/nexmark.h (and the README).
#include <fmt/format.h>

#include <map>

#include "client/log_client.h"
#include "examples/clickstream.h"
#include "examples/enrich.h"
#include "examples/nexmark.h"
#include "tools/commands.h"
#include "tools/progress.h"
#include "tools/time_parse.h"

namespace sluice::tools {
namespace {

struct GenArgs {
  std::string kind;
  int32_t partitions = 4;
  std::string start;
  examples::ClickstreamOptions click;
  std::string topic;
  examples::NexmarkOptions nexmark;
};

Status EnsureTopic(client::LogClient& log, const std::string& topic, int32_t partitions,
                   bool* created) {
  *created = false;
  Result<int32_t> existing = log.PartitionCount(topic);
  if (existing.ok()) return Status::Ok();
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  SLUICE_RETURN_IF_ERROR(log.CreateTopic(topic, client::TopicSpec{.partitions = partitions}));
  *created = true;
  return Status::Ok();
}

Status Gen(const CliContext& ctx, GenArgs a) {
  if (a.partitions < 1) return UsageError("--partitions must be 1 or more");
  if (!a.start.empty()) {
    Result<Timestamp> t = ParseTime(a.start);
    if (!t.ok()) return UsageError("--start: " + t.status().message());
    a.click.start_ms = a.nexmark.start_ms = t->value();
  }
  std::string err = a.kind == "clickstream" ? examples::Validate(a.click)
                    : a.kind == "nexmark"   ? examples::Validate(a.nexmark)
                    : a.click.users < 1     ? "--users must be 1 or more"
                                            : "";
  if (!err.empty()) return UsageError(err);
  InstallInterruptHandler();
  // Through the LogClient: the data directory itself, or the process serving it (or -b).
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogClient> log, OpenClient(ctx, Access::kCreate));
  std::vector<std::string> topics;
  if (a.kind == "clickstream" || a.kind == "users") {
    topics = {a.topic};
  } else {
    topics = {a.nexmark.persons_topic, a.nexmark.auctions_topic, a.nexmark.bids_topic};
  }
  for (const auto& t : topics) {
    bool created = false;
    SLUICE_RETURN_IF_ERROR(EnsureTopic(*log, t, a.partitions, &created));
    if (created) fmt::print(stderr, "created topic '{}' with {} partitions\n", t, a.partitions);
  }
  client::ProducerConfig po;
  po.linger = std::chrono::milliseconds(50);
  SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<client::LogProducer> producer, log->NewProducer(po));
  Status send_error;
  std::map<std::string, int64_t> per_topic;
  Record rec;
  const int64_t total = a.kind == "clickstream" ? a.click.events
                        : a.kind == "users"     ? a.click.users
                                                : a.nexmark.events;
  ProgressLine progress(fmt::format("gen {}", a.kind), total, "events");
  int64_t sent = 0;
  auto send = [&](const std::string& topic, const examples::GeneratedRecord& g) {
    if (!send_error.ok() || Interrupted()) return;
    rec.key = g.key;
    rec.value = g.value;
    rec.timestamp = g.timestamp;
    send_error = producer->Send(topic, rec);
    if (send_error.ok()) ++per_topic[topic];
    progress.Update(++sent);
  };
  int64_t late = 0;
  if (a.kind == "clickstream") {
    examples::GenerateClickstream(a.click, [&](const examples::GeneratedRecord& g) {
      if (g.made_late) ++late;
      send(a.topic, g);
    });
  } else if (a.kind == "users") {
    examples::GenerateUsers(a.click.users, a.click.seed,
                            [&](const examples::GeneratedRecord& g) { send(a.topic, g); });
  } else {
    examples::GenerateNexmark(a.nexmark,
                              [&](const examples::NexmarkRecord& r) { send(*r.topic, r.record); });
  }
  progress.Clear();
  SLUICE_RETURN_IF_ERROR(send_error);
  SLUICE_RETURN_IF_ERROR(producer->Flush());
  producer.reset();
  for (const auto& t : topics) {
    fmt::print("wrote {} events to '{}'\n", per_topic[t], t);
  }
  if (a.kind == "clickstream") {
    fmt::print("  {} users, {} pages, seed {}, {} events moved {} min back (late)\n", a.click.users,
               a.click.pages, a.click.seed, late, a.click.late_by_ms / 60000);
  }
  if (Interrupted())
    return Status(StatusCode::kAborted, "interrupted; the events above were written");
  return log->Close();
}

}  // namespace

void RegisterGenCommand(CLI::App& app, CliContext& ctx) {
  CLI::App* gen =
      app.add_subcommand("gen", "Generate example events (clickstream, users, nexmark)");
  gen->require_subcommand(1);

  auto c = std::make_shared<GenArgs>();
  c->kind = "clickstream";
  CLI::App* click = gen->add_subcommand(
      "clickstream", "Page views keyed by user (JSON; see the README for the schema)");
  click->add_option("--topic", c->topic, "Topic to write (created if missing)")->required();
  click->add_option("--events", c->click.events, "Number of page views (default 10000)");
  click->add_option("--users", c->click.users, "Number of users (default 100)");
  click->add_option("--pages", c->click.pages, "Number of pages (default 50)");
  click->add_option("--seed", c->click.seed, "Random seed (default 1)");
  click->add_option("--late-fraction", c->click.late_fraction,
                    "Fraction of events 5 minutes late (default 0)");
  click->add_option("--interval-ms", c->click.interval_ms,
                    "Event-time spacing of consecutive events (default 100)");
  click->add_option(
      "--start", c->start,
      "Event time of the first event: epoch ms or ISO-8601 (default 2023-11-14T22:13:20Z)");
  click->add_option("--partitions", c->partitions, "Partitions of a created topic (default 4)");
  click->callback([&ctx, c] { ctx.action = [&ctx, c] { return Gen(ctx, *c); }; });

  auto u = std::make_shared<GenArgs>();
  u->kind = "users";
  CLI::App* users = gen->add_subcommand(
      "users", "A users table for the enrich example: u0..u{N-1} -> country, plan (JSON)");
  users->add_option("--topic", u->topic, "Topic to write (created if missing)")->required();
  users->add_option("--users", u->click.users, "Number of users (default 100)");
  users->add_option("--seed", u->click.seed, "Random seed (default 1)");
  users->add_option("--partitions", u->partitions,
                    "Partitions of a created topic (default 4; match the clicks topic)");
  users->callback([&ctx, u] { ctx.action = [&ctx, u] { return Gen(ctx, *u); }; });

  auto n = std::make_shared<GenArgs>();
  n->kind = "nexmark";
  CLI::App* nex = gen->add_subcommand("nexmark", "NEXMark persons, auctions and bids (JSON)");
  nex->add_option("--events", n->nexmark.events, "Number of events, all kinds (default 100000)");
  nex->add_option("--seed", n->nexmark.seed, "Random seed (default 1)");
  nex->add_option("--rate", n->nexmark.events_per_second,
                  "Events per second of event time (default 10000)");
  nex->add_option("--start", n->start,
                  "Event time of the first event (default 2023-11-14T22:13:20Z)");
  nex->add_option("--persons", n->nexmark.persons_topic, "Persons topic (default persons)");
  nex->add_option("--auctions", n->nexmark.auctions_topic, "Auctions topic (default auctions)");
  nex->add_option("--bids", n->nexmark.bids_topic, "Bids topic (default bids)");
  nex->add_option("--partitions", n->partitions, "Partitions of created topics (default 4)");
  nex->callback([&ctx, n] { ctx.action = [&ctx, n] { return Gen(ctx, *n); }; });
}

}  // namespace sluice::tools
