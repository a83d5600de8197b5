#include "bot/service/workflow.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <exception>
#include <set>

#include "bot/service/outbound.h"

namespace deskbot::service {
namespace {

using util::Status;

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

UnixSeconds NowSeconds() { return static_cast<UnixSeconds>(std::time(nullptr)); }

// The question's place in its chat: where answers and notices go.
ChatTarget ThreadOf(const Question& q) { return ChatTarget{q.conversation, q.thread, "", ""}; }

SuggestionPost PostOf(const SuggestionRecord& s, const Question& q) {
  SuggestionPost p;
  p.suggestion_id = s.id;
  p.question = q;
  p.text = s.text;
  p.confidence = s.confidence;
  p.abstained = s.state == SuggestionState::kAbstained;
  p.sources = s.sources;
  p.model_version = s.model_version;
  return p;
}

std::string Actor(const std::string& connector, const std::string& user) {
  return connector + ":" + user;
}

}  // namespace

std::chrono::milliseconds Backoff(int attempt, std::chrono::milliseconds base,
                                  std::chrono::milliseconds max) {
  auto d = base;
  for (int i = 1; i < attempt && d < max; ++i) d *= 2;
  return std::min(d, max);
}

bool IsRetryable(const util::Status& status) {
  return status.code() == Status::Code::kUnavailable || status.code() == Status::Code::kIOError;
}

void ModelSlot::Set(std::shared_ptr<const AnswerModel> model, std::string version) {
  std::lock_guard<std::mutex> lock(mu_);
  loaded_.model = std::move(model);
  loaded_.version = std::move(version);
}

ModelSlot::Loaded ModelSlot::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loaded_;
}

AgentCheck AgentIds(std::vector<std::string> ids) {
  std::set<std::string, std::less<>> set;
  for (auto& id : ids)
    if (!id.empty()) set.insert(std::move(id));
  return [set = std::move(set)](const std::string& connector, const std::string& user) {
    if (user.empty()) return false;
    return set.count(user) > 0 || set.count(connector + ":" + user) > 0;
  };
}

Workflow::Workflow(Store& store, ModelSlot& models, ConnectorSet connectors,
                   WorkflowOptions options, Metrics* metrics)
    : store_(store),
      models_(models),
      connectors_(std::move(connectors)),
      options_(std::move(options)),
      metrics_(metrics) {
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

bool Workflow::IsAgent(const std::string& connector, const std::string& user) const {
  return options_.is_agent && options_.is_agent(connector, user);
}

std::string Workflow::Redact(const std::string& text) const {
  return options_.redact ? options_.redact(text) : text;
}

ProcessResult Workflow::Process(const InboxEvent& event) { return ProcessOne(event, nullptr); }

std::vector<ProcessResult> Workflow::ProcessBatch(std::span<const InboxEvent> events,
                                                  const std::function<bool()>& stop,
                                                  std::size_t* started) {
  std::vector<ProcessResult> results;
  std::vector<const InboxEvent*> ignored;
  std::size_t i = 0;
  for (; i < events.size() && !(stop && stop()); ++i) {
    ProcessResult r = ProcessOne(events[i], &ignored);
    if (r.type != kIgnoredType) results.push_back(std::move(r));
  }
  if (started != nullptr) *started = i;
  for (ProcessResult& r : CompleteIgnored(ignored)) results.push_back(std::move(r));
  return results;
}

std::vector<ProcessResult> Workflow::CompleteIgnored(const std::vector<const InboxEvent*>& ignored) {
  std::vector<ProcessResult> results;
  if (ignored.empty()) return results;
  std::vector<std::int64_t> ids;
  ids.reserve(ignored.size());
  for (const InboxEvent* e : ignored) ids.push_back(e->id);
  if (util::Result<std::int64_t> marked = store_.CompleteInboxBatch(ids); marked.ok()) {
    results.resize(ignored.size());
    for (std::size_t i = 0; i < ignored.size(); ++i) {
      results[i].type = kIgnoredType;
      if (metrics_ != nullptr) metrics_->CountEvent(ignored[i]->connector, kIgnoredType);
    }
    return results;
  } else {
    // The batch failed as a whole (e.g. the store was busy): one at a time,
    // so each event gets its own retry or failure.
    spdlog::warn("inbox: marking {} ignored event(s) done failed, one by one: {}", ids.size(),
                 marked.status().ToString());
  }
  for (const InboxEvent* e : ignored) results.push_back(ProcessOne(*e, nullptr));
  return results;
}

ProcessResult Workflow::FinishWithError(const InboxEvent& event, Status st, ProcessResult result) {
  const std::string what = "inbox event " + std::to_string(event.id) + " (" + event.event_key + ")";
  result.error = st;
  if (st.code() == Status::Code::kNotFound && st.message().find("not claimed") != std::string::npos) {
    result.outcome = ProcessResult::Outcome::kLost;
    return result;
  }
  Status write;
  if (IsRetryable(st) && event.attempts < options_.max_attempts) {
    result.outcome = ProcessResult::Outcome::kRetry;
    auto delay = Backoff(event.attempts, options_.retry_base, options_.retry_max);
    write = store_.RetryInbox(event.id, st.ToString(), NowMs() + delay.count());
    spdlog::warn("{}: attempt {} failed, retrying in {} ms: {}", what, event.attempts,
                 delay.count(), st.ToString());
  } else {
    result.outcome = ProcessResult::Outcome::kFailed;
    write = store_.FailInbox(event.id, st.ToString());
    spdlog::error("{}: failed after {} attempt(s): {}", what, event.attempts, st.ToString());
  }
  if (!write.ok()) spdlog::error("{}: could not record the failure: {}", what, write.ToString());
  return result;
}

ProcessResult Workflow::ProcessOne(const InboxEvent& event,
                                   std::vector<const InboxEvent*>* defer_ignored) {
  ProcessResult result;
  auto conn = connectors_.find(event.connector);
  if (conn == connectors_.end())
    return FinishWithError(event, Status::InvalidArgument("no connector '" + event.connector + "'"),
                           result);
  if (event.attempts > options_.max_attempts)
    // Claimed more often than allowed without finishing: it probably kills
    // the process. Give up on it instead of dying again.
    return FinishWithError(event,
                           Status::Internal("gave up after " + std::to_string(event.attempts - 1) +
                                            " unfinished attempts"),
                           result);

  util::Result<Inbound> decoded = Status::Internal("not decoded");
  try {
    decoded = conn->second->Decode(event);
  } catch (const std::exception& e) {
    decoded = Status::Internal(std::string("decoder threw: ") + e.what());
  }
  if (!decoded.ok()) {
    if (metrics_ != nullptr) metrics_->CountEvent(event.connector, "undecodable");
    // A payload that does not decode now never will: keep it, failed.
    Status st = decoded.status();
    if (IsRetryable(st)) st = Status::InvalidArgument(st.message());
    return FinishWithError(event, st.WithContext("decode"), result);
  }
  if (decoded->kind == Inbound::Kind::kIgnore && defer_ignored != nullptr) {
    defer_ignored->push_back(&event);  // marked done with the others (CompleteIgnored)
    result.type = kIgnoredType;
    return result;
  }

  Status st;
  try {
    switch (decoded->kind) {
      case Inbound::Kind::kIgnore:
        result.type = kIgnoredType;
        st = store_.CompleteInbox(event.id, [](ChatTransaction&) { return Status::OK(); });
        break;
      case Inbound::Kind::kQuestion:
        result.type = "question";
        st = HandleQuestion(event, std::move(decoded->question), result);
        break;
      case Inbound::Kind::kVerdict:
        result.type = "verdict";
        st = HandleVerdict(event, decoded->verdict, result);
        break;
      case Inbound::Kind::kCommand:
        result.type = "command";
        st = HandleCommand(event, decoded->command, result);
        break;
    }
  } catch (const std::exception& e) {
    st = Status::Internal(std::string("unexpected exception: ") + e.what());
  }
  if (!st.ok()) return FinishWithError(event, st, result);
  if (metrics_ != nullptr) metrics_->CountEvent(event.connector, result.type);
  spdlog::debug("inbox event {} ({}): {} done", event.id, event.event_key, result.type);
  return result;
}

Status Workflow::HandleQuestion(const InboxEvent& event, Question q, ProcessResult& result) {
  q.connector = event.connector;
  if (q.dedupe_key.empty()) q.dedupe_key = QuestionDedupeKey(q.connector, q.conversation, q.message_id);
  if (q.asked_at == 0) q.asked_at = event.received_ms / 1000;

  // Ask the model outside the transaction.
  Suggestion suggestion;  // abstained by default
  ModelSlot::Loaded loaded = models_.Get();
  if (loaded.model) {
    util::Result<Suggestion> r = loaded.model->Suggest(q.text);
    if (r.ok()) {
      suggestion = std::move(r).value();
      if (suggestion.model_version.empty()) suggestion.model_version = loaded.version;
    } else if (IsRetryable(r.status())) {
      return r.status().WithContext("model");  // e.g. a remote model's 429: try again later
    } else {
      // The question must not be lost to a model bug: agents still see it.
      spdlog::error("inbox event {}: model failed, treating as abstained: {}", event.id,
                    r.status().ToString());
      suggestion = Suggestion{};
      suggestion.model_version = loaded.version;
    }
  }
  const bool abstained = suggestion.abstained || IsBlank(suggestion.text);

  bool duplicate = false;
  Status st = store_.CompleteInbox(event.id, [&](ChatTransaction& tx) -> Status {
    auto qid = tx.InsertQuestion(q);
    if (!qid.ok()) return qid.status();
    if (!qid->has_value()) {
      duplicate = true;  // the same message, delivered as another event
      return Status::OK();
    }
    q.id = **qid;

    SuggestionRecord rec;
    rec.question_id = q.id;
    rec.text = suggestion.text;
    rec.confidence = suggestion.confidence;
    rec.sources = suggestion.sources;
    rec.model_version = suggestion.model_version;
    rec.state = abstained ? SuggestionState::kAbstained : SuggestionState::kPending;
    auto sid = tx.InsertSuggestion(rec);
    if (!sid.ok()) return sid.status();
    rec.id = *sid;

    auto oid = tx.Enqueue({event.connector, OutboxKind::kSuggestion,
                           EncodeSuggestionPost(PostOf(rec, q), event.received_ms),
                           "suggestion:" + std::to_string(rec.id), 0});
    if (!oid.ok()) return oid.status();
    rec.agent_outbox_id = *oid;
    DESK_RETURN_IF_ERROR(tx.UpdateSuggestion(rec));

    if (abstained) {
      ChatPost notice{ThreadOf(q), options_.notice_text, q.id, rec.id};
      auto nid = tx.Enqueue({event.connector, OutboxKind::kNotice, EncodeChatPost(notice),
                             "notice:question:" + std::to_string(q.id), 0});
      if (!nid.ok()) return nid.status();
    }
    return Status::OK();
  });
  if (!st.ok()) return st;
  if (duplicate) {
    result.type = "duplicate_question";
  } else {
    result.enqueued = true;
  }
  return Status::OK();
}

Status Workflow::HandleVerdict(const InboxEvent& event, const Verdict& v, ProcessResult& result) {
  const std::string& connector = event.connector;
  const bool agent = IsAgent(connector, v.agent);
  const UnixSeconds now = NowSeconds();
  const std::string action = VerdictActionName(v.action);
  const std::string sid_text = std::to_string(v.suggestion_id);
  bool pair_added = false;

  Status st = store_.CompleteInbox(event.id, [&](ChatTransaction& tx) -> Status {
    VerdictRecord record{0, connector, v, VerdictOutcome::kApplied, "", event.id, now};
    auto ignore = [&](const std::string& why, const std::string& tell_agent) -> Status {
      record.outcome = VerdictOutcome::kIgnored;
      record.note = why;
      DESK_RETURN_IF_ERROR(tx.RecordVerdict(record));
      DESK_RETURN_IF_ERROR(tx.AppendAudit({0, Actor(connector, v.agent), "verdict.ignored",
                                           action + " on suggestion " + sid_text + ": " + why, now}));
      if (tell_agent.empty()) return Status::OK();
      ChatTarget to = v.reply_to;
      to.user = v.agent;
      auto id = tx.Enqueue({connector, OutboxKind::kNotice,
                            EncodeChatPost({to, tell_agent, 0, v.suggestion_id}),
                            "verdict-notice:" + std::to_string(event.id), 0});
      if (id.ok()) result.enqueued = true;
      return id.status();
    };

    if (!agent) {
      record.outcome = VerdictOutcome::kRefused;
      record.note = "not an agent";
      DESK_RETURN_IF_ERROR(tx.RecordVerdict(record));
      DESK_RETURN_IF_ERROR(tx.AppendAudit({0, Actor(connector, v.agent), "verdict.refused",
                                           action + " on suggestion " + sid_text + ": not an agent",
                                           now}));
      ChatTarget to = v.reply_to;
      to.user = v.agent;
      auto id = tx.Enqueue({connector, OutboxKind::kRefusal,
                            EncodeChatPost({to, options_.refusal_text, 0, v.suggestion_id}),
                            "refusal:" + std::to_string(event.id), 0});
      if (!id.ok()) return id.status();
      result.enqueued = true;
      return Status::OK();
    }

    auto found = tx.GetSuggestion(v.suggestion_id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return ignore("no such suggestion", "");
    SuggestionRecord s = std::move(**found);
    if (IsDecided(s.state))
      // Two agents clicked, or one clicked twice: the first decision stands.
      return ignore(std::string("already ") + SuggestionStateName(s.state) + " by " + s.decided_by, "");

    std::string final_text;
    if (v.action == VerdictAction::kApprove) final_text = s.text;
    if (v.action == VerdictAction::kEdit) final_text = v.edited_text;
    if (v.action != VerdictAction::kReject && IsBlank(final_text))
      return ignore(v.action == VerdictAction::kApprove ? "nothing to approve (the model had no answer)"
                                                        : "the edited answer is empty",
                    v.action == VerdictAction::kApprove
                        ? "There is no suggested answer to approve; write one with Edit instead."
                        : "The edited answer was empty, so nothing was sent.");

    auto question = tx.GetQuestion(s.question_id);
    if (!question.ok()) return question.status();
    if (!question->has_value())
      return Status::Corruption("suggestion " + sid_text + ": its question is missing");
    const Question& q = **question;
    const SuggestionPost shown = PostOf(s, q);

    s.state = v.action == VerdictAction::kApprove ? SuggestionState::kApproved
              : v.action == VerdictAction::kEdit  ? SuggestionState::kEdited
                                                  : SuggestionState::kRejected;
    s.decided_by = v.agent;
    s.decided_at = now;
    s.final_text = final_text;
    s.reason = v.reason;
    DESK_RETURN_IF_ERROR(tx.UpdateSuggestion(s));

    if (s.state != SuggestionState::kRejected) {
      auto aid = tx.Enqueue({connector, OutboxKind::kAnswer,
                             EncodeChatPost({ThreadOf(q), final_text, q.id, s.id}),
                             "answer:" + std::to_string(s.id), 0});
      if (!aid.ok()) return aid.status();
      Pair pair;
      pair.source = connector;
      pair.question = Redact(q.text);
      pair.answer = Redact(final_text);
      pair.origin = s.state == SuggestionState::kEdited ? PairOrigin::kEdited : PairOrigin::kApproved;
      pair.created_at = q.asked_at;
      auto pid = tx.AddPair(pair);
      if (!pid.ok()) return pid.status();
      pair_added = true;
      if (s.state == SuggestionState::kEdited && !IsBlank(shown.text) && shown.text != final_text) {
        auto pp = tx.AddPreferencePair({0, pair.question, pair.answer, Redact(shown.text), now});
        if (!pp.ok()) return pp.status();
      }
    }
    SuggestionUpdate update{shown, "", s.state, s.decided_by, s.final_text, s.reason};
    auto uid = tx.Enqueue({connector, OutboxKind::kSuggestionUpdate, EncodeSuggestionUpdate(update),
                           "update:" + std::to_string(s.id), s.agent_outbox_id});
    if (!uid.ok()) return uid.status();
    result.enqueued = true;
    DESK_RETURN_IF_ERROR(tx.RecordVerdict(record));
    return tx.AppendAudit({0, Actor(connector, v.agent), "verdict." + action,
                           "suggestion " + sid_text + " (question " + std::to_string(q.id) + ")" +
                               (v.reason.empty() ? "" : ": " + v.reason),
                           now});
  });
  if (!st.ok()) return st;
  if (pair_added) result.new_pairs = 1;
  if (!agent) result.type = "verdict_refused";
  return Status::OK();
}

Status Workflow::HandleCommand(const InboxEvent& event, const ChatCommand& c, ProcessResult& result) {
  std::string text;
  if (c.name == "status") {
    auto counts = store_.CountChatQueues();
    if (!counts.ok()) return counts.status();
    const ModelSlot::Loaded loaded = models_.Get();
    text = "Model: " + (loaded.model ? (loaded.version.empty() ? std::string("loaded") : loaded.version)
                                     : std::string("none (every question goes to an agent)")) +
           ". Waiting for an agent: " +
           std::to_string(counts->suggestions[static_cast<int>(SuggestionState::kPending)] +
                          counts->suggestions[static_cast<int>(SuggestionState::kAbstained)]) +
           ". Unprocessed events: " + std::to_string(counts->inbox_pending) + ".";
  } else {
    text =
        "Ask me a question and I will suggest an answer from resolved tickets; an agent approves, "
        "edits or rejects it before you see it. Commands: help, status.";
  }
  ChatTarget to = c.reply_to;
  if (to.user.empty()) to.user = c.user;
  return store_.CompleteInbox(event.id, [&](ChatTransaction& tx) -> Status {
    auto id = tx.Enqueue({event.connector, OutboxKind::kNotice, EncodeChatPost({to, text, 0, 0}),
                          "reply:" + std::to_string(event.id), 0});
    if (id.ok()) result.enqueued = true;
    return id.status();
  });
}

}  // namespace deskbot::service
