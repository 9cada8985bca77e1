#include "runtime/job.h"

#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <signal.h>

#include <filesystem>

#include "core/log.h"
#include "runtime/planner.h"
#include "runtime/state_db.h"
#include "runtime/stream_task.h"

namespace sluice {
namespace {

std::atomic<bool> g_signal_stop{false};
// How long a task with work runs batch after batch before the round ends.
constexpr std::chrono::milliseconds kTimeSlice{5};

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
    SLUICE_ASSIGN_OR_RETURN(plan_, PlanInLog(topology_, options_.application_id, log_));
    plan_text_ = plan_.Describe();
    std::vector<std::string> stores;
    for (const auto& s : topology_.stores()) stores.push_back(s.name);
    std::string dir =
        (std::filesystem::path(options_.state_dir) / options_.application_id).string();
    SLUICE_ASSIGN_OR_RETURN(db_, StateDb::Open(dir, stores, options_.state_env));
    SLUICE_RETURN_IF_ERROR(CheckApplication());
    for (const auto& t : plan_.tasks) {
      tasks_.push_back(
          std::make_unique<StreamTask>(t.id, topology_, plan_, options_, log_, db_.get()));
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
    if (!found) {
      rocksdb::WriteBatch wb;
      wb.Put(db_->meta(), std::string(kAppKey), options_.application_id).PermitUncheckedError();
      SLUICE_RETURN_IF_ERROR(db_->Write(&wb, true));
    }
    return Status::Ok();
  }

  void Run() {
    tbb::task_arena arena(options_.threads);
    std::vector<Status> statuses(tasks_.size());
    std::vector<char> worked(tasks_.size(), 0);
    std::unique_ptr<tbb::flow::graph> graph;
    std::vector<std::unique_ptr<tbb::flow::function_node<int>>> nodes;
    arena.execute([&] {
      graph = std::make_unique<tbb::flow::graph>();
      for (size_t i = 0; i < tasks_.size(); ++i) {
        nodes.push_back(std::make_unique<tbb::flow::function_node<int>>(
            *graph, tbb::flow::serial, [&, i](int final_round) {
              if (final_round) {
                statuses[i] = tasks_[i]->Commit();
                return tbb::flow::continue_msg();
              }
              // A task with work keeps its thread for a time slice of batches, so a round is
              // not one batch per task: with one batch, a round's barrier left a thread idle
              // whenever tasks' batches differed in cost, and 2 threads barely beat 1.
              const auto until = std::chrono::steady_clock::now() + kTimeSlice;
              bool any = false, w = false;
              do {
                w = false;
                statuses[i] = tasks_[i]->RunBatch(&w);
                any = any || w;
              } while (statuses[i].ok() && w && !stop_.load(std::memory_order_relaxed) &&
                       !g_signal_stop.load(std::memory_order_relaxed) &&
                       std::chrono::steady_clock::now() < until);
              worked[i] = any;
              return tbb::flow::continue_msg();
            }));
      }
    });
    auto round = [&](int final_round) {
      arena.execute([&] {
        for (auto& n : nodes) n->try_put(final_round);
        graph->wait_for_all();
      });
      for (const Status& s : statuses) {
        if (!s.ok()) return s;
      }
      return Status::Ok();
    };
    Status result;
    while (!stop_.load() && !g_signal_stop.load()) {
      result = round(0);
      if (!result.ok()) break;
      bool any = false;
      for (char w : worked) any = any || w;
      if (any) continue;
      if (options_.until_end) {
        bool done = true;
        for (const auto& t : tasks_) done = done && t->Finished();
        if (done) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (result.ok()) {
      // Final commit, then a last mirror of the offsets.
      result = round(1);
      for (auto& t : tasks_) {
        if (!result.ok()) break;
        result = t->Commit();
        if (result.ok()) result = t->MirrorOffsets(true);
      }
    }
    arena.execute([&] {
      nodes.clear();
      graph.reset();
    });
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
