// The Store: everything deskbot keeps. SQLite (bot/store/sqlite_store) is the
// embedded default; a PostgreSQL implementation can satisfy the same interface
// for several replicas. Every method is one transaction.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bot/core/chat.h"
#include "bot/core/types.h"
#include "connectors/util/status.h"

namespace deskbot {

using util::Result;
using util::Status;

// --- chat service (bot/service): begin ------------------------------------
// The writes that one processed inbox event causes, made inside the
// transaction that marks the event done (Store::CompleteInbox). Only valid
// inside the callback; must not call back into the Store.
class ChatTransaction {
 public:
  virtual ~ChatTransaction() = default;
  // The new question's id, or nullopt when its dedupe_key is already stored.
  virtual Result<std::optional<std::int64_t>> InsertQuestion(const Question& question) = 0;
  virtual Result<std::optional<Question>> GetQuestion(std::int64_t id) = 0;
  virtual Result<std::int64_t> InsertSuggestion(const SuggestionRecord& suggestion) = 0;
  virtual Result<std::optional<SuggestionRecord>> GetSuggestion(std::int64_t id) = 0;
  // Writes state, decided_by, decided_at, final_text, reason and
  // agent_outbox_id of the suggestion with `suggestion.id`.
  virtual Status UpdateSuggestion(const SuggestionRecord& suggestion) = 0;
  // The row's id; when `item.idempotency_key` is already in the outbox, the
  // existing row's id and nothing is written.
  virtual Result<std::int64_t> Enqueue(const OutboxItem& item) = 0;
  virtual Status RecordVerdict(const VerdictRecord& verdict) = 0;
  virtual Result<std::int64_t> AddPair(const Pair& pair) = 0;
  virtual Result<std::int64_t> AddPreferencePair(const PreferencePair& pair) = 0;
  virtual Status AppendAudit(const AuditEntry& entry) = 0;
};

// Which suggestions ListSuggestions returns.
struct SuggestionFilter {
  std::string connector;                  // of the question; "" = any
  std::vector<SuggestionState> states;    // empty = any
  bool posted_only = false;               // only those already shown to agents
  std::int64_t limit = 100;
};
// --- chat service: end -------------------------------------------------------

class Store {
 public:
  virtual ~Store() = default;

  // --- tickets and harvest cursors -----------------------------------------
  // Inserts or replaces (by source + external_id) the tickets with their
  // messages, and, when `cursor` is set, stores it as the source's harvest
  // cursor -- all in one transaction, so a killed harvest resumes exactly
  // where its last committed page ended.
  virtual Status UpsertTickets(const std::string& source, std::span<const Ticket> tickets,
                               const std::optional<std::string>& cursor) = 0;
  virtual Result<std::optional<std::string>> GetCursor(const std::string& source) = 0;
  virtual Result<std::optional<Ticket>> GetTicket(const std::string& source,
                                                  const std::string& external_id) = 0;
  // Visits every stored ticket in id order; return false from `fn` to stop.
  virtual Status ForEachTicket(const std::function<bool(const Ticket&)>& fn) = 0;
  virtual Result<std::int64_t> CountTickets() = 0;

  // --- training pairs ------------------------------------------------------
  // Replaces all pairs of origin "harvested" with `pairs` and records the
  // snapshot. Approved and edited pairs are kept. Readers see either the old
  // harvested pairs or the new ones, never a mix, and a build that fails or
  // is killed midway changes nothing they see. Returns the new snapshot's id.
  virtual Result<std::int64_t> ReplaceHarvestedPairs(std::span<const Pair> pairs,
                                                     const DatasetSnapshot& snapshot) = 0;
  virtual Result<std::int64_t> AddPair(const Pair& pair) = 0;
  virtual Status ForEachPair(const std::function<bool(const Pair&)>& fn) = 0;
  virtual Result<std::int64_t> AddPreferencePair(const PreferencePair& pair) = 0;
  virtual Status ForEachPreferencePair(const std::function<bool(const PreferencePair&)>& fn) = 0;
  virtual Result<std::optional<DatasetSnapshot>> LatestSnapshot() = 0;

  // --- model registry ------------------------------------------------------
  virtual Result<std::int64_t> AddModelVersion(const ModelVersion& version) = 0;
  virtual Status UpdateModelVersion(const ModelVersion& version) = 0;
  virtual Result<std::vector<ModelVersion>> ListModelVersions() = 0;
  virtual Result<std::optional<ModelVersion>> GetModelVersion(std::int64_t id) = 0;
  // Marks `id` promoted and the previously promoted version retired, atomically.
  virtual Status PromoteModelVersion(std::int64_t id, const std::string& note) = 0;

  // --- audit log -----------------------------------------------------------
  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  virtual Result<std::vector<AuditEntry>> ListAudit(std::int64_t limit) = 0;

  // --- chat service: inbox, outbox, questions, suggestions (bot/service) ----
  // Times here are Unix milliseconds. See bot/service/README.md for how these
  // make every chat reply happen once.

  // Stores the events that are not stored yet (by event_key) in ONE
  // transaction; result[i] is true when events[i] was new. The ack path.
  virtual Result<std::vector<bool>> InsertInboxBatch(std::span<const InboxEvent> events) = 0;
  // Marks up to `max_rows` pending events of these connectors whose time has
  // come as processing (attempts + 1) and returns them, oldest first.
  virtual Result<std::vector<InboxEvent>> ClaimInbox(std::span<const std::string> connectors,
                                                     int max_rows, std::int64_t now_ms) = 0;
  // In one transaction: runs `effects`, then marks the claimed event done. If
  // `effects` fails nothing is written and its error is returned. kNotFound
  // when the event is not claimed (processing) any more.
  virtual Status CompleteInbox(std::int64_t inbox_id,
                               const std::function<Status(ChatTransaction&)>& effects) = 0;
  // Claimed events that need no writes (they mean nothing to deskbot: most
  // of a busy workspace's traffic) marked done in ONE transaction, rather
  // than one CompleteInbox each. Events no longer claimed are skipped;
  // returns how many were marked.
  virtual Result<std::int64_t> CompleteInboxBatch(std::span<const std::int64_t> inbox_ids) = 0;
  // A claimed event back to pending: to try again at `next_attempt_ms`.
  virtual Status RetryInbox(std::int64_t inbox_id, const std::string& error,
                            std::int64_t next_attempt_ms) = 0;
  // A claimed event that will never succeed: kept as failed with the error.
  virtual Status FailInbox(std::int64_t inbox_id, const std::string& error) = 0;
  // Claimed events that were not started, back to pending as if never claimed.
  virtual Status ReleaseInbox(std::span<const std::int64_t> inbox_ids) = 0;
  // Deletes up to `max_rows` events that were done before `done_before_ms`
  // (retention: the inbox only has to remember an event id while the vendor
  // may still redeliver it). Failed events and events a verdict record
  // points to are kept. Returns how many were deleted.
  virtual Result<std::int64_t> PruneInbox(std::int64_t done_before_ms, int max_rows) = 0;
  // Every processing event back to pending (at start-up: a previous process
  // died with them claimed). Returns how many. Only for one service process
  // per store.
  virtual Result<std::int64_t> RequeueProcessingInbox() = 0;

  // Marks up to `max_rows` pending rows of these connectors that are due (and
  // whose depends_on row is sent or failed) as sending (attempts + 1).
  virtual Result<std::vector<OutboxRow>> ClaimOutbox(std::span<const std::string> connectors,
                                                     int max_rows, std::int64_t now_ms) = 0;
  // Rows in state sending (left by a killed process).
  virtual Result<std::vector<OutboxRow>> ListSendingOutbox(std::span<const std::string> connectors) = 0;
  virtual Status MarkOutboxSent(std::int64_t outbox_id, const std::string& result_ref) = 0;
  // Back to pending, due at `next_attempt_ms`.
  virtual Status RetryOutbox(std::int64_t outbox_id, const std::string& error,
                             std::int64_t next_attempt_ms) = 0;
  virtual Status FailOutbox(std::int64_t outbox_id, const std::string& error) = 0;
  // A claimed row that was not attempted, back to pending (attempts - 1).
  virtual Status ReleaseOutbox(std::int64_t outbox_id) = 0;
  virtual Result<std::optional<OutboxRow>> GetOutbox(std::int64_t outbox_id) = 0;
  // The due time of the earliest pending row of these connectors that is not
  // waiting for its depends_on row, if any.
  virtual Result<std::optional<std::int64_t>> NextOutboxDue(std::span<const std::string> connectors) = 0;
  // Deletes up to `max_rows` rows that were sent before `sent_before_ms`
  // (retention: a sent message is the chat's to keep). Pending, sending and
  // failed rows are kept, and so are rows another outbox row depends on, a
  // suggestion points to (agent_outbox_id) or a stored chat message belongs
  // to. Returns how many were deleted.
  virtual Result<std::int64_t> PruneOutbox(std::int64_t sent_before_ms, int max_rows) = 0;

  virtual Result<std::optional<SuggestionView>> GetSuggestion(std::int64_t suggestion_id) = 0;
  // Newest first.
  virtual Result<std::vector<SuggestionView>> ListSuggestions(const SuggestionFilter& filter) = 0;
  // The questions of one conversation, oldest first.
  virtual Result<std::vector<Question>> ListQuestions(const std::string& connector,
                                                      const std::string& conversation) = 0;
  virtual Result<std::vector<VerdictRecord>> ListVerdicts(std::int64_t suggestion_id) = 0;

  // Stored chat messages (the web chat): adding one for an outbox row that
  // already has one returns the existing message's id.
  virtual Result<std::int64_t> AddChatMessage(const ChatMessage& message) = 0;
  virtual Result<std::optional<ChatMessage>> FindChatMessageByOutbox(std::int64_t outbox_id) = 0;
  // Messages of one conversation with id > after_id, oldest first.
  virtual Result<std::vector<ChatMessage>> ListChatMessages(const std::string& connector,
                                                            const std::string& conversation,
                                                            std::int64_t after_id) = 0;

  virtual Result<ChatQueueCounts> CountChatQueues() = 0;
  // Small named values the service keeps across restarts (retrain marks).
  virtual Result<std::optional<std::string>> GetServiceState(const std::string& key) = 0;
  virtual Status SetServiceState(const std::string& key, const std::string& value) = 0;
};

}  // namespace deskbot
