#include "runtime/broker_job.h"

#include <fmt/format.h>
#include <rocksdb/perf_level.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
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

// State keys of a job run over a broker (column family __sluice_meta). Values start with a
// format byte; integers are zig-zag varlongs, strings a varlong length then bytes.
//   broker/commit                   'T', n, offsets of commit n, offsets of commit n-1, where
//                                   offsets = count, count x (topic, partition, next offset)
//   broker/outbox/<16-digit chunk>  'B', count, count x (topic, partition, key, value, timestamp):
//                                   the output records of commit n, in publish order
constexpr std::string_view kCommitKey = "broker/commit";
constexpr std::string_view kOutboxPrefix = "broker/outbox/";
constexpr char kCommitFormat = 'T';
constexpr char kOutboxFormat = 'B';
// The `exchange` key of a broker job's state: neither an embedded job (its offsets live in the
// embedded log) nor the other way round may run on it.
constexpr std::string_view kBrokerExchange = "broker";
// An outbox chunk is cut at about this many bytes.
constexpr size_t kChunkBytes = 256 << 10;

void PutString(std::string* out, std::string_view s) {
  varint::PutVarlong(out, static_cast<int64_t>(s.size()));
  out->append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view b) : p_(b.data()), end_(b.data() + b.size()) {}
  bool Long(int64_t* v) { return varint::GetVarlong(&p_, end_, v); }
  bool String(std::string* s) {
    int64_t n;
    if (!Long(&n) || n < 0 || n > end_ - p_) return false;
    s->assign(p_, static_cast<size_t>(n));
    p_ += n;
    return true;
  }
  bool Byte(char* c) {
    if (p_ >= end_) return false;
    *c = *p_++;
    return true;
  }
  bool done() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

void PutOffsets(std::string* out, const Offsets& o) {
  varint::PutVarlong(out, static_cast<int64_t>(o.size()));
  for (const auto& [tp, off] : o) {
    PutString(out, tp.topic);
    varint::PutVarlong(out, tp.partition.value());
    varint::PutVarlong(out, off.value());
  }
}

bool GetOffsets(Reader* r, Offsets* o) {
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

// One output record of the job, on its way to a topic in a transaction.
struct OutRecord {
  std::string topic;
  int32_t partition = 0;
  std::string key;
  std::string value;
  Timestamp ts{0};
};

// A record sent to a local (repartition) topic, waiting for the next stage's task.
struct LocalRecord {
  size_t task = 0;
  int topic = 0;
  std::string key;
  std::string value;
  Timestamp ts{0};
};

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
    m.tasks = static_cast<int>(tasks_.size());
    m.running = running_.load();
    m.idle_waits = idle_waits_.load(std::memory_order_relaxed);
    m.changelogs = true;
    m.restored_records = restored_records_.load(std::memory_order_relaxed);
    m.restore_ms = restore_ms_.load(std::memory_order_relaxed);
    return m;
  }
  const std::string& plan_description() const { return plan_text_; }

  // ProcessorContext::Send of task `from`.
  Status Route(int topic, std::string_view key, std::string_view value, Timestamp ts);

 private:
  // One (stage, partition): its stores and operator graph.
  class Task final : public ProcessorContext {
   public:
    Task(Impl* job, TaskId id) : job_(job), id_(id) {}
    KeyValueStore* store(int i) override { return stores_[i].get(); }
    Status Send(int topic, std::string_view key, std::string_view value, Timestamp ts) override {
      return job_->Route(topic, key, value, ts);
    }
    Impl* job_;
    TaskId id_;
    std::vector<std::unique_ptr<TaskStore>> stores_;  // by topology store index; null if not ours
    std::unique_ptr<TaskGraph> graph_;
  };

  Status CheckSupported() const;
  Status CheckState();
  Status Recover();
  // Replaces every task's state with its changelogs' and makes `group` the state's commit.
  Status RestoreFromChangelogs(const Offsets& group);
  Status StartPositions(const std::vector<TopicPartition>& tps, Offsets* out);
  void Run();
  Status RunLoop();
  Status Process(const ConsumedRecord& r);
  Status Drain();
  Status Commit();
  // Publishes `records` and commits `offsets` to the group in one transaction.
  Status Publish(const std::vector<OutRecord>& records, const Offsets& offsets);
  bool AllAtEnd() const;
  Status RefreshLag();
  size_t TaskIndex(int stage, int32_t partition) const {
    return stage_first_task_[stage] + static_cast<size_t>(partition);
  }

  JobOptions options_;
  Topology topology_;
  Plan plan_;
  std::string plan_text_;
  std::unique_ptr<LogClient> client_;     // admin, producer
  std::unique_ptr<LogClient> committed_;  // read_committed consumer
  std::unique_ptr<LogProducer> producer_;
  std::unique_ptr<LogConsumer> consumer_;
  std::unique_ptr<StateDb> db_;
  std::unique_ptr<ChangelogWriter> changelog_;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::vector<size_t> stage_first_task_;
  std::map<std::string, int> topic_index_;  // external source topic -> topology topic index
  std::vector<TopicPartition> inputs_;
  Offsets ends_;  // until_end: the inputs' ends at start

  // Since the last commit.
  std::deque<LocalRecord> local_;
  std::vector<OutRecord> outbox_;
  size_t outbox_bytes_ = 0;
  bool consumed_ = false;
  // The last commit: its number, its offsets, the offsets of the one before.
  int64_t commit_ = 0;
  Offsets committed_offsets_;
  Offsets positions_;                     // next offset per input partition read so far
  std::vector<std::string> outbox_keys_;  // the outbox chunks of the last commit (deleted next)
  std::chrono::steady_clock::time_point last_commit_ = std::chrono::steady_clock::now();

  std::atomic<int64_t> records_in_{0};
  std::atomic<int64_t> records_out_{0};
  std::atomic<int64_t> lag_{0};
  std::atomic<int64_t> idle_waits_{0};
  std::atomic<int64_t> restored_records_{0};
  std::atomic<int64_t> restore_ms_{0};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::mutex wait_mu_;
  Status result_;
};

std::string BrokerJob::TransactionalId(const std::string& application_id) {
  return application_id + "-0";
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
        "transactional id and consumer group)");
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

  // Plan against the broker's topics; repartitions pass in memory (one instance runs every task).
  std::map<std::string, int32_t> existing;
  for (size_t i = 0; i < topology_.topics().size(); ++i) {
    if (topology_.topics()[i].internal) continue;
    std::string name = topology_.TopicName(static_cast<int>(i), options_.application_id);
    Result<int32_t> n = client_->PartitionCount(name);
    if (n.ok()) {
      existing[name] = *n;
    } else if (n.status().code() != StatusCode::kNotFound) {
      return n.status();
    }
  }
  SLUICE_ASSIGN_OR_RETURN(plan_, MakePlan(topology_, options_.application_id, existing));
  for (auto& t : plan_.topics) t.local = t.internal;
  plan_text_ = plan_.Describe();

  std::vector<std::string> stores;
  for (const auto& s : topology_.stores()) stores.push_back(s.name);
  std::string dir = (std::filesystem::path(options_.state_dir) / options_.application_id).string();
  SLUICE_ASSIGN_OR_RETURN(db_, StateDb::Open(dir, stores, options_.state_env));
  SLUICE_RETURN_IF_ERROR(CheckState());
  {
    std::vector<StoreChangelog> changelogs(topology_.stores().size());
    for (size_t st = 0; st < topology_.stages().size(); ++st) {
      for (int s : topology_.stages()[st].stores) {
        changelogs[s] = {db_->store(s),
                         ChangelogTopic(options_.application_id, topology_.stores()[s].name),
                         plan_.stage_partitions[st]};
      }
    }
    SLUICE_RETURN_IF_ERROR(EnsureChangelogTopics(*client_, changelogs));
    changelog_ = std::make_unique<ChangelogWriter>(db_.get(), std::move(changelogs));
  }

  stage_first_task_.assign(plan_.stage_partitions.size(), 0);
  for (size_t i = 0; i < plan_.tasks.size(); ++i) {
    const PlannedTask& pt = plan_.tasks[i];
    if (pt.id.partition == 0) stage_first_task_[pt.id.stage] = i;
    SLUICE_CHECK(i == stage_first_task_[pt.id.stage] + static_cast<size_t>(pt.id.partition));
    auto task = std::make_unique<Task>(this, pt.id);
    task->stores_.resize(topology_.stores().size());
    for (int s : topology_.stages()[pt.id.stage].stores) {
      task->stores_[s] = std::make_unique<TaskStore>(db_.get(), db_->store(s), pt.id.partition);
      SLUICE_RETURN_IF_ERROR(task->stores_[s]->Init());
    }
    SLUICE_ASSIGN_OR_RETURN(task->graph_, TaskGraph::Create(topology_, pt.id.stage, task.get()));
    tasks_.push_back(std::move(task));
  }
  for (size_t i = 0; i < plan_.topics.size(); ++i) {
    const PlannedTopic& t = plan_.topics[i];
    if (!t.is_source || t.internal) continue;
    topic_index_[t.log_name] = static_cast<int>(i);
    for (int32_t p = 0; p < t.partitions; ++p) inputs_.push_back({t.log_name, PartitionId(p)});
  }

  SLUICE_RETURN_IF_ERROR(Recover());
  running_ = true;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
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
  if (!app_found) {
    rocksdb::WriteBatch wb;
    wb.Put(db_->meta(), std::string(kAppKey), options_.application_id).PermitUncheckedError();
    wb.Put(db_->meta(), std::string(kExchangeKey), std::string(kBrokerExchange))
        .PermitUncheckedError();
    SLUICE_RETURN_IF_ERROR(db_->Write(&wb, true));
  }
  return Status::Ok();
}

// Where an input partition without a committed offset starts (JobOptions::start).
Status BrokerJob::Impl::StartPositions(const std::vector<TopicPartition>& tps, Offsets* out) {
  if (tps.empty()) return Status::Ok();
  client::OffsetSpec spec = options_.start == StartPosition::kLatest ? client::OffsetSpec::Latest()
                            : options_.start == StartPosition::kTimestamp
                                ? client::OffsetSpec::ForTime(options_.start_time)
                                : client::OffsetSpec::Earliest();
  SLUICE_ASSIGN_OR_RETURN(Offsets at, client_->ListOffsets(tps, spec));
  for (const auto& [tp, off] : at) (*out)[tp] = off;
  return Status::Ok();
}

// See runtime/README.md "Running over a broker", recovery.
Status BrokerJob::Impl::Recover() {
  FailPoint("during_recovery");
  const std::string app = options_.application_id;
  const std::string hint = fmt::format(
      "if the state directory is the wrong one, use the right one; to start over, delete it, "
      "the group's offsets (sluice group reset / kafka-consumer-groups --delete --group {}) and "
      "the changelog topics {}-*-changelog",
      app, app);
  // The last commit in the state.
  std::string value;
  bool found = false;
  Offsets before;  // offsets of commit n-1
  SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), kCommitKey, &value, &found));
  if (found) {
    Reader r(value);
    char fmt_byte = 0;
    if (!r.Byte(&fmt_byte) || fmt_byte != kCommitFormat || !r.Long(&commit_) ||
        !GetOffsets(&r, &committed_offsets_) || !GetOffsets(&r, &before) || !r.done()) {
      return Corruption("state directory '{}': the broker commit record is damaged; {}", db_->dir(),
                        hint);
    }
  }
  std::vector<OutRecord> outbox;
  SLUICE_RETURN_IF_ERROR(
      db_->ScanPrefix(db_->meta(), kOutboxPrefix, [&](std::string_view key, std::string_view v) {
        outbox_keys_.emplace_back(key);
        Reader r(v);
        char fmt_byte = 0;
        int64_t n = 0;
        if (!r.Byte(&fmt_byte) || fmt_byte != kOutboxFormat || !r.Long(&n)) n = -1;
        for (int64_t i = 0; i < n; ++i) {
          OutRecord o;
          int64_t p = 0, ts = 0;
          if (!r.String(&o.topic) || !r.Long(&p) || !r.String(&o.key) || !r.String(&o.value) ||
              !r.Long(&ts)) {
            outbox_keys_.back() = "";  // marks the damage
            return;
          }
          o.partition = static_cast<int32_t>(p);
          o.ts = Timestamp(ts);
          outbox.push_back(std::move(o));
        }
        if (n < 0) outbox_keys_.back() = "";
      }));
  for (const auto& k : outbox_keys_) {
    if (k.empty()) {
      return Corruption("state directory '{}': an outbox entry is damaged; {}", db_->dir(), hint);
    }
  }
  SLUICE_RETURN_IF_ERROR(changelog_->Load(found));

  // Fence any earlier incarnation: its open transaction is aborted, a commit it had already
  // asked for completes. Only after this are the group's offsets final.
  client::ProducerConfig pc;
  pc.transactional_id = TransactionalId(app);
  pc.linger = std::chrono::milliseconds(5);
  SLUICE_ASSIGN_OR_RETURN(producer_, client_->NewProducer(pc));
  SLUICE_RETURN_IF_ERROR(producer_->InitTransactions().WithContext(fmt::format(
      "application '{}': initialising transactional id '{}'", app, TransactionalId(app))));

  Offsets group;
  std::vector<std::string> marks;  // metadata of the group's input offsets
  {
    // A Kafka cluster answers NOT_COORDINATOR (kUnavailable) while it creates or loads the
    // offsets topic for a group it has not seen; that passes, so ask again for a while.
    auto d = client_->DescribeGroup(app);
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!d.ok() && d.status().code() == StatusCode::kUnavailable &&
           std::chrono::steady_clock::now() < give_up && !stop_.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      d = client_->DescribeGroup(app);
    }
    if (d.ok()) {
      for (const auto& [tp, off] : d->committed) {
        if (!topic_index_.contains(tp.topic)) continue;
        group[tp] = off;
        auto m = d->metadata.find(tp);
        marks.push_back(m == d->metadata.end() ? std::string() : m->second);
      }
    } else if (d.status().code() != StatusCode::kNotFound) {
      return d.status().WithContext(fmt::format("reading the offsets of group '{}'", app));
    }
  }
  // The state is older than the group: every input the state has an offset for, the group has
  // at least as far (and the two differ).
  auto state_behind = [&] {
    for (const auto& [tp, off] : committed_offsets_) {
      auto it = group.find(tp);
      if (it == group.end() || it->second < off) return false;
    }
    return true;
  };
  if (group == committed_offsets_) {
    // Commit n's transaction committed (or there was none yet): its outbox is published.
    if (!found) {
      SLUICE_ASSIGN_OR_RETURN(bool stale, AnyChangelogRecord(*committed_, changelog_->stores()));
      if (stale) {
        return InvalidArgument(
            "application '{}': neither state directory '{}' nor group '{}' has offsets, but the "
            "changelog topics {}-*-changelog hold records of an earlier run; delete those topics "
            "to start over, or give the job another --app",
            app, db_->dir(), app, app);
      }
    }
  } else if (found && group == before) {
    // Commit n's transaction never committed; InitTransactions aborted whatever of it reached
    // the broker. Publish the outbox and the offsets again, in a new transaction.
    FailPoint("before_republish");
    SLUICE_RETURN_IF_ERROR(Publish(outbox, committed_offsets_)
                               .WithContext(fmt::format("application '{}': re-publishing the "
                                                        "outputs of commit {}",
                                                        app, commit_)));
  } else if (!found && !marks.empty() && std::all_of(marks.begin(), marks.end(), IsResetMark)) {
    // `sluice job reset` deleted the state (and the internal topics) and left these offsets
    // (runtime/job_reset.h): start from them; the first commit records them as the offsets of
    // commit 0.
    committed_offsets_ = group;
  } else if (!found || (changelog_->complete() && state_behind())) {
    // The state is missing, or older than what the group committed: the changelogs hold the
    // state of the group's last transaction (runtime/README.md "Changelogs and restore").
    SLUICE_RETURN_IF_ERROR(RestoreFromChangelogs(group));
  } else if (!changelog_->complete()) {
    return Corruption(
        "application '{}': group '{}' has offsets {} but the state's last commit {} has {} (and "
        "the one before {}), and the state was written before changelogs, so they cannot "
        "restore it: the state directory is older or newer than the group; {}",
        app, app, Describe(group), commit_, Describe(committed_offsets_), Describe(before), hint);
  } else {
    return Corruption(
        "application '{}': group '{}' has offsets {} but the state's last commit {} has {} (and "
        "the one before {}): the group is behind the state, so its offsets were moved outside "
        "the job (a reset or deletion) and neither the state nor the changelogs match them; {}",
        app, app, Describe(group), commit_, Describe(committed_offsets_), Describe(before), hint);
  }

  SLUICE_RETURN_IF_ERROR(RecordStartOfRun(db_.get(), topology_, !found, marks));
  SLUICE_ASSIGN_OR_RETURN(Timestamp reprocess_from, ReprocessFrom(*db_));
  for (auto& task : tasks_) task->set_reprocess_from(reprocess_from);

  // Read from the committed offsets, the rest from JobOptions::start.
  client::ConsumerConfig cc;
  cc.max_poll_records = options_.batch_records;
  SLUICE_ASSIGN_OR_RETURN(consumer_, committed_->NewConsumer(cc));
  SLUICE_RETURN_IF_ERROR(consumer_->Assign(inputs_));
  std::vector<TopicPartition> fresh;
  for (const auto& tp : inputs_) {
    if (!committed_offsets_.contains(tp)) fresh.push_back(tp);
  }
  Offsets start = committed_offsets_;
  SLUICE_RETURN_IF_ERROR(StartPositions(fresh, &start));
  for (const auto& [tp, off] : start) SLUICE_RETURN_IF_ERROR(consumer_->Seek(tp, off));
  positions_ = start;
  if (options_.until_end) {
    SLUICE_ASSIGN_OR_RETURN(ends_, committed_->ListOffsets(inputs_, client::OffsetSpec::Latest()));
  }
  return Status::Ok();
}

// See runtime/README.md "Changelogs and restore".
Status BrokerJob::Impl::RestoreFromChangelogs(const Offsets& group) {
  const auto t0 = std::chrono::steady_clock::now();
  {
    // First, durably: no commit, no outbox (they are not the group's). A crash from here on
    // finds no commit and restores again.
    rocksdb::WriteBatch wb;
    wb.Delete(db_->meta(), std::string(kCommitKey)).PermitUncheckedError();
    for (const auto& k : outbox_keys_) wb.Delete(db_->meta(), k).PermitUncheckedError();
    outbox_keys_.clear();
    changelog_->Reset(&wb);
    SLUICE_RETURN_IF_ERROR(db_->Write(&wb, /*sync=*/true).WithContext("restore"));
  }
  RestoreOptions ro;
  ro.stop = &stop_;
  for (auto& task : tasks_) {
    std::vector<StoreChangelog> stores;
    for (int s : topology_.stages()[task->id_.stage].stores) {
      stores.push_back(changelog_->stores()[s]);
    }
    if (stores.empty()) continue;
    SLUICE_ASSIGN_OR_RETURN(RestoreStats st,
                            RestoreTask(*committed_, *db_, stores, task->id_.partition, ro));
    restored_records_.fetch_add(st.records, std::memory_order_relaxed);
    for (auto& s : task->stores_) {
      if (!s) continue;
      s->Discard();  // forget what Init found before the restore
      SLUICE_RETURN_IF_ERROR(s->Init());
    }
  }
  // The state is now the group's: commit (n, G, G), so the run resumes from G.
  std::string commit(1, kCommitFormat);
  varint::PutVarlong(&commit, commit_);
  PutOffsets(&commit, group);
  PutOffsets(&commit, group);
  rocksdb::WriteBatch wb;
  wb.Put(db_->meta(), std::string(kCommitKey), commit).PermitUncheckedError();
  SLUICE_RETURN_IF_ERROR(db_->Write(&wb, /*sync=*/true).WithContext("restore"));
  committed_offsets_ = group;
  restore_ms_.store(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count(),
      std::memory_order_relaxed);
  return Status::Ok();
}

Status BrokerJob::Impl::Route(int topic, std::string_view key, std::string_view value,
                              Timestamp ts) {
  const PlannedTopic& t = plan_.topics[topic];
  const int32_t part = PartitionForKey(key, t.partitions).value();
  if (t.local) {
    for (int node : topology_.topics()[topic].source_nodes) {
      local_.push_back({TaskIndex(topology_.nodes()[node].stage, part), topic, std::string(key),
                        std::string(value), ts});
    }
    return Status::Ok();
  }
  outbox_bytes_ += key.size() + value.size() + 16;
  outbox_.push_back({t.log_name, part, std::string(key), std::string(value), ts});
  return Status::Ok();
}

Status BrokerJob::Impl::Process(const ConsumedRecord& r) {
  auto it = topic_index_.find(r.tp->topic);
  if (it == topic_index_.end()) return Status::Ok();
  const int topic = it->second;
  for (int node : topology_.topics()[topic].source_nodes) {
    Task& task = *tasks_[TaskIndex(topology_.nodes()[node].stage, r.tp->partition.value())];
    Status s = task.graph_->Process(topic, r.key, r.value, r.timestamp);
    if (!s.ok()) {
      return s.WithContext(fmt::format("task {}/{}: record at offset {} of '{}' partition {}",
                                       task.id_.stage, task.id_.partition, r.offset.value(),
                                       r.tp->topic, r.tp->partition.value()));
    }
  }
  positions_[*r.tp] = Offset(r.offset.value() + 1);
  return Status::Ok();
}

// Runs the records the stages sent to local topics through the next stages (which may send
// more), until none is left: a commit never leaves records between stages.
Status BrokerJob::Impl::Drain() {
  while (!local_.empty()) {
    LocalRecord rec = std::move(local_.front());
    local_.pop_front();
    Task& task = *tasks_[rec.task];
    Status s = task.graph_->Process(rec.topic, std::string_view(rec.key),
                                    std::string_view(rec.value), rec.ts);
    if (!s.ok()) {
      return s.WithContext(fmt::format("task {}/{}: record for '{}' (in-memory exchange)",
                                       task.id_.stage, task.id_.partition,
                                       plan_.topics[rec.topic].log_name));
    }
  }
  return Status::Ok();
}

Status BrokerJob::Impl::Publish(const std::vector<OutRecord>& records, const Offsets& offsets) {
  SLUICE_RETURN_IF_ERROR(producer_->BeginTransaction());
  for (const OutRecord& o : records) {
    Record rec{.key = o.key, .value = o.value, .timestamp = o.ts};
    SLUICE_RETURN_IF_ERROR(producer_->Send(o.topic, rec, PartitionId(o.partition)));
  }
  SLUICE_RETURN_IF_ERROR(changelog_->Send(*producer_));
  if (!offsets.empty()) {
    SLUICE_RETURN_IF_ERROR(producer_->SendOffsetsToTransaction(offsets, options_.application_id));
  }
  FailPoint("before_txn_commit");
  SLUICE_RETURN_IF_ERROR(producer_->CommitTransaction());
  records_out_.fetch_add(static_cast<int64_t>(records.size()), std::memory_order_relaxed);
  return Status::Ok();
}

// One commit: (1) one synced RocksDB write of every store change, the outbox, the offsets of
// this commit and of the last, and n; (2) one transaction of the outbox and the offsets.
Status BrokerJob::Impl::Commit() {
  if (!consumed_) return Status::Ok();
  FailPoint("before_commit_write");
  rocksdb::WriteBatch wb;
  for (auto& t : tasks_) {
    for (auto& s : t->stores_) {
      if (s) s->MoveChangesTo(&wb);
    }
  }
  SLUICE_RETURN_IF_ERROR(changelog_->AddToCommit(&wb));
  // The last commit's transaction committed (Publish returned), so its outbox goes.
  for (const auto& k : outbox_keys_) wb.Delete(db_->meta(), k).PermitUncheckedError();
  outbox_keys_.clear();
  const int64_t n = commit_ + 1;
  std::string chunk;
  int64_t in_chunk = 0;
  auto cut = [&] {
    if (in_chunk == 0) return;
    std::string v(1, kOutboxFormat);
    varint::PutVarlong(&v, in_chunk);
    v += chunk;
    std::string key = fmt::format("{}{:016}", kOutboxPrefix, outbox_keys_.size());
    wb.Put(db_->meta(), key, v).PermitUncheckedError();
    outbox_keys_.push_back(std::move(key));
    chunk.clear();
    in_chunk = 0;
  };
  for (const OutRecord& o : outbox_) {
    PutString(&chunk, o.topic);
    varint::PutVarlong(&chunk, o.partition);
    PutString(&chunk, o.key);
    PutString(&chunk, o.value);
    varint::PutVarlong(&chunk, o.ts.value());
    ++in_chunk;
    if (chunk.size() >= kChunkBytes) cut();
  }
  cut();
  Offsets offsets = positions_;
  std::string commit(1, kCommitFormat);
  varint::PutVarlong(&commit, n);
  PutOffsets(&commit, offsets);
  PutOffsets(&commit, committed_offsets_);
  wb.Put(db_->meta(), std::string(kCommitKey), commit).PermitUncheckedError();
  SLUICE_RETURN_IF_ERROR(db_->Write(&wb, /*sync=*/true).WithContext("job commit"));
  commit_ = n;
  committed_offsets_ = offsets;
  FailPoint("after_commit_write");
  std::vector<OutRecord> records = std::exchange(outbox_, {});
  outbox_bytes_ = 0;
  consumed_ = false;
  last_commit_ = std::chrono::steady_clock::now();
  SLUICE_RETURN_IF_ERROR(
      Publish(records, offsets).WithContext(fmt::format("publishing commit {}", n)));
  FailPoint("after_txn_commit");
  return Status::Ok();
}

bool BrokerJob::Impl::AllAtEnd() const {
  for (const auto& [tp, end] : ends_) {
    auto it = positions_.find(tp);
    if (it == positions_.end() || it->second < end) return false;
  }
  return true;
}

Status BrokerJob::Impl::RefreshLag() {
  auto ends = committed_->ListOffsets(inputs_, client::OffsetSpec::Latest());
  if (!ends.ok()) return Status::Ok();  // a metric only; the next refresh tries again
  int64_t lag = 0;
  for (const auto& [tp, end] : *ends) {
    auto it = positions_.find(tp);
    if (it != positions_.end()) lag += std::max<int64_t>(0, end.value() - it->second.value());
  }
  lag_.store(lag, std::memory_order_relaxed);
  return Status::Ok();
}

Status BrokerJob::Impl::RunLoop() {
  rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
  auto last_lag = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  while (!stop_.load() && !Job::StopSignalled()) {
    if (options_.until_end && AllAtEnd()) break;
    SLUICE_ASSIGN_OR_RETURN(client::ConsumerRecords recs,
                            consumer_->Poll(std::chrono::milliseconds(100)));
    FailPoint("after_poll");
    for (const ConsumedRecord& r : recs) SLUICE_RETURN_IF_ERROR(Process(r));
    SLUICE_RETURN_IF_ERROR(Drain());
    if (!recs.empty()) {
      consumed_ = true;
      records_in_.fetch_add(static_cast<int64_t>(recs.size()), std::memory_order_relaxed);
      FailPoint("after_process");
    } else {
      idle_waits_.fetch_add(1, std::memory_order_relaxed);
    }
    const auto now = std::chrono::steady_clock::now();
    if (consumed_ && (recs.empty() || now - last_commit_ >= options_.commit_interval ||
                      outbox_bytes_ >= options_.max_pending_output_bytes)) {
      SLUICE_RETURN_IF_ERROR(Commit());
    }
    if (now - last_lag >= std::chrono::seconds(1)) {
      SLUICE_RETURN_IF_ERROR(RefreshLag());
      last_lag = now;
    }
  }
  SLUICE_RETURN_IF_ERROR(Commit());
  return RefreshLag();
}

void BrokerJob::Impl::Run() {
  Status s = RunLoop();
  consumer_.reset();
  producer_.reset();
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
