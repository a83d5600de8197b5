// The approval workflow: what one inbound event does.
//
//   question -> the model's suggestion -> shown to agents (and, when the model
//               abstains, "an agent will follow up" to the asker)
//   verdict  -> approve: the suggestion goes to the asker; edit: the agent's
//               text does; reject: the reason is kept and nothing is posted.
//               Approved and edited answers become training pairs, an edit
//               also a preference pair. Only agents may decide; anyone else
//               gets a polite refusal and the attempt is audited. A second
//               decision on a decided suggestion changes nothing.
//
// Each event's effects (question, suggestion, outbox rows, pairs, verdict,
// audit) are written in the one transaction that marks the event done
// (Store::CompleteInbox), so an event is either fully processed or not at all.
// The model is asked BEFORE that transaction, so the store is never locked
// while a model thinks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "bot/core/chat.h"
#include "bot/core/interfaces.h"
#include "bot/core/store.h"
#include "bot/service/metrics.h"

namespace deskbot::service {

// The model answering questions, swappable while the service runs (after a
// retrain promotes a new version). Thread-safe.
class ModelSlot {
 public:
  struct Loaded {
    std::shared_ptr<const AnswerModel> model;  // null: no model (every question abstains)
    std::string version;
  };
  void Set(std::shared_ptr<const AnswerModel> model, std::string version);
  Loaded Get() const;

 private:
  mutable std::mutex mu_;
  Loaded loaded_;
};

// Who may approve, edit or reject: (connector, user id) -> yes/no.
using AgentCheck = std::function<bool(const std::string& connector, const std::string& user)>;
// Agents named in configuration (agents.ids / DESKBOT_AGENTS). An id is a
// user id in any chat ("U0AGENT1"), or "connector:id" for one chat only
// ("webchat:alice").
AgentCheck AgentIds(std::vector<std::string> ids);

// The chats the service talks to, by connector name.
using ConnectorSet = std::map<std::string, ChatConnector*, std::less<>>;

struct WorkflowOptions {
  AgentCheck is_agent;                   // unset: nobody is an agent
  std::string notice_text =
      "Thanks for your question. An agent will look at it and follow up here.";
  std::string refusal_text =
      "Sorry, only help-desk agents can approve, edit or reject suggested answers.";
  int max_attempts = 5;                  // processing attempts before an event is failed
  std::chrono::milliseconds retry_base{1000};  // backoff: base * 2^(attempt-1)
  std::chrono::milliseconds retry_max{60000};
  // Applied to the question and answer of each new training pair (the lead
  // wires the dataset redactor here); unset: stored as asked.
  std::function<std::string(const std::string&)> redact;
};

// What happened to one event (for logs and tests).
struct ProcessResult {
  enum class Outcome { kDone, kRetry, kFailed, kLost } outcome = Outcome::kDone;
  std::string type;        // "question", "verdict", ...; "" when undecoded
  std::int64_t new_pairs = 0;
  bool enqueued = false;   // outbox rows were written
  util::Status error;      // kRetry / kFailed / kLost: why
};

class Workflow {
 public:
  Workflow(Store& store, ModelSlot& models, ConnectorSet connectors, WorkflowOptions options,
           Metrics* metrics);

  // Processes one claimed event: done (with its effects), back to pending for
  // a retry, or failed. kLost means the event was not ours any more (e.g.
  // released meanwhile): nothing was written.
  ProcessResult Process(const InboxEvent& event);
  // Processes claimed events in order, each as Process does, except that the
  // events that mean nothing to deskbot are marked done together in one
  // transaction at the end (Store::CompleteInboxBatch). `stop` is asked before
  // each event; *started says how many were started (the rest were not
  // touched and are still claimed).
  std::vector<ProcessResult> ProcessBatch(std::span<const InboxEvent> events,
                                          const std::function<bool()>& stop, std::size_t* started);

  const ConnectorSet& connectors() const { return connectors_; }
  const WorkflowOptions& options() const { return options_; }

 private:
  struct Effects;
  static constexpr const char* kIgnoredType = "ignored";
  // Process, or (with `defer_ignored`) adds an event that decodes to nothing
  // for deskbot to that list instead of marking it done.
  ProcessResult ProcessOne(const InboxEvent& event, std::vector<const InboxEvent*>* defer_ignored);
  std::vector<ProcessResult> CompleteIgnored(const std::vector<const InboxEvent*>& ignored);
  // Back to pending for a retry, or failed; kLost when no longer claimed.
  ProcessResult FinishWithError(const InboxEvent& event, util::Status st, ProcessResult result);
  util::Status HandleQuestion(const InboxEvent& event, Question question, ProcessResult& result);
  util::Status HandleVerdict(const InboxEvent& event, const Verdict& verdict, ProcessResult& result);
  util::Status HandleCommand(const InboxEvent& event, const ChatCommand& command,
                             ProcessResult& result);
  bool IsAgent(const std::string& connector, const std::string& user) const;
  std::string Redact(const std::string& text) const;

  Store& store_;
  ModelSlot& models_;
  ConnectorSet connectors_;
  WorkflowOptions options_;
  Metrics* metrics_;
};

// Delay before attempt `attempt` + 1, doubling from `base` up to `max`.
std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds base,
                                  std::chrono::milliseconds max);
// True for errors worth trying again (kUnavailable, kIOError).
bool IsRetryable(const util::Status& status);


}  // namespace deskbot::service
