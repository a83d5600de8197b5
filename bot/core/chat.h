// Chat: questions asked in a chat, the suggestions the model makes for them,
// agents' verdicts on those suggestions, and the seams a chat system plugs
// into (ChatConnector for a chat's protocol, InboxSink for its inbound
// events). Plain structs; the behaviour lives in bot/service.
//
// How a chat system takes part (see bot/service/README.md for the whole loop):
//   inbound:  an HTTP handler / socket client verifies the vendor's request and
//             hands the raw event to an InboxSink; it acknowledges the vendor
//             only once the sink says the event is stored.
//   decoding: a worker later gives the stored event back to the connector's
//             Decode(), which says what it is: a Question, a Verdict, a
//             command, or nothing for deskbot.
//   outbound: the outbox sender calls the connector's Post*/Update* methods,
//             one per stored outbox row, and marks the row sent only once the
//             call succeeded.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bot/core/interfaces.h"
#include "bot/core/types.h"
#include "connectors/util/status.h"

namespace deskbot {

namespace chat_detail {
template <typename E, std::size_t N>
const char* NameOf(const std::array<std::pair<E, const char*>, N>& table, E value) {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return "?";
}
template <typename E, std::size_t N>
std::optional<E> ParseName(const std::array<std::pair<E, const char*>, N>& table,
                           std::string_view s) {
  for (const auto& [e, name] : table)
    if (s == name) return e;
  return std::nullopt;
}
}  // namespace chat_detail

// --- questions and suggestions ------------------------------------------------

// A question somebody asked in a chat. Stored once per dedupe_key, so the same
// message delivered twice (Slack sends both `message` and `app_mention` for one
// post, and retries either) becomes one question.
struct Question {
  std::int64_t id = 0;          // store's id, 0 until stored
  std::string connector;        // "slack", "webchat", ...
  std::string conversation;     // channel / conversation id
  // Where to answer, in the connector's own terms, opaque to the core and
  // handed back in ChatTarget::thread: Slack's thread_ts; Teams' activity id
  // and the serviceUrl its reply must go to. "" = none.
  std::string thread;
  std::string message_id;       // the question's own message id (Slack ts)
  std::string asker;            // the asker's user id in that chat
  std::string text;
  std::string dedupe_key;       // QuestionDedupeKey(...)
  UnixSeconds asked_at = 0;
};

inline std::string QuestionDedupeKey(std::string_view connector, std::string_view conversation,
                                     std::string_view message_id) {
  std::string key;
  key.reserve(connector.size() + conversation.size() + message_id.size() + 2);
  key.append(connector).append("/").append(conversation).append("/").append(message_id);
  return key;
}

// pending: waiting for an agent; abstained: the model had no answer it trusts
// (agents still see the question and may write one); the other three are
// decided and final.
enum class SuggestionState { kPending, kApproved, kEdited, kRejected, kAbstained };

inline constexpr std::array<std::pair<SuggestionState, const char*>, 5> kSuggestionStates{{
    {SuggestionState::kPending, "pending"},
    {SuggestionState::kApproved, "approved"},
    {SuggestionState::kEdited, "edited"},
    {SuggestionState::kRejected, "rejected"},
    {SuggestionState::kAbstained, "abstained"}}};
inline const char* SuggestionStateName(SuggestionState s) {
  return chat_detail::NameOf(kSuggestionStates, s);
}
inline std::optional<SuggestionState> ParseSuggestionState(std::string_view s) {
  return chat_detail::ParseName(kSuggestionStates, s);
}
inline bool IsDecided(SuggestionState s) {
  return s == SuggestionState::kApproved || s == SuggestionState::kEdited ||
         s == SuggestionState::kRejected;
}

// What the model suggested for one question, and what became of it.
struct SuggestionRecord {
  std::int64_t id = 0;
  std::int64_t question_id = 0;
  std::string text;                 // the model's answer; "" when it abstained
  double confidence = 0;
  std::vector<SourceRef> sources;   // tickets the answer was learned from
  std::string model_version;        // "" when no model was loaded
  SuggestionState state = SuggestionState::kPending;
  std::string decided_by;           // the agent's user id
  UnixSeconds decided_at = 0;
  std::string final_text;           // what the asker got: the text, or the agent's edit
  std::string reason;               // why it was rejected (optional)
  std::int64_t agent_outbox_id = 0; // the outbox row that shows it to agents
  std::string agent_message_ref;    // the connector's reference once that row was sent
  UnixSeconds created_at = 0;
};

// A suggestion with the question it answers (what lists and pages show).
struct SuggestionView {
  SuggestionRecord suggestion;
  Question question;
};

// --- verdicts -------------------------------------------------------------------

enum class VerdictAction { kApprove, kEdit, kReject };

inline constexpr std::array<std::pair<VerdictAction, const char*>, 3> kVerdictActions{{
    {VerdictAction::kApprove, "approve"},
    {VerdictAction::kEdit, "edit"},
    {VerdictAction::kReject, "reject"}}};
inline const char* VerdictActionName(VerdictAction a) {
  return chat_detail::NameOf(kVerdictActions, a);
}
inline std::optional<VerdictAction> ParseVerdictAction(std::string_view s) {
  return chat_detail::ParseName(kVerdictActions, s);
}

// Where to say something to someone in a chat.
struct ChatTarget {
  std::string conversation;
  std::string thread;           // "" = top level
  std::string user;             // set: meant for this user alone (ephemeral where possible)
  std::string reply_token;      // connector-specific (a Slack response_url); opaque here
};

// An agent's decision on a suggestion, as a chat reported it. Whether `agent`
// may decide is checked by the workflow, not by the connector.
struct Verdict {
  std::int64_t suggestion_id = 0;
  VerdictAction action = VerdictAction::kApprove;
  std::string agent;            // the deciding user's id in the chat
  std::string edited_text;      // kEdit: the answer to post instead
  std::string reason;           // kReject: why (optional)
  ChatTarget reply_to;          // where to tell the user when they may not decide
};

// What became of a verdict.
enum class VerdictOutcome { kApplied, kRefused, kIgnored };
inline constexpr std::array<std::pair<VerdictOutcome, const char*>, 3> kVerdictOutcomes{{
    {VerdictOutcome::kApplied, "applied"},     // the suggestion is now decided
    {VerdictOutcome::kRefused, "refused"},     // the user is not an agent
    {VerdictOutcome::kIgnored, "ignored"}}};   // already decided, unknown, or empty
inline const char* VerdictOutcomeName(VerdictOutcome o) {
  return chat_detail::NameOf(kVerdictOutcomes, o);
}

struct VerdictRecord {
  std::int64_t id = 0;
  std::string connector;
  Verdict verdict;
  VerdictOutcome outcome = VerdictOutcome::kApplied;
  std::string note;             // why it was refused or ignored
  std::int64_t inbox_id = 0;
  UnixSeconds at = 0;
};

// A command addressed to the bot ("help", "status").
struct ChatCommand {
  std::string name;
  std::string args;
  std::string user;
  ChatTarget reply_to;
};

// --- inbox ---------------------------------------------------------------------

// An inbound event, stored raw before it is acknowledged so nothing is lost;
// decoded later by the connector that received it.
struct InboxEvent {
  std::int64_t id = 0;          // store's id, 0 until stored
  std::string connector;
  std::string event_key;        // unique across the inbox: the vendor's event id,
                                // prefixed with the connector ("slack:Ev123")
  std::string kind;             // connector-defined ("event", "interaction", "question")
  std::string payload;          // the event as received (raw bytes)
  std::int64_t received_ms = 0; // Unix milliseconds
  int attempts = 0;             // processing attempts so far (including a claimed one)
  // false: the connector saw at receipt that the event means nothing to
  // deskbot (Decode would say kIgnore), so it is stored already done and no
  // worker touches it. Most of a busy workspace's traffic is such events.
  bool needs_processing = true;
};

// A delivery as it arrives now, ready for InboxSink::Submit.
inline InboxEvent ReceivedEvent(std::string connector, std::string event_key, std::string kind,
                                std::string payload) {
  InboxEvent e;
  e.connector = std::move(connector);
  e.event_key = std::move(event_key);
  e.kind = std::move(kind);
  e.payload = std::move(payload);
  e.received_ms = NowMs();
  return e;
}

// What a stored event means for deskbot.
struct Inbound {
  enum class Kind { kIgnore, kQuestion, kVerdict, kCommand };
  Kind kind = Kind::kIgnore;
  Question question;            // kQuestion (id 0; dedupe_key set)
  Verdict verdict;              // kVerdict
  ChatCommand command;          // kCommand
  std::string note;             // kIgnore: why (for logs)
};

// Called once an event is durably stored (is_new false: it was a duplicate of
// an event already stored), or with the error that kept it from being stored.
// Only then may the vendor be acknowledged.
using InboxAck = std::function<void(util::Result<bool> is_new)>;

// Where connectors put inbound events (bot/service's InboxWriter).
class InboxSink {
 public:
  virtual ~InboxSink() = default;
  // Thread-safe; `ack` may run on another thread, possibly before Submit returns.
  virtual void Submit(InboxEvent event, InboxAck ack) = 0;
  // For an asynchronous HTTP route, which answers from `ack` and does not
  // wait for it: on one of the server's I/O threads the event may be
  // committed on that same thread once its round of reads is done, together
  // with the others that arrived with it. A caller that blocks its thread
  // until the ack comes must use Submit.
  virtual void SubmitFromAsyncRoute(InboxEvent event, InboxAck ack) {
    Submit(std::move(event), std::move(ack));
  }
};

// --- outbox ----------------------------------------------------------------------

enum class OutboxKind { kSuggestion, kSuggestionUpdate, kAnswer, kNotice, kRefusal };
inline constexpr std::array<std::pair<OutboxKind, const char*>, 5> kOutboxKinds{{
    {OutboxKind::kSuggestion, "suggestion"},
    {OutboxKind::kSuggestionUpdate, "suggestion_update"},
    {OutboxKind::kAnswer, "answer"},
    {OutboxKind::kNotice, "notice"},
    {OutboxKind::kRefusal, "refusal"}}};
inline const char* OutboxKindName(OutboxKind k) { return chat_detail::NameOf(kOutboxKinds, k); }
inline std::optional<OutboxKind> ParseOutboxKind(std::string_view s) {
  return chat_detail::ParseName(kOutboxKinds, s);
}

enum class OutboxState { kPending, kSending, kSent, kFailed };
inline constexpr std::array<std::pair<OutboxState, const char*>, 4> kOutboxStates{{
    {OutboxState::kPending, "pending"},
    {OutboxState::kSending, "sending"},
    {OutboxState::kSent, "sent"},
    {OutboxState::kFailed, "failed"}}};
inline const char* OutboxStateName(OutboxState s) { return chat_detail::NameOf(kOutboxStates, s); }
inline std::optional<OutboxState> ParseOutboxState(std::string_view s) {
  return chat_detail::ParseName(kOutboxStates, s);
}

// A message to send, written in the same transaction as the event that caused it.
struct OutboxItem {
  std::string connector;
  OutboxKind kind = OutboxKind::kNotice;
  std::string payload;          // JSON, written and read by bot/service
  std::string idempotency_key;  // unique across the outbox: enqueueing twice is a no-op
  std::int64_t depends_on = 0;  // an outbox row to send first (0: none)
};

struct OutboxRow {
  std::int64_t id = 0;
  std::string connector;
  OutboxKind kind = OutboxKind::kNotice;
  std::string payload;
  std::string idempotency_key;
  std::int64_t depends_on = 0;
  std::string depends_on_ref;   // result_ref of `depends_on`, once it was sent
  OutboxState state = OutboxState::kPending;
  int attempts = 0;             // send attempts so far (including a claimed one)
  std::int64_t next_attempt_ms = 0;
  std::string last_error;
  std::string result_ref;       // the connector's reference to what it posted
  std::int64_t created_ms = 0;
};

// --- what a connector is asked to send ---------------------------------------------

// Identifies the outbox row a call sends, so a connector can tag its message
// with it (e.g. Slack message metadata) and later tell whether it went out.
struct OutboundContext {
  std::int64_t outbox_id = 0;
  std::string idempotency_key;
  int attempt = 1;
};

// A suggestion for agents to decide on.
struct SuggestionPost {
  std::int64_t suggestion_id = 0;
  Question question;
  std::string text;             // "" when the model abstained
  double confidence = 0;
  bool abstained = false;
  std::vector<SourceRef> sources;
  std::string model_version;
};

// A posted suggestion's new state, to update the agents' message in place.
struct SuggestionUpdate {
  SuggestionPost suggestion;    // as it was shown
  std::string message_ref;      // what PostSuggestion returned
  SuggestionState state = SuggestionState::kPending;
  std::string decided_by;
  std::string final_text;
  std::string reason;
};

// A plain message: the answer, a notice or a refusal.
struct ChatPost {
  ChatTarget target;
  std::string text;
  std::int64_t question_id = 0;     // 0 when not about a question
  std::int64_t suggestion_id = 0;   // 0 when not about a suggestion
};

// A connector's answer to "did this outbox row reach the chat?".
struct DeliveryCheck {
  bool delivered = false;
  std::string ref;                  // the message's reference when delivered
};

// One chat system (Slack, Teams, the web chat) in deskbot's terms.
//
// Errors from the outbound calls decide what the sender does: kUnavailable
// and kIOError (429, 5xx, timeouts, a connection that failed) are retried with
// backoff; any other code is permanent and the row is marked failed.
class ChatConnector {
 public:
  virtual ~ChatConnector() = default;
  virtual const std::string& name() const = 0;

  // What a stored inbox event means. An error marks the event failed (it
  // stays in the inbox with the error, for a human to look at).
  virtual util::Result<Inbound> Decode(const InboxEvent& event) const = 0;

  // Shows a suggestion to agents (their channel, or privately to each, as the
  // connector is configured), with its confidence and source tickets.
  // Returns a reference to the posted message for UpdateSuggestion.
  virtual util::Result<std::string> PostSuggestion(const OutboundContext& ctx,
                                                   const SuggestionPost& post) = 0;
  // Re-renders a posted suggestion in its decided state.
  virtual util::Status UpdateSuggestion(const OutboundContext& ctx,
                                        const SuggestionUpdate& update) = 0;
  // The approved or edited answer, to the asker in the question's thread.
  virtual util::Result<std::string> PostAnswer(const OutboundContext& ctx, const ChatPost& post) = 0;
  // "An agent will follow up" (the model abstained), and command replies.
  virtual util::Result<std::string> PostNotice(const OutboundContext& ctx, const ChatPost& post) = 0;
  // A polite refusal to someone who tried to decide but is not an agent.
  virtual util::Result<std::string> PostRefusal(const OutboundContext& ctx, const ChatPost& post) = 0;

  // Asked before a row is sent again (it was left "sending" by a killed
  // process, or an earlier attempt failed in a way that may have delivered
  // it). A connector that can look (e.g. for its outbox id in message
  // metadata) says so; the default cannot tell and the row is sent again, so
  // such a connector may deliver a message twice after a crash, never zero
  // times. An error means "cannot tell now": the row waits and is asked again.
  virtual util::Result<DeliveryCheck> WasDelivered(const OutboxRow& row) {
    return DeliveryCheck{};
  }
};

// --- stored web chat messages ----------------------------------------------------

// A message a connector keeps in the store instead of sending it elsewhere
// (the web chat's pages poll these).
struct ChatMessage {
  std::int64_t id = 0;
  std::string connector;
  std::string conversation;
  std::string thread;
  std::string kind;             // "answer", "notice", "refusal", "suggestion", ...
  std::string text;
  std::int64_t outbox_id = 0;   // unique: posting the same outbox row twice stores one message
  std::int64_t suggestion_id = 0;
  std::int64_t created_ms = 0;
};

// Counts for /metrics and /readyz.
struct ChatQueueCounts {
  std::int64_t inbox_pending = 0, inbox_processing = 0, inbox_done = 0, inbox_failed = 0;
  std::int64_t outbox_pending = 0, outbox_sending = 0, outbox_sent = 0, outbox_failed = 0;
  std::array<std::int64_t, kSuggestionStates.size()> suggestions{};  // by kSuggestionStates order
  std::int64_t feedback_pairs = 0;  // pairs of origin approved or edited
};

}  // namespace deskbot
