#include "bot/service/scheduler.h"

#include <spdlog/spdlog.h>

#include <exception>


namespace deskbot::service {

using util::Status;

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Add(std::string name, std::chrono::milliseconds interval, std::function<void()> job) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  Job j{std::move(name), interval, std::move(job),
        interval.count() > 0 ? now + interval : std::chrono::steady_clock::time_point::max(), false};
  jobs_.push_back(std::move(j));
}

void Scheduler::Start() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (jobs_.empty()) return;
  }
  thread_.Start("scheduler", [this] { Run(); });
}

void Scheduler::Stop() { thread_.Stop(); }

void Scheduler::Trigger(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Job& j : jobs_)
      if (j.name == name) j.triggered = true;
  }
  cv_.notify_all();
}

void Scheduler::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!thread_.stopping()) {
    auto now = std::chrono::steady_clock::now();
    Job* due = nullptr;
    auto next = std::chrono::steady_clock::time_point::max();
    for (Job& j : jobs_) {
      if (j.triggered || j.next <= now) {
        due = &j;
        break;
      }
      next = std::min(next, j.next);
    }
    if (due == nullptr) {
      auto pred = [this] {
        if (thread_.stopping()) return true;
        for (const Job& j : jobs_)
          if (j.triggered) return true;
        return false;
      };
      if (next == std::chrono::steady_clock::time_point::max()) cv_.wait(lock, pred);
      else cv_.wait_until(lock, next, pred);
      continue;
    }
    due->triggered = false;
    if (due->interval.count() > 0) due->next = now + due->interval;
    std::function<void()> fn = due->fn;
    const std::string name = due->name;
    lock.unlock();
    try {
      fn();
    } catch (const std::exception& e) {
      spdlog::error("scheduler: job {} threw: {}", name, e.what());
    }
    lock.lock();
  }
}

// --- retrain policy ----------------------------------------------------------------

namespace {
constexpr const char* kPairsMark = "retrain.feedback_pairs";
constexpr const char* kTicketsMark = "retrain.tickets";

std::int64_t ParseMark(const std::optional<std::string>& v) {
  if (!v) return 0;
  try {
    return std::stoll(*v);
  } catch (...) {
    return 0;
  }
}
}  // namespace

RetrainPolicy::RetrainPolicy(Store& store, Retrainer* retrainer, RetrainOptions options,
                             std::function<void(const RetrainOutcome&)> on_promoted)
    : store_(store), retrainer_(retrainer), options_(options), on_promoted_(std::move(on_promoted)) {}

void RetrainPolicy::NoteFeedback(std::int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_hint_ += n;
}

bool RetrainPolicy::ShouldTrigger() const {
  std::lock_guard<std::mutex> lock(mu_);
  return retrainer_ != nullptr && options_.every_pairs > 0 && pending_hint_ > 0;
}

util::Result<bool> RetrainPolicy::RunIfDue(bool scheduled) {
  if (retrainer_ == nullptr) return false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_hint_ = 0;
  }
  auto counts = store_.CountChatQueues();
  if (!counts.ok()) return counts.status();
  auto tickets = store_.CountTickets();
  if (!tickets.ok()) return tickets.status();
  auto pairs_mark = store_.GetServiceState(kPairsMark);
  if (!pairs_mark.ok()) return pairs_mark.status();
  auto tickets_mark = store_.GetServiceState(kTicketsMark);
  if (!tickets_mark.ok()) return tickets_mark.status();

  const std::int64_t new_pairs = counts->feedback_pairs - ParseMark(*pairs_mark);
  const bool tickets_changed = *tickets != ParseMark(*tickets_mark);
  RetrainRequest request;
  request.new_feedback_pairs = new_pairs;
  if (options_.every_pairs > 0 && new_pairs >= options_.every_pairs) {
    request.reason = std::to_string(new_pairs) + " new feedback pairs";
  } else if (scheduled && (new_pairs > 0 || tickets_changed)) {
    request.reason = "schedule";
  } else {
    return false;
  }

  spdlog::info("retrain: starting ({})", request.reason);
  auto outcome = retrainer_->Retrain(request);
  if (!outcome.ok()) {
    spdlog::error("retrain: failed: {}", outcome.status().ToString());
    return outcome.status();
  }
  // Marks move only after a retrain that ran to the end (promoted or not), so
  // a failed one is tried again.
  DESK_RETURN_IF_ERROR(store_.SetServiceState(kPairsMark, std::to_string(counts->feedback_pairs)));
  DESK_RETURN_IF_ERROR(store_.SetServiceState(kTicketsMark, std::to_string(*tickets)));
  spdlog::info("retrain: done; {} {}: {}", outcome->model_version,
               outcome->promoted ? "promoted" : "not promoted", outcome->note);
  if (outcome->promoted && on_promoted_) on_promoted_(*outcome);
  return true;
}

}  // namespace deskbot::service
