#include "bot/service/workers.h"

#include <spdlog/spdlog.h>

namespace deskbot::service {

InboxWorkers::InboxWorkers(Store& store, Workflow& workflow, WorkerOptions options,
                           std::function<void(const ProcessResult&)> on_processed)
    : store_(store), workflow_(workflow), options_(options), on_processed_(std::move(on_processed)) {
  for (const auto& [name, c] : workflow_.connectors()) names_.push_back(name);
  if (options_.threads < 1) options_.threads = 1;
  if (options_.batch < 1) options_.batch = 1;
}

InboxWorkers::~InboxWorkers() { Stop(); }

void InboxWorkers::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (running_) return;
  running_ = true;
  stopping_ = false;
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { Run(); });
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
      for (std::size_t i = 0; i < claimed->size(); ++i) {
        bool stop;
        {
          std::lock_guard<std::mutex> lock(mu_);
          stop = stopping_;
        }
        if (stop) {
          std::vector<std::int64_t> rest;
          for (std::size_t j = i; j < claimed->size(); ++j) rest.push_back((*claimed)[j].id);
          util::Status st = store_.ReleaseInbox(rest);
          if (!st.ok()) spdlog::warn("inbox: could not release {} event(s): {}", rest.size(), st.ToString());
          return;
        }
        ProcessResult r = workflow_.Process((*claimed)[i]);
        if (on_processed_) on_processed_(r);
      }
      continue;  // there may be more
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.poll, [&] { return stopping_ || wakes_ != seen; });
  }
}

}  // namespace deskbot::service
