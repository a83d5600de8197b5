#include "bot/service/workers.h"

#include <spdlog/spdlog.h>

#include "connectors/util/thread_name.h"

namespace deskbot::service {

InboxWorkers::InboxWorkers(Store& store, Workflow& workflow, WorkerOptions options,
                           std::function<void(const ProcessResult&)> on_processed)
    : store_(store), workflow_(workflow), options_(options), on_processed_(std::move(on_processed)) {
  for (const auto& [name, c] : workflow_.connectors()) names_.push_back(name);
  // 0 threads: events are stored and acknowledged but not processed until a
  // process with workers runs on this store (maintenance; crash tests).
  if (options_.threads < 0) options_.threads = 0;
  if (options_.batch < 1) options_.batch = 1;
}

InboxWorkers::~InboxWorkers() { Stop(); }

void InboxWorkers::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] {
      util::NameThisThread("inbox-worker");
      Run();
    });
}

void InboxWorkers::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!running_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  running_ = false;
}

void InboxWorkers::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void InboxWorkers::Run() {
  for (;;) {
    std::uint64_t seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      seen = wakes_;
    }
    auto claimed = store_.ClaimInbox(names_, options_.batch, NowMs());
    if (!claimed.ok()) spdlog::warn("inbox: claim failed: {}", claimed.status().ToString());
    if (claimed.ok() && !claimed->empty()) {
      // A batch of slow events (questions to a remote model) must not sit
      // claimed behind one thread while others idle: past the time budget
      // the rest go back to pending, for whichever thread claims next.
      const auto deadline = std::chrono::steady_clock::now() + options_.batch_budget;
      bool stopping = false;
      auto stop_or_yield = [&] {
        {
          std::lock_guard<std::mutex> lock(mu_);
          stopping = stopping_;
        }
        return stopping || std::chrono::steady_clock::now() > deadline;
      };
      std::size_t started = 0;
      for (const ProcessResult& r : workflow_.ProcessBatch(*claimed, stop_or_yield, &started))
        if (on_processed_) on_processed_(r);
      if (started < claimed->size()) {
        std::vector<std::int64_t> rest;
        for (std::size_t j = started; j < claimed->size(); ++j) rest.push_back((*claimed)[j].id);
        util::Status st = store_.ReleaseInbox(rest);
        if (!st.ok()) spdlog::warn("inbox: could not release {} event(s): {}", rest.size(), st.ToString());
      }
      if (stopping) return;
      continue;  // there may be more
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.poll, [&] { return stopping_ || wakes_ != seen; });
  }
}

}  // namespace deskbot::service
