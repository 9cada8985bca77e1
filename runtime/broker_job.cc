#include "runtime/broker_job.h"

#include <fmt/format.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "client/log_client.h"
#include "core/partitioner.h"
#include "core/varint.h"
#include "operators/processor_context.h"
#include "operators/task_graph.h"
#include "runtime/changelog.h"
#include "runtime/commit_format.h"
#include "runtime/failpoint.h"
#include "runtime/job_reset.h"
#include "runtime/planner.h"
#include "runtime/state_db.h"
#include "runtime/task_store.h"

namespace sluice {
namespace {

using client::ConsumedRecord;
using client::LogClient;
using client::LogConsumer;
using client::LogProducer;
using Offsets = std::map<TopicPartition, Offset>;

// State keys of a job run over a broker (column family __sluice_meta), per task (s, p). Values
// start with a format byte; integers are zig-zag varlongs, strings a varlong length then bytes.
//   broker/task/<s>_<p>/commit   'T', n, offsets of commit n, offsets of commit n-1, where
//                                offsets = count, count x (topic, partition, next offset)
//   broker/task/<s>_<p>/outbox/<16-digit chunk>
//                                'B', count, count x (topic, partition, key, value (length -1:
//                                a tombstone), timestamp): the records the task sent in commit n,
//                                in publish order
constexpr std::string_view kTaskPrefix = "broker/task/";
// The one commit record of state written before tasks committed on their own (refused).
constexpr std::string_view kOldCommitKey = "broker/commit";
constexpr char kCommitFormat = 'T';
constexpr char kOutboxFormat = 'B';
// The `exchange` key of a broker job's state: neither an embedded job (its offsets live in the
// embedded log) nor the other way round may run on it.
constexpr std::string_view kBrokerExchange = "broker";
// An outbox chunk is cut at about this many bytes.
constexpr size_t kChunkBytes = 256 << 10;

void PutOffsets(std::string* out, const Offsets& o) {
  varint::PutVarlong(out, static_cast<int64_t>(o.size()));
  for (const auto& [tp, off] : o) {
    PutString(out, tp.topic);
    varint::PutVarlong(out, tp.partition.value());
    varint::PutVarlong(out, off.value());
  }
}

bool GetOffsets(ValueReader* r, Offsets* o) {
  int64_t n;
  if (!r->Long(&n) || n < 0) return false;
  for (int64_t i = 0; i < n; ++i) {
    std::string topic;
    int64_t p, off;
    if (!r->String(&topic) || !r->Long(&p) || !r->Long(&off)) return false;
    (*o)[TopicPartition{topic, PartitionId(static_cast<int32_t>(p))}] = Offset(off);
  }
  return true;
}

std::string Describe(const Offsets& o) {
  if (o.empty()) return "none";
  std::string s;
  for (const auto& [tp, off] : o) {
    if (!s.empty()) s += ", ";
    s += fmt::format("{}-{}:{}", tp.topic, tp.partition.value(), off.value());
  }
  return s;
}

// One output record of a task, on its way to a topic in the task's transaction.
struct OutRecord {
  std::string topic;
  int32_t partition = 0;
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone (a changelog's deletion)
  Timestamp ts{0};
};

// The group's membership consumer gives up a member that sent no heartbeat for this long; its
// tasks then move to the other instances.
constexpr std::chrono::milliseconds kSessionTimeout{6000};

}  // namespace

class BrokerJob::Impl {
 public:
  Impl(JobOptions options, Topology topology)
      : options_(std::move(options)), topology_(std::move(topology)) {}
  ~Impl() {
    Stop();
    if (thread_.joinable()) thread_.join();
  }

  Status Init();
  void Stop() { stop_.store(true); }
  Status Wait() {
    std::lock_guard<std::mutex> l(wait_mu_);
    if (thread_.joinable()) thread_.join();
    return result_;
  }
  JobMetrics metrics() const {
    JobMetrics m;
    m.records_in = records_in_.load(std::memory_order_relaxed);
    m.records_out = records_out_.load(std::memory_order_relaxed);
    m.lag = lag_.load(std::memory_order_relaxed);
    m.tasks = owned_tasks_.load(std::memory_order_relaxed);
    m.running = running_.load();
    m.idle_waits = idle_waits_.load(std::memory_order_relaxed);
    m.changelogs = true;
    m.restored_records = restored_records_.load(std::memory_order_relaxed);
    m.restore_ms = restore_ms_.load(std::memory_order_relaxed);
    return m;
  }
  const std::string& plan_description() const { return plan_text_; }

 private:
  // One (stage, partition) owned by this instance: its stores, operator graph, transactional
  // producer, input positions, last commit and the records sent since it.
  class Task final : public ProcessorContext {
   public:
    Task(Impl* job, TaskId id) : job_(job), id_(id) {}
    KeyValueStore* store(int i) override { return stores_[i].get(); }
    Status Send(int topic, std::string_view key, std::string_view value, Timestamp ts) override {
      const PlannedTopic& t = job_->plan_.topics[topic];
      const int32_t part = PartitionForKey(key, t.partitions).value();
      outbox_bytes_ += key.size() + value.size() + 16;
      outbox_.push_back({t.log_name, part, std::string(key), std::string(value), ts});
      return Status::Ok();
    }
    // "broker/task/<s>_<p>/"
    std::string Key() const {
      return fmt::format("{}{}_{}/", kTaskPrefix, id_.stage, id_.partition);
    }
    std::string Name() const { return fmt::format("task {}/{}", id_.stage, id_.partition); }

    Impl* job_;
    TaskId id_;
    std::vector<std::unique_ptr<TaskStore>> stores_;  // by topology store index; null if not ours
    std::unique_ptr<TaskGraph> graph_;
    std::unique_ptr<LogProducer> producer_;
    std::vector<TopicPartition> inputs_;  // partition p of each source topic of the stage
    Offsets positions_;                   // next offset per input read so far
    // The last commit: its number, its offsets, the offsets of the one before, its outbox chunks
    // (deleted by the next commit).
    int64_t commit_ = 0;
    Offsets committed_offsets_;
    Offsets before_;
    std::vector<std::string> outbox_keys_;
    std::vector<OutRecord> recovered_outbox_;  // read at recovery (re-published if needed)
    bool found_ = false;                       // the state has a commit of this task
    // Since the last commit.
    std::vector<OutRecord> outbox_;
    size_t outbox_bytes_ = 0;
    bool consumed_ = false;
  };
  // Where a record of an input partition goes.
  struct InputRoute {
    Task* task = nullptr;
    int topic = 0;  // topology topic index
  };

  Status CheckSupported() const;
  Status CheckState();
  Status CreateInternalTopics();
  Status Join();
  Status LoadTask(Task* t);
  Status RecoverTasks(std::vector<std::unique_ptr<Task>> tasks);
  Status RefuseBehind(const Task& t, const Offsets& group) const;
  // Replaces task t's state with its changelogs' and makes `group` its commit.
  Status RestoreFromChangelog(Task& t, const Offsets& group);
  std::vector<StoreChangelog> StageChangelogs(int stage) const;
  Status StartPositions(const std::vector<TopicPartition>& tps, bool internal, Offsets* out);
  Status Reassign();
  void OnAssigned(const std::vector<TopicPartition>& tps);
  void OnRevoked(const std::vector<TopicPartition>& tps);
  Status PollMembership(std::chrono::milliseconds timeout);
  void Run();
  Status RunLoop();
  Status Process(const ConsumedRecord& r);
  // Commits every task of `tasks` that consumed something; with `drop_fenced`, a task whose
  // producer was fenced is left uncommitted instead of failing the job.
  Status Commit(const std::vector<Task*>& tasks, bool drop_fenced = false);
  Status CommitAll();
  // Publishes `records` and commits `offsets` to the group in one transaction of `t`.
  Status Publish(Task& t, const std::vector<OutRecord>& records, const Offsets& offsets);
  // The group's committed offsets; `marks`, if given, gets the commit metadata of those of user
  // input topics (a `sluice job reset` leaves its mark there, runtime/job_reset.h).
  Result<Offsets> GroupOffsets(std::vector<std::string>* marks = nullptr);
  Result<bool> AllAtEnd();
  Status RefreshLag();
  std::vector<TopicPartition> OwnedInputs() const;
  bool AnyConsumed() const;
  size_t OutboxBytes() const;

  JobOptions options_;
  Topology topology_;
  Plan plan_;
  std::string plan_text_;
  std::string tasks_topic_;               // <app>-tasks: the group assigns its partitions
  int32_t partitions_ = 0;                // of every stage
  std::unique_ptr<LogClient> client_;     // admin, producers, membership
  std::unique_ptr<LogClient> committed_;  // read_committed reader
  std::unique_ptr<LogConsumer> membership_;
  std::unique_ptr<LogConsumer> reader_;
  std::unique_ptr<StateDb> db_;
  std::vector<StoreChangelog> changelogs_;         // by topology store index
  std::vector<int> store_stage_;                   // by topology store index
  std::map<TaskId, std::unique_ptr<Task>> tasks_;  // owned
  std::map<TopicPartition, InputRoute> routes_;    // input partition of an owned task
  std::map<std::string, int> topic_index_;         // source topic (log name) -> topology index
  Offsets ends_;                                   // until_end: the user inputs' ends at start
  // Rebalance callbacks run inside PollMembership; what they leave to do after it.
  std::vector<int32_t> assigned_;
  Status rebalance_error_;
  std::chrono::steady_clock::time_point last_commit_ = std::chrono::steady_clock::now();

  std::atomic<int64_t> records_in_{0};
  std::atomic<int64_t> records_out_{0};
  std::atomic<int64_t> lag_{0};
  std::atomic<int64_t> idle_waits_{0};
  std::atomic<int> owned_tasks_{0};
  std::atomic<int64_t> restored_records_{0};
  // The state directory was new at this start (CheckState), and the reprocess-from bound of a
  // reset to a time (RecordStartOfRun).
  bool fresh_state_ = false;
  Timestamp reprocess_from_{kMinWatermark};
  std::atomic<int64_t> restore_ms_{0};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::mutex wait_mu_;
  Status result_;
};

std::string BrokerJob::TransactionalId(const std::string& application_id, TaskId task) {
  return fmt::format("{}-{}_{}", application_id, task.stage, task.partition);
}

std::string BrokerJob::TasksTopic(const std::string& application_id) {
  return application_id + "-tasks";
}

Status BrokerJob::Impl::CheckSupported() const {
  for (size_t t = 0; t < topology_.topics().size(); ++t) {
    const auto& topic = topology_.topics()[t];
    if (topic.internal) continue;
    if (!topic.source_nodes.empty() && topology_.CarriesWatermark(static_cast<int>(t))) {
      return InvalidArgument(
          "application '{}': the job uses event time (windows, dedup, top-N or similar), which "
          "running over a broker does not carry yet; run it on the embedded log (without "
          "--bootstrap-server)",
          options_.application_id);
    }
    if (topology_.IsTableBesideStream(static_cast<int>(t))) {
      return InvalidArgument(
          "application '{}': table '{}' beside a stream needs the table bootstrap, which running "
          "over a broker does not do yet; run it on the embedded log (without --bootstrap-server)",
          options_.application_id, topic.name);
    }
  }
  if (options_.guarantee != ProcessingGuarantee::kExactlyOnce) {
    return InvalidArgument(
        "application '{}': over a broker a job runs exactly-once only; drop --at-least-once",
        options_.application_id);
  }
  if (options_.log != nullptr) {
    return InvalidArgument("JobOptions: give either log or bootstrap_servers, not both");
  }
  return Status::Ok();
}

Status BrokerJob::Impl::Init() {
  if (options_.application_id.empty()) {
    return InvalidArgument(
        "JobOptions.application_id is empty; give the job an id (it names its state, "
        "transactional ids and consumer group)");
  }
  SLUICE_RETURN_IF_ERROR(
      ValidateGroupId(options_.application_id).WithContext("JobOptions.application_id"));
  SLUICE_RETURN_IF_ERROR(CheckSupported());

  client::ClientOptions co;
  co.bootstrap_servers = options_.bootstrap_servers;
  co.client_id = "sluice-job-" + options_.application_id;
  co.kafka_config = {{"log_level", "3"}};
  SLUICE_ASSIGN_OR_RETURN(client_, client::OpenLogClient(co));
  co.kafka_config["isolation.level"] = "read_committed";
  SLUICE_ASSIGN_OR_RETURN(committed_, client::OpenLogClient(co));

  // Plan against the broker's topics; repartition topics live on the broker (a task's
  // downstream may run in another instance).
  std::map<std::string, int32_t> existing;
  for (size_t i = 0; i < topology_.topics().size(); ++i) {
    std::string name = topology_.TopicName(static_cast<int>(i), options_.application_id);
    Result<int32_t> n = client_->PartitionCount(name);
    if (n.ok()) {
      existing[name] = *n;
    } else if (n.status().code() != StatusCode::kNotFound) {
      return n.status();
    }
  }
  SLUICE_ASSIGN_OR_RETURN(plan_, MakePlan(topology_, options_.application_id, existing));
  // Owning partition p of <app>-tasks means owning task (s, p) of every stage, so every stage
  // must have the same number of tasks.
  for (size_t s = 0; s < plan_.stage_partitions.size(); ++s) {
    if (partitions_ == 0) partitions_ = plan_.stage_partitions[s];
    if (plan_.stage_partitions[s] != partitions_) {
      return InvalidArgument(
          "application '{}': stage 0 has {} partitions but stage {} has {}; over a broker an "
          "instance owns task p of every stage, so every stage must read topics of the same "
          "partition count. Give the topics the same number of partitions, or run the job on the "
          "embedded log",
          options_.application_id, partitions_, s, plan_.stage_partitions[s]);
    }
  }
  plan_text_ = plan_.Describe();
  for (size_t i = 0; i < plan_.topics.size(); ++i) {
    if (plan_.topics[i].is_source) topic_index_[plan_.topics[i].log_name] = static_cast<int>(i);
  }
  tasks_topic_ = TasksTopic(options_.application_id);
  SLUICE_RETURN_IF_ERROR(CreateInternalTopics());

  std::vector<std::string> stores;
  for (const auto& s : topology_.stores()) stores.push_back(s.name);
  std::string dir = (std::filesystem::path(options_.state_dir) / options_.application_id).string();
  SLUICE_ASSIGN_OR_RETURN(db_, StateDb::Open(dir, stores, options_.state_env));
  SLUICE_RETURN_IF_ERROR(CheckState());
  changelogs_.resize(topology_.stores().size());
  store_stage_.assign(topology_.stores().size(), -1);
  for (size_t st = 0; st < topology_.stages().size(); ++st) {
    for (int s : topology_.stages()[st].stores) {
      changelogs_[s] = {db_->store(s),
                        ChangelogTopic(options_.application_id, topology_.stores()[s].name),
                        plan_.stage_partitions[st]};
      store_stage_[s] = static_cast<int>(st);
    }
  }
  SLUICE_RETURN_IF_ERROR(EnsureChangelogTopics(*client_, changelogs_));
  {
    // A group without any offsets has never committed a transaction, so any changelog record is
    // left from an earlier run of the same application id and would come back on a restore.
    // (Per task this cannot be told: a task that never committed finds its siblings' records.)
    std::vector<std::string> marks;
    SLUICE_ASSIGN_OR_RETURN(Offsets group, GroupOffsets(&marks));
    // The time rules for `sluice job reset --to-time`, and on a fresh state the bound P a reset
    // to a time left in its mark (every task skips windows before it). After a reset the tasks
    // find no commit and an empty changelog (the reset deleted it): they start at the reset's
    // offsets with empty stores.
    SLUICE_RETURN_IF_ERROR(RecordStartOfRun(db_.get(), topology_, fresh_state_, marks));
    SLUICE_ASSIGN_OR_RETURN(reprocess_from_, ReprocessFrom(*db_));
    if (group.empty()) {
      SLUICE_ASSIGN_OR_RETURN(bool stale, AnyChangelogRecord(*committed_, changelogs_));
      if (stale) {
        return InvalidArgument(
            "application '{}': group '{}' has no offsets, but the changelog topics {}-*-changelog "
            "hold records of an earlier run; delete those topics to start over, or give the job "
            "another --app",
            options_.application_id, options_.application_id, options_.application_id);
      }
    }
  }

  if (options_.until_end) {
    std::vector<TopicPartition> user;
    for (const auto& t : plan_.topics) {
      if (!t.is_source || t.internal) continue;
      for (int32_t p = 0; p < t.partitions; ++p) user.push_back({t.log_name, PartitionId(p)});
    }
    SLUICE_ASSIGN_OR_RETURN(ends_, committed_->ListOffsets(user, client::OffsetSpec::Latest()));
  }
  client::ConsumerConfig cc;
  cc.max_poll_records = options_.batch_records;
  cc.isolation = Isolation::kReadCommitted;
  SLUICE_ASSIGN_OR_RETURN(reader_, committed_->NewConsumer(cc));
  SLUICE_RETURN_IF_ERROR(Join());
  running_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

// Creates the repartition topics and <app>-tasks where missing. A Kafka cluster's brokers learn
// of a new topic a moment after CreateTopic returns; Subscribe and Assign wait for that.
Status BrokerJob::Impl::CreateInternalTopics() {
  std::vector<std::pair<std::string, int32_t>> wanted;
  for (const auto& t : plan_.topics) {
    if (t.internal) wanted.emplace_back(t.log_name, t.partitions);
  }
  wanted.emplace_back(tasks_topic_, partitions_);
  for (const auto& [name, parts] : wanted) {
    Result<int32_t> n = client_->PartitionCount(name);
    if (n.ok()) {
      if (*n != parts) {
        return InvalidArgument(
            "application '{}': topic '{}' exists with {} partitions but the job needs {}; reset "
            "the application or delete the topic",
            options_.application_id, name, *n, parts);
      }
      continue;
    }
    if (n.status().code() != StatusCode::kNotFound) return n.status();
    Status s = client_->CreateTopic(name, {.partitions = parts});
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) {
      return s.WithContext(fmt::format("creating topic '{}'", name));
    }
  }
  return Status::Ok();
}

// Joins the group <app> with the membership consumer (subscribed to <app>-tasks); tasks come
// and go in its rebalance callbacks.
Status BrokerJob::Impl::Join() {
  client::ConsumerConfig mc;
  mc.group_id = options_.application_id;
  mc.session_timeout = kSessionTimeout;
  mc.max_poll_records = 1;
  mc.on_assigned = [this](const std::vector<TopicPartition>& tps) { OnAssigned(tps); };
  mc.on_revoked = [this](const std::vector<TopicPartition>& tps) { OnRevoked(tps); };
  SLUICE_ASSIGN_OR_RETURN(membership_, client_->NewConsumer(mc));
  Status s = membership_->Subscribe({tasks_topic_});
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (s.code() == StatusCode::kNotFound && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    s = membership_->Subscribe({tasks_topic_});
  }
  return s.WithContext(fmt::format("application '{}': joining group '{}'", options_.application_id,
                                   options_.application_id));
}

// The state directory must belong to this application and to a job run over a broker.
Status BrokerJob::Impl::CheckState() {
  std::string app, mode;
  bool app_found = false, mode_found = false;
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), kAppKey, &app, &app_found));
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), kExchangeKey, &mode, &mode_found));
  if (app_found && app != options_.application_id) {
    return InvalidArgument("state directory '{}' belongs to application '{}', not '{}'", db_->dir(),
                           app, options_.application_id);
  }
  if (app_found && mode != kBrokerExchange) {
    return InvalidArgument(
        "state directory '{}' of application '{}' was written by a job on the embedded log; its "
        "offsets are not the broker's. Run it without --bootstrap-server, or give this run "
        "another --state directory",
        db_->dir(), options_.application_id);
  }
  std::string old;
  bool old_found = false;
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), kOldCommitKey, &old, &old_found));
  if (old_found) {
    return InvalidArgument(
        "state directory '{}' of application '{}' was written by an earlier version that ran the "
        "job as one instance with one transactional id ('{}-0'); its offsets cannot be split among "
        "the tasks. Finish it with that version, or start over: delete the directory and reset the "
        "group's offsets",
        db_->dir(), options_.application_id, options_.application_id);
  }
  fresh_state_ = !app_found;
  if (!app_found) {
    rocksdb::WriteBatch wb;
    wb.Put(db_->meta(), std::string(kAppKey), options_.application_id).PermitUncheckedError();
    wb.Put(db_->meta(), std::string(kExchangeKey), std::string(kBrokerExchange))
        .PermitUncheckedError();
    SLUICE_RETURN_IF_ERROR(db_->Write(&wb, true));
  }
  return Status::Ok();
}

// Where input partitions without a committed offset start: user topics at JobOptions::start,
// repartition topics at their beginning.
Status BrokerJob::Impl::StartPositions(const std::vector<TopicPartition>& tps, bool internal,
                                       Offsets* out) {
  if (tps.empty()) return Status::Ok();
  client::OffsetSpec spec = internal ? client::OffsetSpec::Earliest()
                            : options_.start == StartPosition::kLatest
                                ? client::OffsetSpec::Latest()
                            : options_.start == StartPosition::kTimestamp
                                ? client::OffsetSpec::ForTime(options_.start_time)
                                : client::OffsetSpec::Earliest();
  SLUICE_ASSIGN_OR_RETURN(Offsets at, client_->ListOffsets(tps, spec));
  for (const auto& [tp, off] : at) (*out)[tp] = off;
  return Status::Ok();
}

// Reads task t's last commit and outbox from the state.
Status BrokerJob::Impl::LoadTask(Task* t) {
  const std::string hint =
      "if the state directory is the wrong one, use the right one; to start over, delete it and "
      "the group's offsets";
  std::string value;
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), t->Key() + "commit", &value, &t->found_));
  if (t->found_) {
    ValueReader r(value);
    char fmt_byte = 0;
    if (!r.Byte(&fmt_byte) || fmt_byte != kCommitFormat || !r.Long(&t->commit_) ||
        !GetOffsets(&r, &t->committed_offsets_) || !GetOffsets(&r, &t->before_) || !r.done()) {
      return Corruption("state directory '{}': the commit record of {} is damaged; {}", db_->dir(),
                        t->Name(), hint);
    }
  }
  bool damaged = false;
  SLUICE_RETURN_IF_ERROR(db_->ScanPrefix(
      db_->meta(), t->Key() + "outbox/", [&](std::string_view key, std::string_view v) {
        t->outbox_keys_.emplace_back(key);
        ValueReader r(v);
        char fmt_byte = 0;
        int64_t n = 0;
        if (!r.Byte(&fmt_byte) || fmt_byte != kOutboxFormat || !r.Long(&n) || n < 0) {
          damaged = true;
          return;
        }
        for (int64_t i = 0; i < n; ++i) {
          OutRecord o;
          int64_t p = 0, ts = 0;
          if (!r.String(&o.topic) || !r.Long(&p) || !r.String(&o.key) || !r.OptString(&o.value) ||
              !r.Long(&ts)) {
            damaged = true;
            return;
          }
          o.partition = static_cast<int32_t>(p);
          o.ts = Timestamp(ts);
          t->recovered_outbox_.push_back(std::move(o));
        }
      }));
  if (damaged) {
    return Corruption("state directory '{}': an outbox entry of {} is damaged; {}", db_->dir(),
                      t->Name(), hint);
  }
  return Status::Ok();
}

// The group's committed offsets. A Kafka cluster answers NOT_COORDINATOR (kUnavailable) while it
// creates or loads the offsets topic for a group it has not seen; that passes, so ask again for a
// while.
Result<Offsets> BrokerJob::Impl::GroupOffsets(std::vector<std::string>* marks) {
  const std::string& app = options_.application_id;
  auto d = client_->DescribeGroup(app);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!d.ok() && d.status().code() == StatusCode::kUnavailable &&
         std::chrono::steady_clock::now() < give_up && !stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    d = client_->DescribeGroup(app);
  }
  if (d.ok()) {
    if (marks != nullptr) {
      for (const auto& [tp, off] : d->committed) {
        auto ti = topic_index_.find(tp.topic);
        if (ti == topic_index_.end() || plan_.topics[ti->second].internal) continue;
        auto m = d->metadata.find(tp);
        marks->push_back(m == d->metadata.end() ? std::string() : m->second);
      }
    }
    return d->committed;
  }
  if (d.status().code() == StatusCode::kNotFound) return Offsets{};
  return d.status().WithContext(fmt::format("reading the offsets of group '{}'", app));
}

// The group is behind the task's state or has other partitions: its offsets were moved outside
// the job, and neither the state nor the changelogs match them.
Status BrokerJob::Impl::RefuseBehind(const Task& t, const Offsets& group) const {
  const std::string& app = options_.application_id;
  return Corruption(
      "application '{}' {}: group '{}' has offsets {} but the state's last commit {} has {} (and "
      "the one before {}): the group is behind the state, so its offsets were moved outside the "
      "job (a reset or deletion) and neither the state nor the changelogs match them; if the "
      "state directory is the wrong one, use the right one; to start over, delete it, the group's "
      "offsets (sluice group reset / kafka-consumer-groups --delete --group {}) and the changelog "
      "topics {}-*-changelog",
      app, t.Name(), app, Describe(group), t.commit_, Describe(t.committed_offsets_),
      Describe(t.before_), app, app);
}

std::vector<StoreChangelog> BrokerJob::Impl::StageChangelogs(int stage) const {
  std::vector<StoreChangelog> out;
  for (int s : topology_.stages()[stage].stores) out.push_back(changelogs_[s]);
  return out;
}

// See runtime/README.md "Changelogs and restore".
Status BrokerJob::Impl::RestoreFromChangelog(Task& t, const Offsets& group) {
  const auto t0 = std::chrono::steady_clock::now();
  {
    // First, durably: no commit, no outbox (they are not the group's). A crash from here on
    // finds no commit of the task and restores it again.
    rocksdb::WriteBatch wb;
    wb.Delete(db_->meta(), t.Key() + "commit").PermitUncheckedError();
    for (const auto& k : t.outbox_keys_) wb.Delete(db_->meta(), k).PermitUncheckedError();
    SLUICE_RETURN_IF_ERROR(db_->Write(&wb, /*sync=*/true).WithContext("restore"));
    t.outbox_keys_.clear();
    t.recovered_outbox_.clear();
  }
  std::vector<StoreChangelog> stores = StageChangelogs(t.id_.stage);
  if (!stores.empty()) {
    RestoreOptions ro;
    ro.stop = &stop_;
    SLUICE_ASSIGN_OR_RETURN(RestoreStats st,
                            RestoreTask(*committed_, *db_, stores, t.id_.partition, ro));
    restored_records_.fetch_add(st.records, std::memory_order_relaxed);
  }
  // The task's state is now the group's: commit (n, G, G), so it resumes from G.
  std::string commit(1, kCommitFormat);
  varint::PutVarlong(&commit, t.commit_);
  PutOffsets(&commit, group);
  PutOffsets(&commit, group);
  rocksdb::WriteBatch wb;
  wb.Put(db_->meta(), t.Key() + "commit", commit).PermitUncheckedError();
  SLUICE_RETURN_IF_ERROR(db_->Write(&wb, /*sync=*/true).WithContext("restore"));
  t.committed_offsets_ = group;
  t.before_ = group;
  t.found_ = true;
  restore_ms_.fetch_add(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count(),
      std::memory_order_relaxed);
  return Status::Ok();
}

// See runtime/README.md "The exactly-once protocol over a broker", recovery.
Status BrokerJob::Impl::RecoverTasks(std::vector<std::unique_ptr<Task>> tasks) {
  FailPoint("during_recovery");
  const std::string& app = options_.application_id;
  // Fence every earlier owner of each task: its open transaction is aborted, a commit it had
  // already asked for completes. Only after this are the group's offsets of the task final.
  for (auto& t : tasks) {
    SLUICE_RETURN_IF_ERROR(LoadTask(t.get()));
    client::ProducerConfig pc;
    pc.transactional_id = TransactionalId(app, t->id_);
    pc.linger = std::chrono::milliseconds(5);
    SLUICE_ASSIGN_OR_RETURN(t->producer_, client_->NewProducer(pc));
    SLUICE_RETURN_IF_ERROR(t->producer_->InitTransactions().WithContext(
        fmt::format("application '{}': initialising transactional id '{}'", app,
                    TransactionalId(app, t->id_))));
  }
  SLUICE_ASSIGN_OR_RETURN(Offsets all, GroupOffsets());
  for (auto& t : tasks) {
    Offsets group;
    for (const auto& tp : t->inputs_) {
      if (auto it = all.find(tp); it != all.end()) group[tp] = it->second;
    }
    // The state of the task is older than the group's: every input the state has an offset for,
    // the group has at least as far (and the two differ).
    auto state_behind = [&] {
      for (const auto& [tp, off] : t->committed_offsets_) {
        auto it = group.find(tp);
        if (it == group.end() || it->second < off) return false;
      }
      return true;
    };
    if (group == t->committed_offsets_) {
      // Commit n's transaction committed (or there was none yet): its outbox is published.
    } else if (t->found_ && group == t->before_) {
      // Commit n's transaction never committed; InitTransactions aborted whatever of it reached
      // the broker. Publish the outbox and the offsets again, in a new transaction.
      FailPoint("before_republish");
      SLUICE_RETURN_IF_ERROR(Publish(*t, t->recovered_outbox_, t->committed_offsets_)
                                 .WithContext(fmt::format(
                                     "application '{}' {}: re-publishing the outputs of commit {}",
                                     app, t->Name(), t->commit_)));
    } else if (!t->found_ || state_behind()) {
      // The task's state is missing here, or older than what the group committed (it ran on
      // another instance since): its changelogs hold the state of the group's last transaction.
      SLUICE_RETURN_IF_ERROR(RestoreFromChangelog(*t, group));
    } else {
      return RefuseBehind(*t, group);
    }
    t->recovered_outbox_.clear();
    // Read from the committed offsets, the rest from where a new partition starts.
    std::vector<TopicPartition> fresh_user, fresh_internal;
    for (const auto& tp : t->inputs_) {
      if (t->committed_offsets_.contains(tp)) continue;
      (plan_.topics[topic_index_.at(tp.topic)].internal ? fresh_internal : fresh_user)
          .push_back(tp);
    }
    t->positions_ = t->committed_offsets_;
    SLUICE_RETURN_IF_ERROR(StartPositions(fresh_user, false, &t->positions_));
    SLUICE_RETURN_IF_ERROR(StartPositions(fresh_internal, true, &t->positions_));
    // The stores are opened after recovery, from what the state holds now.
    t->stores_.resize(topology_.stores().size());
    for (int s : topology_.stages()[t->id_.stage].stores) {
      t->stores_[s] = std::make_unique<TaskStore>(db_.get(), db_->store(s), t->id_.partition);
      SLUICE_RETURN_IF_ERROR(t->stores_[s]->Init());
    }
    t->set_reprocess_from(reprocess_from_);
    SLUICE_ASSIGN_OR_RETURN(t->graph_, TaskGraph::Create(topology_, t->id_.stage, t.get()));
    const TaskId id = t->id_;
    tasks_[id] = std::move(t);
  }
  return Reassign();
}

std::vector<TopicPartition> BrokerJob::Impl::OwnedInputs() const {
  std::vector<TopicPartition> out;
  for (const auto& [tp, route] : routes_) out.push_back(tp);
  return out;
}

bool BrokerJob::Impl::AnyConsumed() const {
  for (const auto& [id, t] : tasks_) {
    if (t->consumed_) return true;
  }
  return false;
}

size_t BrokerJob::Impl::OutboxBytes() const {
  size_t n = 0;
  for (const auto& [id, t] : tasks_) n += t->outbox_bytes_;
  return n;
}

// Points the reader at the inputs of the owned tasks, each at its task's position.
Status BrokerJob::Impl::Reassign() {
  routes_.clear();
  for (auto& [id, t] : tasks_) {
    for (const auto& tp : t->inputs_) routes_[tp] = {t.get(), topic_index_.at(tp.topic)};
  }
  owned_tasks_.store(static_cast<int>(tasks_.size()), std::memory_order_relaxed);
  Offsets positions;
  for (const auto& [tp, route] : routes_) positions[tp] = route.task->positions_.at(tp);
  Status s = reader_->AssignAt(positions);
  // A Kafka cluster's brokers learn of a new (repartition) topic a moment after it is created.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (s.code() == StatusCode::kNotFound && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    s = reader_->AssignAt(positions);
  }
  SLUICE_RETURN_IF_ERROR(s);
  return Status::Ok();
}

void BrokerJob::Impl::OnAssigned(const std::vector<TopicPartition>& tps) {
  for (const auto& tp : tps) {
    if (tp.topic == tasks_topic_) assigned_.push_back(tp.partition.value());
  }
}

// Eager rebalancing: the group takes the partitions back before it hands them out again. Every
// task of a revoked partition commits what it did (a fenced one is dropped: its next owner
// recomputes it from the group's offsets) and is closed.
void BrokerJob::Impl::OnRevoked(const std::vector<TopicPartition>& tps) {
  std::vector<Task*> going;
  for (const auto& tp : tps) {
    if (tp.topic != tasks_topic_) continue;
    for (auto& [id, t] : tasks_) {
      if (id.partition == tp.partition.value()) going.push_back(t.get());
    }
  }
  if (going.empty()) return;
  Status s = Commit(going, /*drop_fenced=*/true);
  if (!s.ok() && rebalance_error_.ok()) rebalance_error_ = s.WithContext("committing at a revoke");
  for (Task* t : going) tasks_.erase(t->id_);
  s = Reassign();
  if (!s.ok() && rebalance_error_.ok()) rebalance_error_ = s;
}

// Polls the membership consumer (heartbeats are librdkafka's; the rebalance callbacks run in
// here), then recovers the tasks of newly assigned partitions.
Status BrokerJob::Impl::PollMembership(std::chrono::milliseconds timeout) {
  SLUICE_ASSIGN_OR_RETURN(client::ConsumerRecords ignored, membership_->Poll(timeout));
  (void)ignored;  // <app>-tasks is never written
  SLUICE_RETURN_IF_ERROR(std::exchange(rebalance_error_, Status::Ok()));
  if (assigned_.empty()) return Status::Ok();
  std::vector<std::unique_ptr<Task>> fresh;
  for (int32_t p : std::exchange(assigned_, {})) {
    for (size_t s = 0; s < plan_.stage_partitions.size(); ++s) {
      TaskId id{static_cast<int32_t>(s), p};
      if (tasks_.contains(id)) continue;
      auto t = std::make_unique<Task>(this, id);
      for (int topic : topology_.stages()[s].source_topics) {
        t->inputs_.push_back({plan_.topics[topic].log_name, PartitionId(p)});
      }
      fresh.push_back(std::move(t));
    }
  }
  return RecoverTasks(std::move(fresh));
}

Status BrokerJob::Impl::Process(const ConsumedRecord& r) {
  auto it = routes_.find(*r.tp);
  if (it == routes_.end()) return Status::Ok();  // a partition given up since the fetch
  Task& task = *it->second.task;
  Offset& pos = task.positions_[*r.tp];
  if (r.offset < pos) return Status::Ok();  // fetched before the last seek
  Status s = task.graph_->Process(it->second.topic, r.key, r.value, r.timestamp);
  if (!s.ok()) {
    return s.WithContext(fmt::format("{}: record at offset {} of '{}' partition {}", task.Name(),
                                     r.offset.value(), r.tp->topic, r.tp->partition.value()));
  }
  pos = Offset(r.offset.value() + 1);
  task.consumed_ = true;
  return Status::Ok();
}

Status BrokerJob::Impl::Publish(Task& t, const std::vector<OutRecord>& records,
                                const Offsets& offsets) {
  LogProducer& producer = *t.producer_;
  SLUICE_RETURN_IF_ERROR(producer.BeginTransaction());
  for (const OutRecord& o : records) {
    Record rec{.key = o.key, .value = o.value, .timestamp = o.ts};
    SLUICE_RETURN_IF_ERROR(producer.Send(o.topic, rec, PartitionId(o.partition)));
  }
  if (!offsets.empty()) {
    SLUICE_RETURN_IF_ERROR(producer.SendOffsetsToTransaction(offsets, options_.application_id));
  }
  FailPoint("before_txn_commit");
  SLUICE_RETURN_IF_ERROR(producer.CommitTransaction());
  records_out_.fetch_add(static_cast<int64_t>(records.size()), std::memory_order_relaxed);
  return Status::Ok();
}

// One commit round: (1) one synced RocksDB write of, per task that consumed something, its store
// changes, its outbox, the offsets of this commit and of its last, and its n; (2) per such task,
// one transaction of its outbox and its offsets.
Status BrokerJob::Impl::Commit(const std::vector<Task*>& tasks, bool drop_fenced) {
  std::vector<Task*> due;
  for (Task* t : tasks) {
    if (t->consumed_) due.push_back(t);
  }
  if (due.empty()) return Status::Ok();
  FailPoint("before_commit_write");
  rocksdb::WriteBatch wb;
  for (Task* t : due) {
    for (auto& s : t->stores_) {
      if (s) s->MoveChangesTo(&wb);
    }
  }
  // The store changes are exactly the changelog records of this commit; each goes into the
  // outbox of the task that owns its key (its stage's, its partition's), so it is published in
  // that task's transaction and published again with it.
  SLUICE_ASSIGN_OR_RETURN(std::vector<ChangelogRecord> changes,
                          ChangelogRecordsOf(wb, changelogs_));
  for (ChangelogRecord& c : changes) {
    auto it = tasks_.find(TaskId{store_stage_[c.store], c.partition});
    SLUICE_CHECK(it != tasks_.end());
    it->second->outbox_.push_back({changelogs_[c.store].topic, c.partition, std::move(c.key),
                                   std::move(c.value), kNoTimestamp});
  }
  std::vector<Offsets> offsets(due.size());
  for (size_t i = 0; i < due.size(); ++i) {
    Task& t = *due[i];
    // The task's last transaction committed (Publish returned), so its outbox goes.
    for (const auto& k : t.outbox_keys_) wb.Delete(db_->meta(), k).PermitUncheckedError();
    t.outbox_keys_.clear();
    std::string chunk;
    int64_t in_chunk = 0;
    auto cut = [&] {
      if (in_chunk == 0) return;
      std::string v(1, kOutboxFormat);
      varint::PutVarlong(&v, in_chunk);
      v += chunk;
      std::string key = fmt::format("{}outbox/{:016}", t.Key(), t.outbox_keys_.size());
      wb.Put(db_->meta(), key, v).PermitUncheckedError();
      t.outbox_keys_.push_back(std::move(key));
      chunk.clear();
      in_chunk = 0;
    };
    for (const OutRecord& o : t.outbox_) {
      PutString(&chunk, o.topic);
      varint::PutVarlong(&chunk, o.partition);
      PutString(&chunk, o.key);
      PutOptString(&chunk, o.value);
      varint::PutVarlong(&chunk, o.ts.value());
      ++in_chunk;
      if (chunk.size() >= kChunkBytes) cut();
    }
    cut();
    offsets[i] = t.positions_;
    std::string commit(1, kCommitFormat);
    varint::PutVarlong(&commit, t.commit_ + 1);
    PutOffsets(&commit, offsets[i]);
    PutOffsets(&commit, t.committed_offsets_);
    wb.Put(db_->meta(), t.Key() + "commit", commit).PermitUncheckedError();
  }
  SLUICE_RETURN_IF_ERROR(db_->Write(&wb, /*sync=*/true).WithContext("job commit"));
  for (size_t i = 0; i < due.size(); ++i) {
    Task& t = *due[i];
    ++t.commit_;
    t.before_ = std::exchange(t.committed_offsets_, offsets[i]);
    t.found_ = true;
  }
  FailPoint("after_commit_write");
  last_commit_ = std::chrono::steady_clock::now();
  // The tasks' transactions are independent (each its own producer, records and offsets), so
  // they run side by side: a round costs one transaction's round trips, not one per task.
  auto publish = [&](size_t i) {
    Task& t = *due[i];
    std::vector<OutRecord> records = std::exchange(t.outbox_, {});
    t.outbox_bytes_ = 0;
    t.consumed_ = false;
    Status s = Publish(t, records, offsets[i]);
    if (s.ok()) FailPoint("after_txn_commit");
    return s;
  };
  std::vector<std::future<Status>> others;
  for (size_t i = 1; i < due.size(); ++i) {
    others.push_back(std::async(std::launch::async, publish, i));
  }
  std::vector<Status> results{publish(0)};
  for (auto& f : others) results.push_back(f.get());
  for (size_t i = 0; i < due.size(); ++i) {
    const Status& s = results[i];
    if (!s.ok() && drop_fenced && s.code() == StatusCode::kAborted) continue;
    SLUICE_RETURN_IF_ERROR(
        s.WithContext(fmt::format("{}: publishing commit {}", due[i]->Name(), due[i]->commit_)));
  }
  return Status::Ok();
}

Status BrokerJob::Impl::CommitAll() {
  std::vector<Task*> all;
  for (auto& [id, t] : tasks_) all.push_back(t.get());
  return Commit(all);
}

// until_end: every owned task has read its user inputs to their ends at start and its
// repartition inputs to their current ends (asked only once the rest holds and nothing is
// uncommitted, so the instance's own upstream tasks have published everything), and the group
// has committed every user input to its end at start.
Result<bool> BrokerJob::Impl::AllAtEnd() {
  if (tasks_.empty() || AnyConsumed()) return false;
  std::vector<TopicPartition> internal;
  for (const auto& [tp, route] : routes_) {
    if (plan_.topics[route.topic].internal) {
      internal.push_back(tp);
      continue;
    }
    auto end = ends_.find(tp);
    if (end == ends_.end()) continue;
    SLUICE_ASSIGN_OR_RETURN(Offset at, reader_->Position(tp));
    if (std::max(at, route.task->positions_.at(tp)) < end->second) return false;
  }
  if (!internal.empty()) {
    SLUICE_ASSIGN_OR_RETURN(Offsets ends,
                            committed_->ListOffsets(internal, client::OffsetSpec::Latest()));
    for (const auto& [tp, end] : ends) {
      SLUICE_ASSIGN_OR_RETURN(Offset at, reader_->Position(tp));
      if (std::max(at, routes_.at(tp).task->positions_.at(tp)) < end) return false;
    }
  }
  // This instance's share is done; the job is done only once the group has committed every user
  // input to its end. Until then another member owns the rest — possibly a killed instance whose
  // session has not expired yet, whose tasks then move here (and are processed) before this run
  // may end.
  SLUICE_ASSIGN_OR_RETURN(Offsets group, GroupOffsets());
  for (const auto& [tp, end] : ends_) {
    auto it = group.find(tp);
    const Offset committed = it == group.end() ? Offset(0) : it->second;
    if (committed < end) return false;
  }
  return true;
}

Status BrokerJob::Impl::RefreshLag() {
  if (routes_.empty()) {
    lag_.store(0, std::memory_order_relaxed);
    return Status::Ok();
  }
  auto ends = committed_->ListOffsets(OwnedInputs(), client::OffsetSpec::Latest());
  if (!ends.ok()) return Status::Ok();  // a metric only; the next refresh tries again
  int64_t lag = 0;
  for (const auto& [tp, end] : *ends) {
    auto it = routes_.find(tp);
    if (it == routes_.end()) continue;
    lag += std::max<int64_t>(0, end.value() - it->second.task->positions_.at(tp).value());
  }
  lag_.store(lag, std::memory_order_relaxed);
  return Status::Ok();
}

Status BrokerJob::Impl::RunLoop() {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  auto last_lag = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  while (!stop_.load() && !Job::StopSignalled()) {
    if (tasks_.empty()) {
      // Nothing owned (yet): wait for the group.
      SLUICE_RETURN_IF_ERROR(PollMembership(std::chrono::milliseconds(100)));
      continue;
    }
    SLUICE_RETURN_IF_ERROR(PollMembership(std::chrono::milliseconds(0)));
    if (options_.until_end) {
      SLUICE_ASSIGN_OR_RETURN(bool done, AllAtEnd());
      if (done) break;
    }
    SLUICE_ASSIGN_OR_RETURN(client::ConsumerRecords recs,
                            reader_->Poll(std::chrono::milliseconds(100)));
    FailPoint("after_poll");
    for (const ConsumedRecord& r : recs) SLUICE_RETURN_IF_ERROR(Process(r));
    if (!recs.empty()) {
      records_in_.fetch_add(static_cast<int64_t>(recs.size()), std::memory_order_relaxed);
      FailPoint("after_process");
    } else {
      idle_waits_.fetch_add(1, std::memory_order_relaxed);
    }
    const auto now = std::chrono::steady_clock::now();
    if (AnyConsumed() && (recs.empty() || now - last_commit_ >= options_.commit_interval ||
                          OutboxBytes() >= options_.max_pending_output_bytes)) {
      SLUICE_RETURN_IF_ERROR(CommitAll());
    }
    if (now - last_lag >= std::chrono::seconds(1)) {
      SLUICE_RETURN_IF_ERROR(RefreshLag());
      last_lag = now;
    }
  }
  SLUICE_RETURN_IF_ERROR(CommitAll());
  return RefreshLag();
}

void BrokerJob::Impl::Run() {
  Status s = RunLoop();
  // Leaving the group hands this instance's tasks to the others at once; every task was
  // committed above (or the job failed, and the next owner recovers from the group's offsets).
  if (membership_) {
    tasks_.clear();
    routes_.clear();
    membership_->Close();
    membership_.reset();
  }
  reader_.reset();
  tasks_.clear();
  result_ = s;
  running_ = false;
}

BrokerJob::BrokerJob(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BrokerJob::~BrokerJob() = default;

Result<std::unique_ptr<BrokerJob>> BrokerJob::Start(const JobOptions& options, Topology topology) {
  auto impl = std::make_unique<Impl>(options, std::move(topology));
  SLUICE_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<BrokerJob>(new BrokerJob(std::move(impl)));
}

void BrokerJob::Stop() { impl_->Stop(); }
Status BrokerJob::Wait() { return impl_->Wait(); }
JobMetrics BrokerJob::metrics() const { return impl_->metrics(); }
const std::string& BrokerJob::plan_description() const { return impl_->plan_description(); }

}  // namespace sluice
