// Inbox workers: threads that claim stored inbound events and run each
// through the workflow.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "bot/core/store.h"
#include "bot/service/workflow.h"

namespace deskbot::service {

struct WorkerOptions {
  int threads = 2;                         // 0: store and acknowledge only
  // Events claimed at a time per thread. Big batches make a busy workspace's
  // flood of ignored events cheap (one claim and one "done" transaction per
  // batch); questions in a batch are still processed one at a time.
  int batch = 64;
  // Longest a thread keeps its claimed batch before releasing what it has
  // not started (so slow questions spread over the threads).
  std::chrono::milliseconds batch_budget{100};
  std::chrono::milliseconds poll{1000};    // longest sleep without a wake-up (retries come due)
};

class InboxWorkers {
 public:
  InboxWorkers(Store& store, Workflow& workflow, WorkerOptions options,
               std::function<void(const ProcessResult&)> on_processed);
  ~InboxWorkers();  // Stop()
  InboxWorkers(const InboxWorkers&) = delete;
  InboxWorkers& operator=(const InboxWorkers&) = delete;

  void Start();
  // Each thread finishes the event it is processing; events it claimed but
  // did not start go back to pending (they are processed after a restart).
  void Stop();
  // New events are stored: look now.
  void Wake();

 private:
  void Run();

  Store& store_;
  Workflow& workflow_;
  WorkerOptions options_;
  std::function<void(const ProcessResult&)> on_processed_;
  std::vector<std::string> names_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool running_ = false;
  bool stopping_ = false;
  std::uint64_t wakes_ = 0;  // bumped by Wake(): a thread that saw no work re-checks
  std::vector<std::thread> threads_;
};

}  // namespace deskbot::service
