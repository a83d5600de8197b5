// The service's metrics, rendered in the Prometheus text format at /metrics.
//
// Hot paths (the ack of every inbound event) only touch atomics; labelled
// counters, touched once per processed event or sent message, take a mutex.
// Queue depths and suggestion states are read from the store at scrape time,
// so they are right across restarts and processes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bot/core/chat.h"

namespace deskbot::service {

// A histogram of durations with fixed bucket bounds (seconds).
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds_seconds);
  void Observe(std::chrono::nanoseconds d);
  // Appends "<name>_bucket{...}", "<name>_sum", "<name>_count" lines.
  void Render(std::string& out, const std::string& name) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Counters keyed by a label set ("connector=\"slack\",type=\"question\"").
class CounterFamily {
 public:
  void Add(const std::string& labels, std::uint64_t n = 1);
  std::uint64_t Get(const std::string& labels) const;
  void Render(std::string& out, const std::string& name) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> values_;
};

// What /metrics reads at scrape time.
struct Gauges {
  bool store_ok = false;
  ChatQueueCounts queues;
  std::string model_version;  // "" = no model loaded
};

class Metrics {
 public:
  Metrics();

  // Inbound events by connector and type ("question", "verdict", "command",
  // "ignored", "duplicate_question", "undecodable", "duplicate_event").
  void CountEvent(const std::string& connector, const std::string& type, std::uint64_t n = 1);
  // Outbox sends by connector, kind and result ("sent", "retry", "failed").
  void CountSend(const std::string& connector, const std::string& kind, const std::string& result);
  std::uint64_t events(const std::string& connector, const std::string& type) const;

  // Submit -> ack of an inbound event (the durable write of its batch).
  Histogram ack_latency;
  // Question received -> suggestion posted to agents.
  Histogram suggestion_latency;
  std::atomic<std::uint64_t> inbox_batches{0};
  std::atomic<std::uint64_t> inbox_batch_events{0};

  std::string Render(const Gauges& gauges) const;

  // "connector=\"a\",type=\"b\"" with values escaped for the text format.
  static std::string Labels(std::initializer_list<std::pair<const char*, std::string>> labels);

 private:
  CounterFamily events_;
  CounterFamily sends_;
};

}  // namespace deskbot::service
