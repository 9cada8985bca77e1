#include "runtime/job.h"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <rocksdb/perf_level.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <utility>

#include "core/log.h"
#include "runtime/flusher.h"
#include "runtime/local_exchange.h"
#include "runtime/planner.h"
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
    flusher_ = std::make_unique<Flusher>();
    for (const auto& t : plan_.tasks) {
      tasks_.push_back(std::make_unique<StreamTask>(t.id, topology_, plan_, options_, log_,
                                                    db_.get(), flusher_.get(), exchange_.get()));
      SLUICE_RETURN_IF_ERROR(tasks_.back()->Init());
    }
    running_ = true;
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  void Stop() { stop_.store(true); }

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
    return m;
  }

  const std::string& plan_description() const { return plan_text_; }

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
    write_ = std::async(std::launch::async, [db = db_.get(), wb = std::move(wb), sync] {
      rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);  // thread-local; we never read them
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

  void Run() {
    tbb::task_arena arena(options_.threads);
    std::vector<Status> statuses(tasks_.size());
    std::vector<char> worked(tasks_.size(), 0);
    // This round's tasks that have not started yet, and those running now.
    std::atomic<int> unstarted{0}, running{0};
    // With a LocalExchange a round runs the stages one after another (a stage's tasks in
    // parallel), each draining what the one before sent it, and the job commits between rounds.
    const bool joint = exchange_ != nullptr;
    std::vector<std::vector<size_t>> phases;  // task indexes per phase
    for (size_t i = 0; i < tasks_.size(); ++i) {
      const size_t phase = joint ? static_cast<size_t>(tasks_[i]->id().stage) : 0;
      if (phases.size() <= phase) phases.resize(phase + 1);
      phases[phase].push_back(i);
    }
    size_t max_phase = 0;
    for (const auto& p : phases) max_phase = std::max(max_phase, p.size());
    const bool may_extend = max_phase <= static_cast<size_t>(options_.threads);
    std::unique_ptr<tbb::flow::graph> graph;
    std::vector<std::unique_ptr<tbb::flow::function_node<int>>> nodes;
    arena.execute([&] {
      graph = std::make_unique<tbb::flow::graph>();
      for (size_t i = 0; i < tasks_.size(); ++i) {
        nodes.push_back(std::make_unique<tbb::flow::function_node<int>>(
            *graph, tbb::flow::serial, [&, i](int final_round) {
              if (final_round) {  // only without a LocalExchange (CommitAll otherwise)
                statuses[i] = tasks_[i]->Commit();
                return tbb::flow::continue_msg();
              }
              // A task with work keeps its thread for a time slice of batches, so a round is
              // not one batch per task: with one batch, a round's barrier left a thread idle
              // whenever tasks' batches differed in cost, and 2 threads barely beat 1.
              unstarted.fetch_sub(1);
              running.fetch_add(1);
              const auto start = std::chrono::steady_clock::now();
              bool any = false, w = false;
              auto more_time = [&] {
                const auto now = std::chrono::steady_clock::now();
                if (now < start + kTimeSlice) return true;
                return may_extend && now < start + kMaxSlice && unstarted.load() == 0 &&
                       running.load() > 1;
              };
              // Input waiting in the exchange is always drained (even when stopping): the
              // commit after the round must not leave records between stages.
              auto go_on = [&] {
                if (joint && tasks_[i]->HasQueuedInput()) return true;
                return !stop_.load(std::memory_order_relaxed) &&
                       !g_signal_stop.load(std::memory_order_relaxed) && more_time() &&
                       !(joint && exchange_->bytes() >= kMaxExchangeBytes);
              };
              do {
                w = false;
                statuses[i] = tasks_[i]->RunBatch(&w);
                any = any || w;
              } while (statuses[i].ok() && w && go_on());
              running.fetch_sub(1);
              worked[i] = any;
              return tbb::flow::continue_msg();
            }));
      }
    });
    auto round = [&](int final_round) {
      for (const auto& phase : phases) {
        unstarted.store(static_cast<int>(phase.size()));
        arena.execute([&] {
          for (size_t i : phase) nodes[i]->try_put(final_round);
          graph->wait_for_all();
        });
        for (const Status& s : statuses) {
          if (!s.ok()) return s;
        }
      }
      return Status::Ok();
    };
    // With a LocalExchange, after a round: publish the commit being written if its write is done,
    // then commit when a task's commit interval passed, its pending output is past the bound, or
    // the round found no work. After an idle round the commit is written and published at once;
    // otherwise its write overlaps the next round.
    auto joint_commit = [&](bool idle) {
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
      return CommitAll(/*wait=*/idle);
    };
    Status result;
    while (!stop_.load() && !g_signal_stop.load()) {
      result = round(0);
      if (!result.ok()) break;
      bool any = false;
      for (char w : worked) any = any || w;
      if (joint) {
        result = joint_commit(!any);
        if (!result.ok()) break;
      }
      if (any) continue;
      if (options_.until_end) {
        bool done = true;
        for (const auto& t : tasks_) done = done && t->Finished();
        if (done) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (result.ok()) {
      // Final commit (every task's in parallel, or the joint one), then a last mirror of the
      // offsets.
      result = joint ? CommitAll(/*wait=*/true) : round(1);
      for (auto& t : tasks_) {
        if (!result.ok()) break;
        result = t->MirrorOffsets(true);
      }
    }
    if (write_.valid()) {
      Status s = write_.get();  // after an error: a write may still be running
      if (result.ok()) result = s;
    }
    arena.execute([&] {
      nodes.clear();
      graph.reset();
    });
    flusher_->Stop();
    result_ = result;
    running_ = false;
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
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::mutex wait_mu_;
  Status result_;
};

Job::Job(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Job::~Job() = default;

Result<std::unique_ptr<Job>> Job::Start(const JobOptions& options, Topology topology) {
  auto impl = std::make_unique<Impl>(options, std::move(topology));
  SLUICE_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Job>(new Job(std::move(impl)));
}

void Job::Stop() { impl_->Stop(); }
Status Job::Wait() { return impl_->Wait(); }
JobMetrics Job::metrics() const { return impl_->metrics(); }
const std::string& Job::plan_description() const { return impl_->plan_description(); }

}  // namespace sluice
