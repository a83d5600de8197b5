#include "bot/store/migrations.h"

#include <ctime>
#include <string>

namespace deskbot::sqlite {
namespace {

// Times are Unix seconds (INTEGER); booleans 0/1 with a CHECK; enums as their
// stable names (types.cpp) with a CHECK, so a row read back always parses.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at INTEGER NOT NULL
);

CREATE TABLE tickets (
  id              INTEGER PRIMARY KEY,
  source          TEXT NOT NULL CHECK (source <> ''),
  external_id     TEXT NOT NULL CHECK (external_id <> ''),
  subject         TEXT NOT NULL DEFAULT '',
  status          TEXT NOT NULL DEFAULT '',
  resolved        INTEGER NOT NULL DEFAULT 0 CHECK (resolved IN (0, 1)),
  requester_name  TEXT NOT NULL DEFAULT '',
  requester_email TEXT NOT NULL DEFAULT '',
  tags_json       TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags_json)),
  created_at      INTEGER NOT NULL DEFAULT 0,
  updated_at      INTEGER NOT NULL DEFAULT 0,
  resolved_at     INTEGER NOT NULL DEFAULT 0,
  imported_at     INTEGER NOT NULL,
  UNIQUE (source, external_id)
);

-- A ticket's conversation; replaced whole when the ticket is imported again.
CREATE TABLE messages (
  id           INTEGER PRIMARY KEY,
  ticket_id    INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
  position     INTEGER NOT NULL,
  external_id  TEXT NOT NULL DEFAULT '',
  role         TEXT NOT NULL CHECK (role IN ('requester', 'agent', 'system')),
  is_public    INTEGER NOT NULL CHECK (is_public IN (0, 1)),
  author       TEXT NOT NULL DEFAULT '',
  body         TEXT NOT NULL,
  content_type TEXT NOT NULL DEFAULT 'text/plain',
  created_at   INTEGER NOT NULL DEFAULT 0,
  UNIQUE (ticket_id, position)
);

-- Harvest cursors: where the next harvest of a source starts.
CREATE TABLE cursors (
  source     TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE dataset_snapshots (
  id           INTEGER PRIMARY KEY,
  content_hash TEXT NOT NULL,
  train_pairs  INTEGER NOT NULL DEFAULT 0,
  valid_pairs  INTEGER NOT NULL DEFAULT 0,
  report_json  TEXT NOT NULL DEFAULT '{}',
  created_at   INTEGER NOT NULL
);

-- Training pairs. Harvested ones are rebuilt by each `dataset build` (and
-- point at the snapshot that made them); approved/edited ones come from
-- agents in chat and are kept.
CREATE TABLE pairs (
  id                 INTEGER PRIMARY KEY,
  source             TEXT NOT NULL DEFAULT '',
  ticket_external_id TEXT NOT NULL DEFAULT '',
  question           TEXT NOT NULL,
  answer             TEXT NOT NULL,
  origin             TEXT NOT NULL CHECK (origin IN ('harvested', 'approved', 'edited')),
  weight             REAL NOT NULL DEFAULT 1.0,
  split              TEXT NOT NULL DEFAULT 'train' CHECK (split IN ('train', 'valid')),
  created_at         INTEGER NOT NULL DEFAULT 0,
  snapshot_id        INTEGER REFERENCES dataset_snapshots(id)
);
CREATE INDEX pairs_by_origin ON pairs(origin);

CREATE TABLE preference_pairs (
  id         INTEGER PRIMARY KEY,
  question   TEXT NOT NULL,
  preferred  TEXT NOT NULL,
  rejected   TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE model_versions (
  id           INTEGER PRIMARY KEY,
  backend      TEXT NOT NULL,
  snapshot_id  INTEGER REFERENCES dataset_snapshots(id),
  state        TEXT NOT NULL CHECK (state IN ('candidate', 'promoted', 'retired', 'failed')),
  path         TEXT NOT NULL DEFAULT '',
  checksum     TEXT NOT NULL DEFAULT '',
  remote_id    TEXT NOT NULL DEFAULT '',
  metrics_json TEXT NOT NULL DEFAULT '{}',
  note         TEXT NOT NULL DEFAULT '',
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
-- At most one promoted version, enforced by the database itself.
CREATE UNIQUE INDEX model_versions_one_promoted ON model_versions(state) WHERE state = 'promoted';

CREATE TABLE audit_log (
  id     INTEGER PRIMARY KEY,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  at     INTEGER NOT NULL
);
)sql";

// The chat service (bot/service): a durable inbox of raw inbound events, the
// questions and suggestions made from them, agents' verdicts, a durable
// outbox of messages to send, and the web chat's stored messages. Times
// ending in _ms are Unix milliseconds (latencies are measured from them).
constexpr const char* kChatServiceSchema = R"sql(
-- Inbound events, stored before they are acknowledged. event_key is the
-- vendor's event id (prefixed with the connector): a retried delivery is
-- ignored by the UNIQUE constraint.
CREATE TABLE inbox (
  id              INTEGER PRIMARY KEY,
  connector       TEXT NOT NULL CHECK (connector <> ''),
  event_key       TEXT NOT NULL UNIQUE CHECK (event_key <> ''),
  kind            TEXT NOT NULL DEFAULT '',
  payload         TEXT NOT NULL,
  received_ms     INTEGER NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'processing', 'done', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  done_ms         INTEGER
);
-- Workers look for work here; done rows leave the index.
CREATE INDEX inbox_open ON inbox(state, next_attempt_ms, id) WHERE state IN ('pending', 'processing');

-- Messages to send, each written in the transaction of the event that caused
-- it, and marked sent only after the chat accepted it.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  connector       TEXT NOT NULL CHECK (connector <> ''),
  kind            TEXT NOT NULL CHECK (kind IN ('suggestion', 'suggestion_update', 'answer',
                                                'notice', 'refusal')),
  payload         TEXT NOT NULL CHECK (json_valid(payload)),
  idempotency_key TEXT NOT NULL UNIQUE CHECK (idempotency_key <> ''),
  depends_on      INTEGER REFERENCES outbox(id),
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  result_ref      TEXT NOT NULL DEFAULT '',
  created_ms      INTEGER NOT NULL,
  sent_ms         INTEGER
);
CREATE INDEX outbox_open ON outbox(state, next_attempt_ms, id) WHERE state IN ('pending', 'sending');

CREATE TABLE questions (
  id           INTEGER PRIMARY KEY,
  connector    TEXT NOT NULL CHECK (connector <> ''),
  conversation TEXT NOT NULL DEFAULT '',
  thread       TEXT NOT NULL DEFAULT '',
  message_id   TEXT NOT NULL DEFAULT '',
  asker        TEXT NOT NULL DEFAULT '',
  text         TEXT NOT NULL,
  dedupe_key   TEXT NOT NULL UNIQUE CHECK (dedupe_key <> ''),
  asked_at     INTEGER NOT NULL
);
CREATE INDEX questions_by_conversation ON questions(connector, conversation, id);

CREATE TABLE suggestions (
  id              INTEGER PRIMARY KEY,
  question_id     INTEGER NOT NULL UNIQUE REFERENCES questions(id),
  text            TEXT NOT NULL DEFAULT '',
  confidence      REAL NOT NULL DEFAULT 0,
  sources_json    TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(sources_json)),
  model_version   TEXT NOT NULL DEFAULT '',
  state           TEXT NOT NULL
                  CHECK (state IN ('pending', 'approved', 'edited', 'rejected', 'abstained')),
  decided_by      TEXT NOT NULL DEFAULT '',
  decided_at      INTEGER NOT NULL DEFAULT 0,
  final_text      TEXT NOT NULL DEFAULT '',
  reason          TEXT NOT NULL DEFAULT '',
  agent_outbox_id INTEGER REFERENCES outbox(id),
  created_at      INTEGER NOT NULL
);
CREATE INDEX suggestions_by_state ON suggestions(state, id);

-- Every verdict a chat reported, applied or not (with the audit log, the
-- record of who decided what and who was refused).
CREATE TABLE verdicts (
  id            INTEGER PRIMARY KEY,
  suggestion_id INTEGER NOT NULL,   -- no foreign key: unknown ids are recorded too
  connector     TEXT NOT NULL,
  agent         TEXT NOT NULL,
  action        TEXT NOT NULL CHECK (action IN ('approve', 'edit', 'reject')),
  edited_text   TEXT NOT NULL DEFAULT '',
  reason        TEXT NOT NULL DEFAULT '',
  outcome       TEXT NOT NULL CHECK (outcome IN ('applied', 'refused', 'ignored')),
  note          TEXT NOT NULL DEFAULT '',
  inbox_id      INTEGER REFERENCES inbox(id),
  at            INTEGER NOT NULL
);
CREATE INDEX verdicts_by_suggestion ON verdicts(suggestion_id, id);

-- Messages a connector keeps here instead of sending them (the web chat).
CREATE TABLE chat_messages (
  id            INTEGER PRIMARY KEY,
  connector     TEXT NOT NULL,
  conversation  TEXT NOT NULL,
  thread        TEXT NOT NULL DEFAULT '',
  kind          TEXT NOT NULL,
  text          TEXT NOT NULL,
  outbox_id     INTEGER UNIQUE REFERENCES outbox(id),
  suggestion_id INTEGER NOT NULL DEFAULT 0,
  created_ms    INTEGER NOT NULL
);
CREATE INDEX chat_messages_by_conversation ON chat_messages(connector, conversation, id);

-- Small named values the service keeps across restarts.
CREATE TABLE service_state (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
)sql";

// The claim queries ask for `state = 'pending'` (or 'sending', 'processing')
// ordered by id. SQLite only uses a partial index whose WHERE the query's
// terms imply literally, so the IN (...) indexes of migration 2 were never
// used and every claim scanned the whole, ever-growing table.
constexpr const char* kQueueIndexes = R"sql(
DROP INDEX inbox_open;
DROP INDEX outbox_open;
CREATE INDEX inbox_pending ON inbox(id) WHERE state = 'pending';
CREATE INDEX inbox_processing ON inbox(id) WHERE state = 'processing';
CREATE INDEX outbox_pending ON outbox(id) WHERE state = 'pending';
CREATE INDEX outbox_sending ON outbox(id) WHERE state = 'sending';
)sql";

// Inbox retention deletes old done events; a verdict record pointing to one
// keeps it, and deleting a parent row makes SQLite look for children: both
// need verdicts by inbox_id.
constexpr const char* kVerdictsByInbox = R"sql(
CREATE INDEX verdicts_by_inbox ON verdicts(inbox_id);
)sql";

// Outbox retention deletes old sent rows; a row another outbox row depends
// on, or a suggestion points to, is kept, and deleting a parent row makes
// SQLite look for children (foreign keys are on): both need these lookups.
// (chat_messages.outbox_id is UNIQUE, so it has its index already.)
constexpr const char* kOutboxReferences = R"sql(
CREATE INDEX outbox_by_depends_on ON outbox(depends_on);
CREATE INDEX suggestions_by_agent_outbox ON suggestions(agent_outbox_id);
)sql";

// /metrics, /readyz and the retrain policy count the queues by state. A
// GROUP BY state read every row of the inbox (100 ms at 400,000 events,
// under the store lock the inbox writer needs): with an index per state,
// each count reads only its own index, and done / sent are the total (the
// smallest index's count) minus the others.
constexpr const char* kFailedIndexes = R"sql(
CREATE INDEX inbox_failed ON inbox(id) WHERE state = 'failed';
CREATE INDEX outbox_failed ON outbox(id) WHERE state = 'failed';
)sql";

// A dataset build writes its pairs in chunks (SqliteStore::ReplaceHarvested-
// Pairs): its snapshot is incomplete, and its pairs unread, until the last
// chunk is in. Snapshots from before this migration were written whole.
constexpr const char* kSnapshotComplete = R"sql(
ALTER TABLE dataset_snapshots ADD COLUMN complete INTEGER NOT NULL DEFAULT 1
  CHECK (complete IN (0, 1));
)sql";

// The inbox's state CHECK written with OR instead of IN (...): for an IN
// list SQLite builds a small lookup table every time the INSERT runs, about
// 1.3 us per event on the ack path (the inbox writer went from 9.2 to 7.9 us
// per event in the ack benchmark at 16 connections). Same rule, same rows.
// A CHECK cannot be altered: the table is rebuilt (SQLite's documented
// procedure), its indexes recreated, and verdicts.inbox_id, which names the
// table, refers to the new one.
constexpr const char* kInboxStateCheck = R"sql(
CREATE TABLE inbox_rebuilt (
  id              INTEGER PRIMARY KEY,
  connector       TEXT NOT NULL CHECK (connector <> ''),
  event_key       TEXT NOT NULL UNIQUE CHECK (event_key <> ''),
  kind            TEXT NOT NULL DEFAULT '',
  payload         TEXT NOT NULL,
  received_ms     INTEGER NOT NULL,
  state           TEXT NOT NULL DEFAULT 'pending'
                  CHECK (state = 'pending' OR state = 'processing' OR state = 'done' OR state = 'failed'),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT NOT NULL DEFAULT '',
  done_ms         INTEGER
);
INSERT INTO inbox_rebuilt(id, connector, event_key, kind, payload, received_ms, state, attempts,
                          next_attempt_ms, last_error, done_ms)
  SELECT id, connector, event_key, kind, payload, received_ms, state, attempts,
         next_attempt_ms, last_error, done_ms FROM inbox;
DROP TABLE inbox;
ALTER TABLE inbox_rebuilt RENAME TO inbox;
CREATE INDEX inbox_pending ON inbox(id) WHERE state = 'pending';
CREATE INDEX inbox_processing ON inbox(id) WHERE state = 'processing';
CREATE INDEX inbox_failed ON inbox(id) WHERE state = 'failed';
)sql";

// Later migrations are appended here as {N, "...", R"sql(...)sql"}.
constexpr Migration kMigrations[] = {
    {1, "tickets, messages, cursors, pairs, snapshots, model registry, audit log", kInitialSchema},
    {2, "chat service: inbox, outbox, questions, suggestions, verdicts, chat messages",
     kChatServiceSchema},
    {3, "queue indexes the claim queries use", kQueueIndexes},
    {4, "verdicts by inbox event (inbox retention)", kVerdictsByInbox},
    {5, "outbox rows by what refers to them (outbox retention)", kOutboxReferences},
    {6, "failed inbox and outbox rows (queue counts without a table scan)", kFailedIndexes},
    {7, "dataset snapshots written in chunks, read once complete", kSnapshotComplete},
    {8, "inbox state check without a per-insert lookup table", kInboxStateCheck,
     /*rebuilds_referenced_table=*/true},
};

util::Result<bool> ForeignKeysOn(sqlite3* db) {
  Stmt q(db, "PRAGMA foreign_keys");
  if (!q.Step()) return q.status().ok() ? util::Status::Internal("PRAGMA foreign_keys returned nothing")
                                        : q.status();
  return q.Int(0) != 0;
}

// The first reference PRAGMA foreign_key_check finds broken, as an error.
util::Status CheckForeignKeys(sqlite3* db, const std::string& what) {
  Stmt q(db, "PRAGMA foreign_key_check");
  if (q.Step()) {
    return util::Status::Internal(what + ": a row of " + q.Text(0) + " (rowid " +
                                  std::to_string(q.Int(1)) + ") refers to a missing row of " +
                                  q.Text(2));
  }
  return q.status().WithContext(what);
}

util::Status ApplyInTransaction(sqlite3* db, const Migration& m, const std::string& what) {
  Transaction tx(db, Transaction::Kind::kWrite);
  DESK_RETURN_IF_ERROR(tx.status().WithContext(what));
  // Another process may have migrated while we waited for the write lock.
  auto current = UserVersion(db);
  if (!current.ok()) return current.status();
  if (*current >= m.version) return util::Status::OK();
  DESK_RETURN_IF_ERROR(Exec(db, m.sql, what));
  if (m.rebuilds_referenced_table) DESK_RETURN_IF_ERROR(CheckForeignKeys(db, what));
  Stmt record(db, "INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)");
  record.Bind(1, m.version).Bind(2, m.name).Bind(3, static_cast<std::int64_t>(std::time(nullptr)));
  DESK_RETURN_IF_ERROR(record.Run().WithContext(what));
  // user_version lives in the database header, which is journaled: it
  // changes together with the schema or not at all.
  std::string set_version = "PRAGMA user_version = " + std::to_string(m.version);
  DESK_RETURN_IF_ERROR(Exec(db, set_version.c_str(), what));
  return tx.Commit().WithContext(what);
}

util::Status Apply(sqlite3* db, const Migration& m) {
  const std::string what = "schema migration " + std::to_string(m.version) + " (" + m.name + ")";
  if (!m.rebuilds_referenced_table) return ApplyInTransaction(db, m, what);
  auto enforced = ForeignKeysOn(db);
  if (!enforced.ok()) return enforced.status().WithContext(what);
  DESK_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys = OFF", what));
  util::Status st = ApplyInTransaction(db, m, what);
  // Back on whether or not the migration committed.
  if (*enforced) {
    util::Status on = Exec(db, "PRAGMA foreign_keys = ON", what);
    if (st.ok()) st = on;
  }
  return st;
}

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

util::Result<int> UserVersion(sqlite3* db) {
  Stmt q(db, "PRAGMA user_version");
  if (!q.Step()) {
    if (!q.status().ok()) return q.status();
    return util::Status::Internal("PRAGMA user_version returned nothing");
  }
  return static_cast<int>(q.Int(0));
}

util::Status Migrate(sqlite3* db, const std::string& path) {
  return Migrate(db, path, Migrations());
}

util::Status Migrate(sqlite3* db, const std::string& path, std::span<const Migration> migrations) {
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i + 1))
      return util::Status::Internal("schema migrations are not numbered 1.." +
                                    std::to_string(migrations.size()) + " in order");
  }
  auto version = UserVersion(db);
  if (!version.ok()) return version.status();
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (*version > latest) {
    return util::Status::InvalidArgument(
        "store " + path + " has schema version " + std::to_string(*version) +
        ", newer than the " + std::to_string(latest) +
        " this deskbot knows; refusing to open it (upgrade deskbot, or restore a backup)");
  }
  for (const Migration& m : migrations) {
    if (m.version <= *version) continue;
    DESK_RETURN_IF_ERROR(Apply(db, m));
  }
  return util::Status::OK();
}

}  // namespace deskbot::sqlite
