// The start/stop protocol every single-threaded part of the service follows
// (inbox writer, outbox sender, scheduler): one named thread running the
// part's loop; Stop() raises a flag the loop checks, wakes it, and joins.
//
// The flag lives under the OWNER's mutex and condition variable, so the
// owner's loop can wait on its own state and the stop request in one
// predicate: `cv_.wait(lock, [&] { return thread_.stopping() || work; })`.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "connectors/util/thread_name.h"

namespace deskbot::service {

class BackgroundThread {
 public:
  BackgroundThread(std::mutex& mu, std::condition_variable& cv) : mu_(mu), cv_(cv) {}
  ~BackgroundThread() { Stop(); }
  BackgroundThread(const BackgroundThread&) = delete;
  BackgroundThread& operator=(const BackgroundThread&) = delete;

  // Runs `loop` on a new thread named `name`. Does nothing while running.
  void Start(std::string name, std::function<void()> loop) {
    std::lock_guard<std::mutex> lock(mu_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
    thread_ = std::thread([name = std::move(name), loop = std::move(loop)] {
      util::NameThisThread(name);
      loop();
    });
  }

  // Asks the loop to stop, wakes it and waits for it. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!running_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    running_ = false;
  }

  // Both read with the owner's mutex held.
  bool running() const { return running_; }
  bool stopping() const { return stopping_; }

 private:
  std::mutex& mu_;
  std::condition_variable& cv_;
  bool running_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace deskbot::service
