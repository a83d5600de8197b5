// The outbox sender: one thread that sends stored outbox rows through their
// connectors, oldest first.
//
// A row is marked sent only after the connector's call succeeded (the chat
// accepted the message). Retryable failures (kUnavailable, kIOError) go back
// to pending with exponential backoff; any other failure, or too many
// attempts, marks the row failed with the error (kept for a human).
//
// Before a row is sent AGAIN -- an earlier attempt failed in a way that may
// still have delivered it, or a killed process left it "sending" -- the
// connector is asked ChatConnector::WasDelivered(). A connector that can tell
// makes the send exactly-once; one that cannot is sent again (at least once).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "bot/core/chat.h"
#include "bot/core/store.h"
#include "bot/service/background_thread.h"
#include "bot/service/metrics.h"
#include "bot/service/workflow.h"

namespace deskbot::service {

struct OutboxOptions {
  int max_attempts = 8;
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{300000};
  std::chrono::milliseconds poll{1000};   // longest sleep without a wake-up
  int batch = 16;                         // rows claimed at a time
};

class OutboxSender {
 public:
  OutboxSender(Store& store, ConnectorSet connectors, OutboxOptions options, Metrics* metrics);
  ~OutboxSender();  // Stop()
  OutboxSender(const OutboxSender&) = delete;
  OutboxSender& operator=(const OutboxSender&) = delete;

  // Resolves rows a previous process left "sending" (asks WasDelivered), then
  // sends until Stop().
  void Start();
  // Finishes the row being sent, puts claimed rows not yet attempted back to
  // pending, and stops.
  void Stop();
  // A row was enqueued: look now instead of at the next poll.
  void Wake();

  // One pass on the calling thread (tests, and the thread's loop): resolves
  // left-over "sending" rows, then claims due rows and sends them. Returns how
  // many rows were handled.
  util::Result<int> RunOnce();

 private:
  void Run();
  util::Status Recover();
  void Send(const OutboxRow& row);
  util::Result<std::string> Deliver(ChatConnector& connector, const OutboxRow& row);
  void Retry(const OutboxRow& row, const util::Status& error);

  Store& store_;
  ConnectorSet connectors_;
  std::vector<std::string> names_;
  OutboxOptions options_;
  Metrics* metrics_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool recovered_ = false;  // only touched by the sending thread
  BackgroundThread thread_{mu_, cv_};
};

}  // namespace deskbot::service
