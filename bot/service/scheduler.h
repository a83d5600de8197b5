// Periodic jobs (harvest, retrain) on one thread, one at a time, and the
// retrain policy: retrain after every N new feedback pairs and/or on a
// schedule when anything changed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bot/core/store.h"
#include "bot/service/background_thread.h"
#include "connectors/util/status.h"

namespace deskbot::service {

// Runs named jobs every `interval`, and on demand (Trigger), on one thread so
// two jobs never overlap (a harvest and a retrain would fight over the store).
class Scheduler {
 public:
  ~Scheduler();  // Stop()
  // interval 0: only when triggered. Before Start().
  void Add(std::string name, std::chrono::milliseconds interval, std::function<void()> job);
  void Start();
  // Waits for a running job to finish.
  void Stop();
  // Runs the job soon (once, however often it is triggered meanwhile).
  void Trigger(const std::string& name);

 private:
  struct Job {
    std::string name;
    std::chrono::milliseconds interval;
    std::function<void()> fn;
    std::chrono::steady_clock::time_point next;
    bool triggered = false;
  };
  void Run();

  std::vector<Job> jobs_;
  std::mutex mu_;
  std::condition_variable cv_;
  BackgroundThread thread_{mu_, cv_};
};

// --- retraining ------------------------------------------------------------------

struct RetrainRequest {
  std::string reason;                  // "12 new feedback pairs", "schedule"
  std::int64_t new_feedback_pairs = 0;
};

struct RetrainOutcome {
  bool promoted = false;               // a new version now answers (reload it)
  std::string model_version;
  std::string note;                    // why it was (not) promoted
};

// Builds the dataset, trains, evaluates and applies the promotion gate. The
// lead wires the model helper's train + eval + gate behind this.
class Retrainer {
 public:
  virtual ~Retrainer() = default;
  virtual util::Result<RetrainOutcome> Retrain(const RetrainRequest& request) = 0;
};

struct RetrainOptions {
  std::int64_t every_pairs = 0;                  // 0: not by count
  std::chrono::milliseconds interval{0};         // 0: not on a schedule
};

// Decides when to retrain. The feedback-pair count and ticket count at the
// last retrain are kept in the store (service_state), so the count survives a
// restart.
class RetrainPolicy {
 public:
  RetrainPolicy(Store& store, Retrainer* retrainer, RetrainOptions options,
                std::function<void(const RetrainOutcome&)> on_promoted);

  // Retrains if `scheduled` and anything changed since the last retrain, or
  // if at least every_pairs feedback pairs are new. Returns whether it did.
  util::Result<bool> RunIfDue(bool scheduled);
  // New feedback pairs were stored: true when a count-triggered retrain is due.
  bool ShouldTrigger() const;
  void NoteFeedback(std::int64_t n);

  const RetrainOptions& options() const { return options_; }

 private:
  Store& store_;
  Retrainer* retrainer_;
  RetrainOptions options_;
  std::function<void(const RetrainOutcome&)> on_promoted_;
  mutable std::mutex mu_;
  std::int64_t pending_hint_ = 0;  // feedback pairs since the last check (cheap trigger)
};

}  // namespace deskbot::service
