#include "runtime/job.h"

#include <rocksdb/perf_level.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <set>
#include <utility>

#include "core/log.h"
#include "core/wake_signal.h"
#include "runtime/broker_job.h"
#include "runtime/flusher.h"
#include "runtime/job_reset.h"
#include "runtime/local_exchange.h"
#include "runtime/planner.h"
#include "runtime/round_scheduler.h"
#include "runtime/state_db.h"
#include "runtime/stream_task.h"

namespace sluice {
namespace {

std::atomic<bool> g_signal_stop{false};
// How long a task with work runs batch after batch before the round ends. When there are no
// more tasks than threads, a task runs on (up to kMaxSlice) while another task of the round still
// runs, since ending would only idle this thread at the round's barrier (a task waiting on a
// commit's fsync held the other thread idle for the length of the fsync). With more tasks than
// threads the round has other work to balance it; measured, extending there made wordcount
// (4 tasks on 2 threads) ~5% slower.
constexpr std::chrono::milliseconds kTimeSlice{5};
constexpr std::chrono::milliseconds kMaxSlice{20};
// With a LocalExchange: the first stage stops its slice once this much waits in the exchange for
// the next stage (bounds memory when a stage fans records out).
constexpr size_t kMaxExchangeBytes = 16 << 20;
// An idle job waits for an append to one of its inputs at most this long before it looks again
// (for its time rules and a stop by signal).
constexpr std::chrono::milliseconds kMaxIdleWait{100};

void OnSignal(int) { g_signal_stop.store(true); }

}  // namespace

void Job::StopOnSignals() {
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

class Job::Impl {
 public:
  Impl(JobOptions options, Topology topology)
      : options_(std::move(options)), topology_(std::move(topology)) {}

  ~Impl() {
    Stop();
    if (thread_.joinable()) thread_.join();
  }

  Status Init() {
    if (options_.application_id.empty()) {
      return InvalidArgument(
          "JobOptions.application_id is empty; give the job an id (it names "
          "its state, repartition topics and offsets)");
    }
    SLUICE_RETURN_IF_ERROR(
        ValidateGroupId(options_.application_id).WithContext("JobOptions.application_id"));
    if (options_.threads < 1) {
      return InvalidArgument("JobOptions.threads is {}; use 1 or more", options_.threads);
    }
    log_ = options_.log;
    if (log_ == nullptr) {
      LogOptions lo;
      lo.data_dir = options_.data_dir;
      lo.lock_holder_label = "sluice job " + options_.application_id;
      SLUICE_ASSIGN_OR_RETURN(owned_log_, Log::Open(lo));
      log_ = owned_log_.get();
    }
    SLUICE_ASSIGN_OR_RETURN(plan_, PlanInLog(topology_, options_.application_id, log_,
                                             options_.exchange == Exchange::kLocal));
    if (std::any_of(plan_.topics.begin(), plan_.topics.end(),
                    [](const PlannedTopic& t) { return t.local; })) {
      exchange_ = std::make_unique<LocalExchange>(plan_);
    }
    plan_text_ = plan_.Describe();
    std::vector<std::string> stores;
    for (const auto& s : topology_.stores()) stores.push_back(s.name);
    std::string dir =
        (std::filesystem::path(options_.state_dir) / options_.application_id).string();
    SLUICE_ASSIGN_OR_RETURN(db_, StateDb::Open(dir, stores, options_.state_env));
    SLUICE_RETURN_IF_ERROR(CheckApplication());
    SLUICE_RETURN_IF_ERROR(
        RecordTimeRules(db_.get(), topology_, log_, options_.application_id));  // job_reset.h
    flusher_ = std::make_unique<Flusher>();
    for (const auto& t : plan_.tasks) {
      tasks_.push_back(std::make_unique<StreamTask>(t.id, topology_, plan_, options_, log_,
                                                    db_.get(), flusher_.get(), exchange_.get()));
      SLUICE_RETURN_IF_ERROR(tasks_.back()->Init());
      tasks_.back()->set_commit_latency(&commit_latency_);
    }
    running_ = true;
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() {
    stop_.store(true);
    wake_.Notify();
  }

  Status Wait() {
    std::lock_guard<std::mutex> l(wait_mu_);
    if (thread_.joinable()) thread_.join();
    return result_;
  }

  JobMetrics metrics() const {
    JobMetrics m;
    for (const auto& t : tasks_) {
      m.records_in += t->records_in();
      m.records_out += t->records_out();
      m.lag += t->Lag();
      m.late_records += t->late();
    }
    m.tasks = static_cast<int>(tasks_.size());
    m.running = running_.load();
    m.idle_waits = idle_waits_.load(std::memory_order_relaxed);
    return m;
  }

  const std::string& plan_description() const { return plan_text_; }

  void AppendMetrics(PrometheusText& out) const {
    const std::string& app = options_.application_id;
    auto task_name = [](const StreamTask& t) {
      return fmt::format("{}/{}", t.id().stage, t.id().partition);
    };
    std::vector<std::vector<StreamTask::InputStats>> inputs;
    for (const auto& t : tasks_) inputs.push_back(t->input_stats());
    for (size_t i = 0; i < tasks_.size(); ++i) {
      for (const auto& in : inputs[i]) {
        out.Counter("sluice_job_records_in_total", "Input records processed, by task and topic",
                    {{"app", app}, {"task", task_name(*tasks_[i])}, {"topic", in.topic}},
                    static_cast<double>(in.records));
      }
    }
    for (const auto& t : tasks_) {
      for (const auto& [topic, n] : t->records_out_by_topic()) {
        out.Counter("sluice_job_records_out_total",
                    "Records published to the log, by task and topic (repartitions included)",
                    {{"app", app}, {"task", task_name(*t)}, {"topic", topic}},
                    static_cast<double>(n));
      }
    }
    for (size_t i = 0; i < tasks_.size(); ++i) {
      for (const auto& in : inputs[i]) {
        if (in.internal || in.local) continue;
        out.Gauge("sluice_job_lag_records",
                  "Records of an input partition not yet read (log end - position)",
                  {{"app", app}, {"topic", in.topic}, {"partition", std::to_string(in.partition)}},
                  static_cast<double>(in.lag));
      }
    }
    for (size_t i = 0; i < tasks_.size(); ++i) {
      for (const auto& in : inputs[i]) {
        if (in.local) continue;
        out.Gauge("sluice_job_input_position", "Next offset the job reads in an input partition",
                  {{"app", app}, {"topic", in.topic}, {"partition", std::to_string(in.partition)}},
                  static_cast<double>(in.position));
      }
    }
    for (const auto& t : tasks_) {
      out.Counter("sluice_job_late_records_total",
                  "Records dropped as late by windows and joins (written to a late topic where "
                  "the operator has one)",
                  {{"app", app}, {"task", task_name(*t)}}, static_cast<double>(t->late()));
    }
    out.Histogram("sluice_job_commit_seconds",
                  "Commit latency: state and offsets written (fsynced with exactly-once) and "
                  "outputs published",
                  {{"app", app}}, commit_latency_.Read());
    out.Gauge("sluice_job_state_bytes",
              "Estimated size of the job's state: RocksDB live data plus memtables", {{"app", app}},
              static_cast<double>(db_->EstimatedBytes()));
    out.Gauge("sluice_job_restored_records",
              "Records replayed into state from a changelog since start (0: nothing restored)",
              {{"app", app}}, static_cast<double>(restored_records_.load()));
    out.Gauge("sluice_job_tasks", "Tasks of the job", {{"app", app}},
              static_cast<double>(tasks_.size()));
    out.Gauge("sluice_job_running", "1 while the job runs", {{"app", app}},
              running_.load() ? 1 : 0);
  }

 private:
  // The state directory must belong to this application.
  Status CheckApplication() {
    std::string app;
    bool found = false;
    SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), kAppKey, &app, &found));
    if (found && app != options_.application_id) {
      return InvalidArgument("state directory '{}' belongs to application '{}', not '{}'",
                             db_->dir(), app, options_.application_id);
    }
    // The exchange mode: switching it on existing state would lose (log -> local: records
    // in repartition topics not yet read) or repeat (local -> log: no offsets for them) records.
    const bool fresh = !found;
    const std::string mode = options_.exchange == Exchange::kLocal ? "local" : "log";
    std::string had;  // the mode the state was written with; "" for fresh state
    SLUICE_RETURN_IF_ERROR(db_->Get(db_->meta(), kExchangeKey, &had, &found));
    if (!found && !fresh) had = "log";  // state from before the key existed
    const bool repartitions = std::any_of(plan_.topics.begin(), plan_.topics.end(),
                                          [](const PlannedTopic& t) { return t.internal; });
    if (repartitions && !had.empty() && had != mode) {
      return InvalidArgument(
          "state directory '{}' of application '{}' was written with exchange={} but the job now "
          "runs with exchange={}; switching would lose or repeat records between its stages. Run "
          "it with exchange={} (sluice run --exchange {}), or reset the application first "
          "(sluice job reset {} --to-earliest)",
          db_->dir(), options_.application_id, had, mode, had, had, options_.application_id);
    }
    if (fresh) {
      rocksdb::WriteBatch wb;
      wb.Put(db_->meta(), std::string(kAppKey), options_.application_id).PermitUncheckedError();
      wb.Put(db_->meta(), std::string(kExchangeKey), mode).PermitUncheckedError();
      SLUICE_RETURN_IF_ERROR(db_->Write(&wb, true));
    }
    return Status::Ok();
  }

  // With a LocalExchange: commits every task with uncommitted work in one RocksDB write (synced
  // with exactly-once), then publishes their outputs. Between rounds, so the exchange is empty.
  // Unless `wait`, the write runs on a thread of its own (std::async) while the next round runs,
  // and the outputs are published when FinishWrite finds it done (at the latest, before the next
  // commit), so an output reaches the log only after the write that holds it is durable.
  Status CommitAll(bool wait) {
    SLUICE_RETURN_IF_ERROR(FinishWrite(/*block=*/true));
    std::vector<StreamTask*> due;
    for (auto& t : tasks_) {
      if (t->Uncommitted()) due.push_back(t.get());
    }
    if (due.empty()) return Status::Ok();
    auto wb = std::make_unique<rocksdb::WriteBatch>();
    for (StreamTask* t : due) SLUICE_RETURN_IF_ERROR(t->PrepareCommit(wb.get()));
    last_commit_ = std::chrono::steady_clock::now();
    writing_ = std::move(due);
    const bool sync = options_.guarantee == ProcessingGuarantee::kExactlyOnce;
    write_ = std::async(std::launch::async,
                        [db = db_.get(), wb = std::move(wb), sync, h = &commit_latency_] {
                          rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);  // thread-local
                          ScopedLatency timed(h);
                          return db->Write(wb.get(), sync);
                        });
    return wait ? FinishWrite(/*block=*/true) : Status::Ok();
  }

  // Completes the joint commit being written, if any (and, unless `block`, if its write is done):
  // its tasks publish their outputs.
  Status FinishWrite(bool block) {
    if (!write_.valid()) return Status::Ok();
    if (!block && write_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      return Status::Ok();
    }
    SLUICE_RETURN_IF_ERROR(write_.get().WithContext("job commit"));
    for (StreamTask* t : std::exchange(writing_, {})) SLUICE_RETURN_IF_ERROR(t->FinishCommit());
    return Status::Ok();
  }

  // The driver thread: rounds until stopped (or, with until_end, finished), then the final
  // commit and a last mirror of the offsets.
  void Run() {
    RoundScheduler scheduler(options_.threads, Phases(), tasks_.size());
    may_extend_ = scheduler.max_phase_size() <= static_cast<size_t>(options_.threads);
    WatchInputs(/*watch=*/true);
    Status result = RunRounds(scheduler);
    if (result.ok()) result = FinalCommit(scheduler);
    if (write_.valid()) {
      Status s = write_.get();  // after an error: a write may still be running
      if (result.ok()) result = s;
    }
    WatchInputs(/*watch=*/false);
    flusher_->Stop();
    result_ = result;
    running_ = false;
  }

  // With a LocalExchange a round runs the stages one after another (a stage's tasks in
  // parallel), each draining what the one before sent it, and the job commits between rounds.
  // Otherwise every task is in one phase.
  std::vector<std::vector<size_t>> Phases() const {
    std::vector<std::vector<size_t>> phases;
    for (size_t i = 0; i < tasks_.size(); ++i) {
      const size_t phase = joint() ? static_cast<size_t>(tasks_[i]->id().stage) : 0;
      if (phases.size() <= phase) phases.resize(phase + 1);
      phases[phase].push_back(i);
    }
    return phases;
  }

  bool joint() const { return exchange_ != nullptr; }
  bool StopRequested() const {
    return stop_.load(std::memory_order_relaxed) || g_signal_stop.load(std::memory_order_relaxed);
  }

  // Registers (or removes) wake_ with every log partition the tasks read, so an append there ends
  // an idle wait. (A repartition input is read only where synced; no wake-up is needed for its
  // sync: its writer's next commit, which is work and so no idle round, syncs it if the Flusher
  // has not.)
  void WatchInputs(bool watch) {
    std::set<Partition*> inputs;
    for (const auto& t : tasks_) {
      for (Partition* p : t->InputPartitions()) inputs.insert(p);
    }
    for (Partition* p : inputs) {
      if (watch) {
        p->AddListener(&wake_);
      } else {
        p->RemoveListener(&wake_);
      }
    }
  }

  Status RunRounds(RoundScheduler& scheduler) {
    while (!StopRequested()) {
      // Read before the round: an append during the round makes the wait below return at once.
      const uint64_t seen = wake_.count();
      bool worked = false;
      SLUICE_RETURN_IF_ERROR(Round(scheduler, &worked));
      if (joint()) {
        bool committed = false;
        SLUICE_RETURN_IF_ERROR(JointCommit(/*idle=*/!worked, &committed));
        // A commit after an idle round may leave outbox entries to delete: go round again.
        worked = worked || committed;
      }
      if (worked) continue;
      if (options_.until_end && AllFinished()) break;
      WaitForWork(seen);
    }
    return Status::Ok();
  }

  // One round; *worked is set when any task read records or committed.
  Status Round(RoundScheduler& scheduler, bool* worked) {
    std::vector<char> task_worked(tasks_.size(), 0);
    SLUICE_RETURN_IF_ERROR(scheduler.RunRound([&](size_t i) {
      bool w = false;
      Status s = RunSlice(scheduler, i, &w);
      task_worked[i] = w;
      return s;
    }));
    for (char w : task_worked) *worked = *worked || w;
    return Status::Ok();
  }

  // A task with work keeps its thread for a time slice of batches, so a round is not one batch
  // per task: with one batch, a round's barrier left a thread idle whenever tasks' batches
  // differed in cost, and 2 threads barely beat 1.
  Status RunSlice(const RoundScheduler& scheduler, size_t i, bool* worked) {
    StreamTask& task = *tasks_[i];
    const auto start = std::chrono::steady_clock::now();
    auto more_time = [&] {
      const auto now = std::chrono::steady_clock::now();
      if (now < start + kTimeSlice) return true;
      return may_extend_ && now < start + kMaxSlice && scheduler.unstarted() == 0 &&
             scheduler.running() > 1;
    };
    // Input waiting in the exchange is always drained (even when stopping): the commit after the
    // round must not leave records between stages.
    auto go_on = [&] {
      if (joint() && task.HasQueuedInput()) return true;
      return !StopRequested() && more_time() &&
             !(joint() && exchange_->bytes() >= kMaxExchangeBytes);
    };
    bool w = false;
    Status s;
    do {
      w = false;
      s = task.RunBatch(&w);
      *worked = *worked || w;
    } while (s.ok() && w && go_on());
    return s;
  }

  bool AllFinished() const {
    for (const auto& t : tasks_) {
      if (!t->Finished()) return false;
    }
    return true;
  }

  // Waits for an append to an input since `seen`, a Stop, or
  // a timeout: the time rules (a deferred offset mirror, inputs turning idle after the event-time
  // idle_timeout) and a stop by signal, which cannot notify from its handler, are checked at
  // least every kMaxIdleWait. No commit is due meanwhile: a round without work commits whatever
  // was uncommitted (and counts as work when it does).
  void WaitForWork(uint64_t seen) {
    auto wait = kMaxIdleWait;
    const auto idle = topology_.ShortestIdleTimeout();
    if (idle.count() > 0) wait = std::min<std::chrono::milliseconds>(wait, idle);
    idle_waits_.fetch_add(1, std::memory_order_relaxed);
    wake_.WaitFor(seen, std::chrono::steady_clock::now() + wait);
  }

  // With a LocalExchange, after a round: publish the commit being written if its write is done,
  // then commit when a task's commit interval passed, its pending output is past the bound, or
  // the round found no work. After an idle round the commit is written and published at once;
  // otherwise its write overlaps the next round. *committed is set when a commit started.
  Status JointCommit(bool idle, bool* committed) {
    SLUICE_RETURN_IF_ERROR(FinishWrite(/*block=*/idle));
    bool uncommitted = false, wanted = idle;
    for (const auto& t : tasks_) {
      uncommitted = uncommitted || t->Uncommitted();
      wanted = wanted || t->CommitWanted();
    }
    if (!uncommitted) return Status::Ok();
    if (!wanted && std::chrono::steady_clock::now() - last_commit_ < options_.commit_interval) {
      return Status::Ok();
    }
    *committed = true;
    return CommitAll(/*wait=*/idle);
  }

  // Every task's commit (in parallel, or the joint one), then a last mirror of the offsets.
  Status FinalCommit(RoundScheduler& scheduler) {
    if (joint()) {
      SLUICE_RETURN_IF_ERROR(CommitAll(/*wait=*/true));
    } else {
      SLUICE_RETURN_IF_ERROR(scheduler.RunRound([&](size_t i) { return tasks_[i]->Commit(); }));
    }
    for (auto& t : tasks_) SLUICE_RETURN_IF_ERROR(t->MirrorOffsets(true));
    return Status::Ok();
  }

  JobOptions options_;
  Topology topology_;
  std::unique_ptr<Log> owned_log_;
  Log* log_ = nullptr;
  Plan plan_;
  std::string plan_text_;
  std::unique_ptr<StateDb> db_;
  std::unique_ptr<Flusher> flusher_;         // used by the tasks: declared before them
  std::unique_ptr<LocalExchange> exchange_;  // likewise; null without local topics
  std::future<Status> write_;                // the joint commit being written, if any
  std::vector<StreamTask*> writing_;         // its tasks
  std::chrono::steady_clock::time_point last_commit_ = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<StreamTask>> tasks_;
  // Notified by appends to the tasks' input partitions and by Stop: ends an idle wait.
  WakeSignal wake_;
  std::atomic<int64_t> idle_waits_{0};
  LatencyHistogram commit_latency_;
  // Records replayed into state from changelogs at start (set by a restore; none exists yet).
  std::atomic<int64_t> restored_records_{0};
  bool may_extend_ = false;  // a task's slice may extend (no more tasks in a phase than threads)
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::mutex wait_mu_;
  Status result_;
};

bool Job::StopSignalled() { return g_signal_stop.load(std::memory_order_relaxed); }

Job::Job(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Job::Job(std::unique_ptr<BrokerJob> broker) : broker_(std::move(broker)) {}
Job::~Job() = default;

Result<std::unique_ptr<Job>> Job::Start(const JobOptions& options, Topology topology) {
  if (!options.bootstrap_servers.empty()) {
    for (const auto& t : topology.topics()) {
      if (t.global) {
        return InvalidArgument(
            "the job reads '{}' as a global table, which a job over a broker cannot read yet "
            "(every task would need all its partitions); run it on the embedded log (without "
            "--bootstrap-server), or read the topic with Table(...) and co-partition it",
            t.name);
      }
    }
    // The broker runtime writes no null values yet (its outbox holds values as strings).
    std::vector<int> tombstones = topology.TombstoneTopics();
    if (!tombstones.empty()) {
      return InvalidArgument(
          "the job writes a table's deletes to '{}' as tombstones (records with a null value), "
          "which a job over a broker cannot write yet; run it on the embedded log (without "
          "--bootstrap-server)",
          topology.topics()[tombstones.front()].name);
    }
    SLUICE_ASSIGN_OR_RETURN(auto broker, BrokerJob::Start(options, std::move(topology)));
    std::unique_ptr<Job> job(new Job(std::move(broker)));
    job->application_id_ = options.application_id;
    return job;
  }
  auto impl = std::make_unique<Impl>(options, std::move(topology));
  SLUICE_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Job>(new Job(std::move(impl)));
}

void Job::Stop() { broker_ ? broker_->Stop() : impl_->Stop(); }
Status Job::Wait() { return broker_ ? broker_->Wait() : impl_->Wait(); }
JobMetrics Job::metrics() const { return broker_ ? broker_->metrics() : impl_->metrics(); }
void Job::AppendMetrics(PrometheusText& out) const {
  if (impl_) {
    impl_->AppendMetrics(out);
    return;
  }
  const JobMetrics m = broker_->metrics();
  const std::string& app = application_id_;
  out.Counter("sluice_job_records_in_total", "Input records processed, by task and topic",
              {{"app", app}, {"task", "all"}}, static_cast<double>(m.records_in));
  out.Counter("sluice_job_records_out_total",
              "Records published to the log, by task and topic (repartitions included)",
              {{"app", app}, {"task", "all"}}, static_cast<double>(m.records_out));
  out.Gauge("sluice_job_lag_records",
            "Records of an input partition not yet read (log end - position)",
            {{"app", app}, {"partition", "all"}}, static_cast<double>(m.lag));
  out.Counter("sluice_job_late_records_total",
              "Records dropped as late by windows and joins (written to a late topic where the "
              "operator has one)",
              {{"app", app}, {"task", "all"}}, static_cast<double>(m.late_records));
  out.Gauge("sluice_job_running", "1 while the job runs", {{"app", app}}, m.running ? 1 : 0);
}

const std::string& Job::plan_description() const {
  return broker_ ? broker_->plan_description() : impl_->plan_description();
}

}  // namespace sluice
