#include "bot/service/metrics.h"

#include <cstdio>

namespace deskbot::service {
namespace {

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Label values escape backslash, double quote and newline.
std::string EscapeLabel(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Line(std::string& out, const std::string& name, const std::string& labels, const std::string& value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += " " + value + "\n";
}

void Header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds_seconds)
    : bounds_(std::move(bounds_seconds)),
      buckets_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(std::chrono::nanoseconds d) {
  const double s = static_cast<double>(d.count()) / 1e9;
  std::size_t i = 0;
  while (i < bounds_.size() && s > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(d.count() > 0 ? d.count() : 0),
                    std::memory_order_relaxed);
}

void Histogram::Render(std::string& out, const std::string& name) const {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    Line(out, name + "_bucket", "le=\"" + FormatDouble(bounds_[i]) + "\"", std::to_string(cumulative));
  }
  cumulative += buckets_[bounds_.size()].load(std::memory_order_relaxed);
  Line(out, name + "_bucket", "le=\"+Inf\"", std::to_string(cumulative));
  Line(out, name + "_sum", "", FormatDouble(static_cast<double>(sum_ns_.load()) / 1e9));
  Line(out, name + "_count", "", std::to_string(cumulative));
}

void CounterFamily::Add(const std::string& labels, std::uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[labels] += n;
}

std::uint64_t CounterFamily::Get(const std::string& labels) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(labels);
  return it == values_.end() ? 0 : it->second;
}

void CounterFamily::Render(std::string& out, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [labels, v] : values_) Line(out, name, labels, std::to_string(v));
}

Metrics::Metrics()
    : ack_latency({0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                   0.5, 1}),
      suggestion_latency({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}) {}

std::string Metrics::Labels(std::initializer_list<std::pair<const char*, std::string>> labels) {
  std::string out;
  for (const auto& [k, v] : labels) {
    if (!out.empty()) out += ",";
    out += k;
    out += "=\"" + EscapeLabel(v) + "\"";
  }
  return out;
}

void Metrics::CountEvent(const std::string& connector, const std::string& type, std::uint64_t n) {
  events_.Add(Labels({{"connector", connector}, {"type", type}}), n);
}

void Metrics::CountSend(const std::string& connector, const std::string& kind,
                        const std::string& result) {
  sends_.Add(Labels({{"connector", connector}, {"kind", kind}, {"result", result}}));
}

std::uint64_t Metrics::events(const std::string& connector, const std::string& type) const {
  return events_.Get(Labels({{"connector", connector}, {"type", type}}));
}

std::string Metrics::Render(const Gauges& g) const {
  std::string out;
  Header(out, "deskbot_events_total", "counter", "Inbound chat events processed, by type.");
  events_.Render(out, "deskbot_events_total");
  Header(out, "deskbot_outbox_sends_total", "counter", "Outbox send attempts, by result.");
  sends_.Render(out, "deskbot_outbox_sends_total");
  Header(out, "deskbot_ack_latency_seconds", "histogram",
         "Time from receiving an inbound event to its durable write (the ack).");
  ack_latency.Render(out, "deskbot_ack_latency_seconds");
  Header(out, "deskbot_suggestion_latency_seconds", "histogram",
         "Time from receiving a question to posting its suggestion to agents.");
  suggestion_latency.Render(out, "deskbot_suggestion_latency_seconds");
  Header(out, "deskbot_inbox_batches_total", "counter", "Group commits of the inbox writer.");
  Line(out, "deskbot_inbox_batches_total", "", std::to_string(inbox_batches.load()));
  Header(out, "deskbot_inbox_batch_events_total", "counter", "Events written by group commits.");
  Line(out, "deskbot_inbox_batch_events_total", "", std::to_string(inbox_batch_events.load()));

  Header(out, "deskbot_store_up", "gauge", "1 when the store answered this scrape.");
  Line(out, "deskbot_store_up", "", g.store_ok ? "1" : "0");
  if (g.store_ok) {
    const ChatQueueCounts& q = g.queues;
    Header(out, "deskbot_inbox_events", "gauge", "Inbox events by state.");
    Line(out, "deskbot_inbox_events", "state=\"pending\"", std::to_string(q.inbox_pending));
    Line(out, "deskbot_inbox_events", "state=\"processing\"", std::to_string(q.inbox_processing));
    Line(out, "deskbot_inbox_events", "state=\"done\"", std::to_string(q.inbox_done));
    Line(out, "deskbot_inbox_events", "state=\"failed\"", std::to_string(q.inbox_failed));
    Header(out, "deskbot_outbox_messages", "gauge", "Outbox messages by state.");
    Line(out, "deskbot_outbox_messages", "state=\"pending\"", std::to_string(q.outbox_pending));
    Line(out, "deskbot_outbox_messages", "state=\"sending\"", std::to_string(q.outbox_sending));
    Line(out, "deskbot_outbox_messages", "state=\"sent\"", std::to_string(q.outbox_sent));
    Line(out, "deskbot_outbox_messages", "state=\"failed\"", std::to_string(q.outbox_failed));
    Header(out, "deskbot_inbox_depth", "gauge", "Inbox events not processed yet.");
    Line(out, "deskbot_inbox_depth", "", std::to_string(q.inbox_pending + q.inbox_processing));
    Header(out, "deskbot_outbox_depth", "gauge", "Outbox messages not sent yet.");
    Line(out, "deskbot_outbox_depth", "", std::to_string(q.outbox_pending + q.outbox_sending));
    Header(out, "deskbot_suggestions", "gauge", "Suggestions by state.");
    for (std::size_t i = 0; i < kSuggestionStates.size(); ++i)
      Line(out, "deskbot_suggestions",
           Labels({{"state", SuggestionStateName(kSuggestionStates[i].first)}}),
           std::to_string(q.suggestions[i]));
    Header(out, "deskbot_feedback_pairs", "gauge", "Training pairs from approved or edited answers.");
    Line(out, "deskbot_feedback_pairs", "", std::to_string(q.feedback_pairs));
  }
  Header(out, "deskbot_model_info", "gauge", "The model answering questions (version label).");
  Line(out, "deskbot_model_info", Labels({{"version", g.model_version.empty() ? "none" : g.model_version}}),
       g.model_version.empty() ? "0" : "1");
  return out;
}

}  // namespace deskbot::service
