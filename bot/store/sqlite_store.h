// SqliteStore: the Store on one embedded SQLite database file.
//
// The schema is created and upgraded by numbered migrations (migrations.cpp),
// each applied in its own transaction and recorded in PRAGMA user_version, so
// a database is always at exactly one known version. A database written by a
// newer deskbot (a higher version than this binary knows) is refused rather
// than misread.
//
// Connection settings: WAL journal (readers never block the writer, so the CLI
// can harvest while the service answers), foreign keys on, synchronous=NORMAL
// (durable across a killed process; an OS crash may lose the last commits but
// never corrupts), and a busy timeout so two processes wait for each other
// instead of failing at once. Write transactions are BEGIN IMMEDIATE.
//
// Thread safety: one SqliteStore is one SQLite connection guarded by a mutex;
// every method may be called from any thread. The ForEach* visitors read in
// batches and call `fn` WITHOUT holding the lock, so `fn` may itself use the
// store (and other threads are not blocked during a long visit); the visit is
// therefore not one snapshot: rows written meanwhile may or may not be seen.
#pragma once

#include <memory>
#include <string>

#include "bot/core/store.h"

namespace deskbot {

// When a commit counts as stored. "normal" (the default): committed to the
// write-ahead log, which survives a killed process (the kernel has the
// write) but may lose the last commits to a power cut or an OS crash.
// "full": every commit also waits for the disk (fsync), which survives
// those too, at one fsync per commit (the inbox batches its commits, so
// per batch of events, not per event).
struct SqliteOptions {
  std::string synchronous = "normal";  // normal | full
};

class SqliteStore final : public Store {
 public:
  // Opens (creating when missing) the database at `path` and migrates it to
  // the latest schema. ":memory:" gives a private in-memory database (tests).
  // A file that is not an SQLite database gives kCorruption; a database from
  // a newer deskbot gives kInvalidArgument naming both versions.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                   const SqliteOptions& options = {});

  // The schema version this binary creates (the number of migrations).
  static int LatestSchemaVersion();

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  const std::string& path() const;
  // The version the open database is at (LatestSchemaVersion() once opened).
  Result<int> SchemaVersion();

  Status UpsertTickets(const std::string& source, std::span<const Ticket> tickets,
                       const std::optional<std::string>& cursor) override;
  Result<std::optional<std::string>> GetCursor(const std::string& source) override;
  Result<std::optional<Ticket>> GetTicket(const std::string& source,
                                          const std::string& external_id) override;
  Status ForEachTicket(const std::function<bool(const Ticket&)>& fn) override;
  Result<std::int64_t> CountTickets() override;

  Result<std::int64_t> ReplaceHarvestedPairs(std::span<const Pair> pairs,
                                             const DatasetSnapshot& snapshot) override;
  Result<std::int64_t> AddPair(const Pair& pair) override;
  Status ForEachPair(const std::function<bool(const Pair&)>& fn) override;
  Result<std::int64_t> AddPreferencePair(const PreferencePair& pair) override;
  Status ForEachPreferencePair(const std::function<bool(const PreferencePair&)>& fn) override;
  Result<std::optional<DatasetSnapshot>> LatestSnapshot() override;

  // snapshot_id 0 is stored as "none"; any other value must name a stored
  // DatasetSnapshot (a foreign key).
  Result<std::int64_t> AddModelVersion(const ModelVersion& version) override;
  // Replaces every field of the version with id `version.id` (kNotFound if
  // none). Setting state = promoted here fails while another version is
  // promoted: use PromoteModelVersion.
  Status UpdateModelVersion(const ModelVersion& version) override;
  Result<std::vector<ModelVersion>> ListModelVersions() override;  // by id
  Result<std::optional<ModelVersion>> GetModelVersion(std::int64_t id) override;
  // A failed version cannot be promoted; a retired one can (a rollback).
  Status PromoteModelVersion(std::int64_t id, const std::string& note) override;

  Status AppendAudit(const AuditEntry& entry) override;
  // The newest `limit` entries, newest first.
  Result<std::vector<AuditEntry>> ListAudit(std::int64_t limit) override;

  // --- chat service (sqlite_service.cpp) ------------------------------------
  Result<std::vector<bool>> InsertInboxBatch(std::span<const InboxEvent> events) override;
  Result<std::vector<InboxEvent>> ClaimInbox(std::span<const std::string> connectors, int max_rows,
                                             std::int64_t now_ms) override;
  Status CompleteInbox(std::int64_t inbox_id,
                       const std::function<Status(ChatTransaction&)>& effects) override;
  Result<std::int64_t> CompleteInboxBatch(std::span<const std::int64_t> inbox_ids) override;
  Result<std::int64_t> PruneInbox(std::int64_t done_before_ms, int max_rows) override;
  Status RetryInbox(std::int64_t inbox_id, const std::string& error,
                    std::int64_t next_attempt_ms) override;
  Status FailInbox(std::int64_t inbox_id, const std::string& error) override;
  Status ReleaseInbox(std::span<const std::int64_t> inbox_ids) override;
  Result<std::int64_t> RequeueProcessingInbox() override;
  Result<std::vector<OutboxRow>> ClaimOutbox(std::span<const std::string> connectors, int max_rows,
                                             std::int64_t now_ms) override;
  Result<std::vector<OutboxRow>> ListSendingOutbox(std::span<const std::string> connectors) override;
  Status MarkOutboxSent(std::int64_t outbox_id, const std::string& result_ref) override;
  Status RetryOutbox(std::int64_t outbox_id, const std::string& error,
                     std::int64_t next_attempt_ms) override;
  Status FailOutbox(std::int64_t outbox_id, const std::string& error) override;
  Status ReleaseOutbox(std::int64_t outbox_id) override;
  Result<std::optional<OutboxRow>> GetOutbox(std::int64_t outbox_id) override;
  Result<std::optional<std::int64_t>> NextOutboxDue(std::span<const std::string> connectors) override;
  Result<std::int64_t> PruneOutbox(std::int64_t sent_before_ms, int max_rows) override;
  Result<std::optional<SuggestionView>> GetSuggestion(std::int64_t suggestion_id) override;
  Result<std::vector<SuggestionView>> ListSuggestions(const SuggestionFilter& filter) override;
  Result<std::vector<Question>> ListQuestions(const std::string& connector,
                                              const std::string& conversation) override;
  Result<std::vector<VerdictRecord>> ListVerdicts(std::int64_t suggestion_id) override;
  Result<std::int64_t> AddChatMessage(const ChatMessage& message) override;
  Result<std::optional<ChatMessage>> FindChatMessageByOutbox(std::int64_t outbox_id) override;
  Result<std::vector<ChatMessage>> ListChatMessages(const std::string& connector,
                                                    const std::string& conversation,
                                                    std::int64_t after_id) override;
  Result<ChatQueueCounts> CountChatQueues() override;
  Result<std::optional<std::string>> GetServiceState(const std::string& key) override;
  Status SetServiceState(const std::string& key, const std::string& value) override;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  // ReplaceHarvestedPairs' steps (sqlite_store.cpp says why they are chunked).
  Status WriteSnapshotPairs(std::span<const Pair> pairs, std::int64_t snapshot_id,
                            const std::string& what);
  Status DeleteHarvestedPairs(const char* where, std::int64_t snapshot_id, const std::string& what);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskbot
