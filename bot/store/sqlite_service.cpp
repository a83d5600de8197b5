// SqliteStore: the chat service's tables (inbox, outbox, questions,
// suggestions, verdicts, chat messages, service state). Schema: migration 2 in
// migrations.cpp.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

#include "bot/store/sqlite_store.h"
#include "bot/store/sqlite_store_impl.h"
#include "bot/store/sqlite_util.h"

namespace deskbot {

using sqlite::ParseStored;
using sqlite::Stmt;
using sqlite::Transaction;

namespace {

// Errors are stored for people to read; a runaway message must not bloat rows.
std::string Clip(const std::string& s, std::size_t max = 2000) {
  return s.size() <= max ? s : s.substr(0, max) + "...";
}

// "?, ?, ?" for an IN list.
std::string Placeholders(std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += i == 0 ? "?" : ", ?";
  return s;
}

std::string SourcesToJson(const std::vector<SourceRef>& sources) {
  nlohmann::json arr = nlohmann::json::array();
  for (const SourceRef& s : sources)
    arr.push_back({{"source", s.source},
                   {"ticket", s.ticket_external_id},
                   {"question", s.question},
                   {"score", s.score}});
  return arr.dump();
}

std::vector<SourceRef> SourcesFromJson(const std::string& text) {
  std::vector<SourceRef> out;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& el : j) {
    if (!el.is_object()) continue;
    SourceRef s;
    s.source = el.value("source", "");
    s.ticket_external_id = el.value("ticket", "");
    s.question = el.value("question", "");
    s.score = el.value("score", 0.0);
    out.push_back(std::move(s));
  }
  return out;
}

// --- rows ------------------------------------------------------------------------

constexpr const char* kQuestionColumns =
    "q.id, q.connector, q.conversation, q.thread, q.message_id, q.asker, q.text, q.dedupe_key, "
    "q.asked_at";
constexpr int kQuestionColumnCount = 9;

Question ReadQuestion(const Stmt& s, int c) {
  Question q;
  q.id = s.Int(c + 0);
  q.connector = s.Text(c + 1);
  q.conversation = s.Text(c + 2);
  q.thread = s.Text(c + 3);
  q.message_id = s.Text(c + 4);
  q.asker = s.Text(c + 5);
  q.text = s.Text(c + 6);
  q.dedupe_key = s.Text(c + 7);
  q.asked_at = s.Int(c + 8);
  return q;
}

// The suggestion's columns, and the result_ref of the outbox row that showed
// it to agents.
constexpr const char* kSuggestionColumns =
    "s.id, s.question_id, s.text, s.confidence, s.sources_json, s.model_version, s.state, "
    "s.decided_by, s.decided_at, s.final_text, s.reason, s.agent_outbox_id, "
    "COALESCE(ao.result_ref, ''), s.created_at";
constexpr int kSuggestionColumnCount = 14;
constexpr const char* kSuggestionFrom =
    " FROM suggestions s LEFT JOIN outbox ao ON ao.id = s.agent_outbox_id AND ao.state = 'sent'";

Status ReadSuggestion(const Stmt& q, int c, SuggestionRecord* s) {
  s->id = q.Int(c + 0);
  s->question_id = q.Int(c + 1);
  s->text = q.Text(c + 2);
  s->confidence = q.Double(c + 3);
  s->sources = SourcesFromJson(q.Text(c + 4));
  s->model_version = q.Text(c + 5);
  std::string state = q.Text(c + 6);
  DESK_RETURN_IF_ERROR(ParseStored(ParseSuggestionState(state), state, "suggestion state", &s->state));
  s->decided_by = q.Text(c + 7);
  s->decided_at = q.Int(c + 8);
  s->final_text = q.Text(c + 9);
  s->reason = q.Text(c + 10);
  s->agent_outbox_id = q.IsNull(c + 11) ? 0 : q.Int(c + 11);
  s->agent_message_ref = q.Text(c + 12);
  s->created_at = q.Int(c + 13);
  return Status::OK();
}

constexpr const char* kOutboxColumns =
    "o.id, o.connector, o.kind, o.payload, o.idempotency_key, o.depends_on, "
    "COALESCE(d.result_ref, ''), o.state, o.attempts, o.next_attempt_ms, o.last_error, "
    "o.result_ref, o.created_ms";
constexpr const char* kOutboxFrom = " FROM outbox o LEFT JOIN outbox d ON d.id = o.depends_on";

Status ReadOutbox(const Stmt& q, OutboxRow* r) {
  r->id = q.Int(0);
  r->connector = q.Text(1);
  std::string kind = q.Text(2);
  DESK_RETURN_IF_ERROR(ParseStored(ParseOutboxKind(kind), kind, "outbox kind", &r->kind));
  r->payload = q.Text(3);
  r->idempotency_key = q.Text(4);
  r->depends_on = q.IsNull(5) ? 0 : q.Int(5);
  r->depends_on_ref = q.Text(6);
  std::string state = q.Text(7);
  DESK_RETURN_IF_ERROR(ParseStored(ParseOutboxState(state), state, "outbox state", &r->state));
  r->attempts = static_cast<int>(q.Int(8));
  r->next_attempt_ms = q.Int(9);
  r->last_error = q.Text(10);
  r->result_ref = q.Text(11);
  r->created_ms = q.Int(12);
  return Status::OK();
}

constexpr const char* kChatMessageColumns =
    "id, connector, conversation, thread, kind, text, outbox_id, suggestion_id, created_ms";

ChatMessage ReadChatMessage(const Stmt& q) {
  ChatMessage m;
  m.id = q.Int(0);
  m.connector = q.Text(1);
  m.conversation = q.Text(2);
  m.thread = q.Text(3);
  m.kind = q.Text(4);
  m.text = q.Text(5);
  m.outbox_id = q.IsNull(6) ? 0 : q.Int(6);
  m.suggestion_id = q.Int(7);
  m.created_ms = q.Int(8);
  return m;
}

Result<std::optional<SuggestionView>> QuerySuggestion(sqlite3* db, std::int64_t id) {
  Stmt q(db, std::string("SELECT ") + kSuggestionColumns + ", " + kQuestionColumns +
                 kSuggestionFrom + " JOIN questions q ON q.id = s.question_id WHERE s.id = ?");
  q.Bind(1, id);
  if (!q.Step()) {
    DESK_RETURN_IF_ERROR(q.status().WithContext("store: suggestion " + std::to_string(id)));
    return std::optional<SuggestionView>();
  }
  SuggestionView v;
  DESK_RETURN_IF_ERROR(ReadSuggestion(q, 0, &v.suggestion));
  v.question = ReadQuestion(q, kSuggestionColumnCount);
  return std::optional<SuggestionView>(std::move(v));
}

// --- the transaction of one processed inbox event --------------------------------

class SqliteChatTransaction final : public ChatTransaction {
 public:
  explicit SqliteChatTransaction(sqlite3* db) : db_(db) {}

  Result<std::optional<std::int64_t>> InsertQuestion(const Question& q) override {
    Stmt ins(db_,
             "INSERT INTO questions(connector, conversation, thread, message_id, asker, text, "
             "dedupe_key, asked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
             "ON CONFLICT(dedupe_key) DO NOTHING");
    ins.Bind(1, q.connector)
        .Bind(2, q.conversation)
        .Bind(3, q.thread)
        .Bind(4, q.message_id)
        .Bind(5, q.asker)
        .Bind(6, q.text)
        .Bind(7, q.dedupe_key)
        .Bind(8, q.asked_at != 0 ? q.asked_at : NowSeconds());
    DESK_RETURN_IF_ERROR(ins.Run().WithContext("store: question " + q.dedupe_key));
    if (sqlite3_changes(db_) == 0) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::optional<Question>> GetQuestion(std::int64_t id) override {
    Stmt q(db_, std::string("SELECT ") + kQuestionColumns + " FROM questions q WHERE q.id = ?");
    q.Bind(1, id);
    if (!q.Step()) {
      DESK_RETURN_IF_ERROR(q.status().WithContext("store: question " + std::to_string(id)));
      return std::optional<Question>();
    }
    return std::optional<Question>(ReadQuestion(q, 0));
  }

  Result<std::int64_t> InsertSuggestion(const SuggestionRecord& s) override {
    Stmt ins(db_,
             "INSERT INTO suggestions(question_id, text, confidence, sources_json, model_version, "
             "state, decided_by, decided_at, final_text, reason, agent_outbox_id, created_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.Bind(1, s.question_id)
        .Bind(2, s.text)
        .Bind(3, s.confidence)
        .Bind(4, SourcesToJson(s.sources))
        .Bind(5, s.model_version)
        .Bind(6, SuggestionStateName(s.state))
        .Bind(7, s.decided_by)
        .Bind(8, s.decided_at)
        .Bind(9, s.final_text)
        .Bind(10, s.reason)
        .BindIdOrNull(11, s.agent_outbox_id)
        .Bind(12, s.created_at != 0 ? s.created_at : NowSeconds());
    DESK_RETURN_IF_ERROR(
        ins.Run().WithContext("store: suggestion for question " + std::to_string(s.question_id)));
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::optional<SuggestionRecord>> GetSuggestion(std::int64_t id) override {
    auto view = QuerySuggestion(db_, id);
    if (!view.ok()) return view.status();
    if (!view->has_value()) return std::optional<SuggestionRecord>();
    return std::optional<SuggestionRecord>(std::move((*view)->suggestion));
  }

  Status UpdateSuggestion(const SuggestionRecord& s) override {
    const std::string what = "store: suggestion " + std::to_string(s.id);
    Stmt up(db_,
            "UPDATE suggestions SET state = ?, decided_by = ?, decided_at = ?, final_text = ?, "
            "reason = ?, agent_outbox_id = ? WHERE id = ?");
    up.Bind(1, SuggestionStateName(s.state))
        .Bind(2, s.decided_by)
        .Bind(3, s.decided_at)
        .Bind(4, s.final_text)
        .Bind(5, s.reason)
        .BindIdOrNull(6, s.agent_outbox_id)
        .Bind(7, s.id);
    DESK_RETURN_IF_ERROR(up.Run().WithContext(what));
    if (sqlite3_changes(db_) == 0) return Status::NotFound(what);
    return Status::OK();
  }

  Result<std::int64_t> Enqueue(const OutboxItem& item) override {
    const std::string what = "store: outbox " + item.idempotency_key;
    Stmt ins(db_,
             "INSERT INTO outbox(connector, kind, payload, idempotency_key, depends_on, created_ms) "
             "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(idempotency_key) DO NOTHING");
    ins.Bind(1, item.connector)
        .Bind(2, OutboxKindName(item.kind))
        .Bind(3, item.payload)
        .Bind(4, item.idempotency_key)
        .BindIdOrNull(5, item.depends_on)
        .Bind(6, NowMs());
    DESK_RETURN_IF_ERROR(ins.Run().WithContext(what));
    if (sqlite3_changes(db_) > 0) return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
    Stmt q(db_, "SELECT id FROM outbox WHERE idempotency_key = ?");
    q.Bind(1, item.idempotency_key);
    if (q.Step()) return q.Int(0);
    DESK_RETURN_IF_ERROR(q.status().WithContext(what));
    return Status::Internal(what + ": neither inserted nor found");
  }

  Status RecordVerdict(const VerdictRecord& r) override {
    Stmt ins(db_,
             "INSERT INTO verdicts(suggestion_id, connector, agent, action, edited_text, reason, "
             "outcome, note, inbox_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    ins.Bind(1, r.verdict.suggestion_id)
        .Bind(2, r.connector)
        .Bind(3, r.verdict.agent)
        .Bind(4, VerdictActionName(r.verdict.action))
        .Bind(5, r.verdict.edited_text)
        .Bind(6, r.verdict.reason)
        .Bind(7, VerdictOutcomeName(r.outcome))
        .Bind(8, r.note)
        .BindIdOrNull(9, r.inbox_id)
        .Bind(10, r.at != 0 ? r.at : NowSeconds());
    return ins.Run().WithContext("store: verdict on suggestion " +
                                 std::to_string(r.verdict.suggestion_id));
  }

  Result<std::int64_t> AddPair(const Pair& p) override {
    Stmt ins(db_,
             "INSERT INTO pairs(source, ticket_external_id, question, answer, origin, weight, "
             "split, created_at, snapshot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)");
    ins.Bind(1, p.source)
        .Bind(2, p.ticket_external_id)
        .Bind(3, p.question)
        .Bind(4, p.answer)
        .Bind(5, PairOriginName(p.origin))
        .Bind(6, p.weight)
        .Bind(7, SplitName(p.split))
        .Bind(8, p.created_at);
    DESK_RETURN_IF_ERROR(ins.Run().WithContext("store: add pair"));
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Result<std::int64_t> AddPreferencePair(const PreferencePair& p) override {
    Stmt ins(db_,
             "INSERT INTO preference_pairs(question, preferred, rejected, created_at) "
             "VALUES (?, ?, ?, ?)");
    ins.Bind(1, p.question)
        .Bind(2, p.preferred)
        .Bind(3, p.rejected)
        .Bind(4, p.created_at != 0 ? p.created_at : NowSeconds());
    DESK_RETURN_IF_ERROR(ins.Run().WithContext("store: add preference pair"));
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
  }

  Status AppendAudit(const AuditEntry& e) override {
    Stmt ins(db_, "INSERT INTO audit_log(actor, action, detail, at) VALUES (?, ?, ?, ?)");
    ins.Bind(1, e.actor).Bind(2, e.action).Bind(3, e.detail).Bind(4, e.at != 0 ? e.at : NowSeconds());
    return ins.Run().WithContext("store: audit");
  }

 private:
  sqlite3* db_;
};

// Binds connectors[i] to placeholders first..first+n-1.
void BindAll(Stmt& s, int first, std::span<const std::string> values) {
  for (std::size_t i = 0; i < values.size(); ++i) s.Bind(first + static_cast<int>(i), values[i]);
}

// UPDATE one inbox/outbox row that must be in `from_state`; kNotFound otherwise.
Status UpdateRow(sqlite3* db, const std::string& sql, std::int64_t id, const std::string& what,
                 const std::function<void(Stmt&)>& bind) {
  Stmt up(db, sql);
  bind(up);
  DESK_RETURN_IF_ERROR(up.Run().WithContext(what));
  if (sqlite3_changes(db) == 0) return Status::NotFound(what + ": not in the expected state");
  return Status::OK();
}

}  // namespace

// --- inbox -------------------------------------------------------------------------

Result<std::vector<bool>> SqliteStore::InsertInboxBatch(std::span<const InboxEvent> events) {
  std::vector<bool> fresh(events.size(), false);
  if (events.empty()) return fresh;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  // Statements prepared once for the connection: this is the ack path.
  Transaction tx(*impl_->cache, Transaction::Kind::kWrite);
  DESK_RETURN_IF_ERROR(tx.status().WithContext("store: inbox"));
  // One statement per event. One INSERT for up to 32 events (RETURNING the
  // keys it stored) was measured too: half the SQL cost per row in a
  // benchmark of the schema alone, but more CPU per acknowledged event in the
  // ack benchmark (inbox-writer 5.4 -> 9.3 us at 64 connections).
  Stmt ins(*impl_->cache,
           "INSERT INTO inbox(connector, event_key, kind, payload, received_ms, state, done_ms) "
           "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_key) DO NOTHING");
  const std::int64_t now = NowMs();
  for (std::size_t i = 0; i < events.size(); ++i) {
    const InboxEvent& e = events[i];
    ins.Reset();
    // The events outlive the statement's use: no copy of each payload.
    ins.BindStatic(1, e.connector)
        .BindStatic(2, e.event_key)
        .BindStatic(3, e.kind)
        .BindStatic(4, e.payload)
        .Bind(5, e.received_ms != 0 ? e.received_ms : now)
        .Bind(6, e.needs_processing ? "pending" : "done");
    if (e.needs_processing) ins.BindNull(7);
    else ins.Bind(7, now);
    // (The context string is built only on error: this loop runs per event.)
    if (Status st = ins.Run(); !st.ok()) return st.WithContext("store: inbox event " + e.event_key);
    fresh[i] = sqlite3_changes(db) > 0;
  }
  DESK_RETURN_IF_ERROR(tx.Commit().WithContext("store: inbox"));
  return fresh;
}

Result<std::vector<InboxEvent>> SqliteStore::ClaimInbox(std::span<const std::string> connectors,
                                                        int max_rows, std::int64_t now_ms) {
  std::vector<InboxEvent> out;
  if (connectors.empty() || max_rows <= 0) return out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt claim(*impl_->cache,
             "UPDATE inbox SET state = 'processing', attempts = attempts + 1 WHERE id IN ("
             "SELECT id FROM inbox WHERE state = 'pending' AND next_attempt_ms <= ? AND connector IN (" +
                 Placeholders(connectors.size()) +
                 ") ORDER BY id LIMIT ?) "
                 "RETURNING id, connector, event_key, kind, payload, received_ms, attempts");
  claim.Bind(1, now_ms);
  BindAll(claim, 2, connectors);
  claim.Bind(2 + static_cast<int>(connectors.size()), max_rows);
  while (claim.Step()) {
    InboxEvent e;
    e.id = claim.Int(0);
    e.connector = claim.Text(1);
    e.event_key = claim.Text(2);
    e.kind = claim.Text(3);
    e.payload = claim.Text(4);
    e.received_ms = claim.Int(5);
    e.attempts = static_cast<int>(claim.Int(6));
    out.push_back(std::move(e));
  }
  DESK_RETURN_IF_ERROR(claim.status().WithContext("store: claim inbox"));
  // RETURNING does not promise an order; process oldest first.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Status SqliteStore::CompleteInbox(std::int64_t inbox_id,
                                  const std::function<Status(ChatTransaction&)>& effects) {
  const std::string what = "store: inbox event " + std::to_string(inbox_id);
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Transaction tx(db, Transaction::Kind::kWrite);
  DESK_RETURN_IF_ERROR(tx.status().WithContext(what));
  {
    Stmt q(db, "SELECT state FROM inbox WHERE id = ?");
    q.Bind(1, inbox_id);
    if (!q.Step()) {
      DESK_RETURN_IF_ERROR(q.status().WithContext(what));
      return Status::NotFound(what + ": no such event");
    }
    if (q.Text(0) != "processing")
      return Status::NotFound(what + ": not claimed (state " + q.Text(0) + ")");
  }
  SqliteChatTransaction chat_tx(db);
  DESK_RETURN_IF_ERROR(effects(chat_tx));
  Stmt done(db, "UPDATE inbox SET state = 'done', done_ms = ?, last_error = '' WHERE id = ?");
  DESK_RETURN_IF_ERROR(done.Bind(1, NowMs()).Bind(2, inbox_id).Run().WithContext(what));
  return tx.Commit().WithContext(what);
}

Result<std::int64_t> SqliteStore::CompleteInboxBatch(std::span<const std::int64_t> inbox_ids) {
  if (inbox_ids.empty()) return std::int64_t{0};
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Transaction tx(*impl_->cache, Transaction::Kind::kWrite);
  DESK_RETURN_IF_ERROR(tx.status().WithContext("store: complete inbox batch"));
  Stmt done(*impl_->cache,
            "UPDATE inbox SET state = 'done', done_ms = ?, last_error = '' "
            "WHERE id = ? AND state = 'processing'");
  const std::int64_t now = NowMs();
  std::int64_t marked = 0;
  for (std::int64_t id : inbox_ids) {
    done.Reset();
    if (Status st = done.Bind(1, now).Bind(2, id).Run(); !st.ok())
      return st.WithContext("store: complete inbox event " + std::to_string(id));
    marked += sqlite3_changes(db);
  }
  DESK_RETURN_IF_ERROR(tx.Commit().WithContext("store: complete inbox batch"));
  return marked;
}

Status SqliteStore::RetryInbox(std::int64_t inbox_id, const std::string& error,
                               std::int64_t next_attempt_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return UpdateRow(impl_->db,
                   "UPDATE inbox SET state = 'pending', last_error = ?, next_attempt_ms = ? "
                   "WHERE id = ? AND state = 'processing'",
                   inbox_id, "store: retry inbox event " + std::to_string(inbox_id),
                   [&](Stmt& s) { s.Bind(1, Clip(error)).Bind(2, next_attempt_ms).Bind(3, inbox_id); });
}

Status SqliteStore::FailInbox(std::int64_t inbox_id, const std::string& error) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return UpdateRow(impl_->db,
                   "UPDATE inbox SET state = 'failed', last_error = ?, done_ms = ? "
                   "WHERE id = ? AND state = 'processing'",
                   inbox_id, "store: fail inbox event " + std::to_string(inbox_id),
                   [&](Stmt& s) { s.Bind(1, Clip(error)).Bind(2, NowMs()).Bind(3, inbox_id); });
}

Status SqliteStore::ReleaseInbox(std::span<const std::int64_t> inbox_ids) {
  if (inbox_ids.empty()) return Status::OK();
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Transaction tx(db, Transaction::Kind::kWrite);
  DESK_RETURN_IF_ERROR(tx.status().WithContext("store: release inbox"));
  Stmt up(db,
          "UPDATE inbox SET state = 'pending', attempts = max(attempts - 1, 0) "
          "WHERE id = ? AND state = 'processing'");
  for (std::int64_t id : inbox_ids) {
    up.Reset();
    DESK_RETURN_IF_ERROR(up.Bind(1, id).Run().WithContext("store: release inbox event " +
                                                          std::to_string(id)));
  }
  return tx.Commit().WithContext("store: release inbox");
}

namespace {

// The retention prunes look only at rows older than their cutoff. Ids grow
// with time (one writer stores rows as they come, stamped with the local
// clock), so those rows are the ids below the first row stamped at or after
// the cutoff: found here by binary search over ids, a few dozen index seeks,
// instead of reading the table. (Before, every run read the whole retained
// inbox under the lock the ack path needs: 50 ms at 400,000 events, when
// nothing was old enough.) A clock that stepped back only makes a row wait
// for a later run: the prunes still check each row's own time.
// `table` and `column` are this file's constants, never input.
Result<std::int64_t> FirstIdSince(sqlite3* db, const std::string& table, const std::string& column,
                                  std::int64_t cutoff_ms) {
  const std::string what = "store: " + table + " rows since " + std::to_string(cutoff_ms);
  std::int64_t lo = 0, hi = 0;
  {
    // Two subqueries: SQLite answers a lone min() or max() from the end of
    // the rowid tree, but min(id), max(id) together with a full scan.
    Stmt range(db, "SELECT (SELECT min(id) FROM " + table + "), (SELECT max(id) FROM " + table + ")");
    if (!range.Step() || range.IsNull(0)) {
      DESK_RETURN_IF_ERROR(range.status().WithContext(what));
      return std::numeric_limits<std::int64_t>::max();  // empty: nothing to bound
    }
    lo = range.Int(0);
    hi = range.Int(1) + 1;  // past the end: "no row since the cutoff"
  }
  // Is the first row at or after `id` stamped at or after the cutoff?
  Stmt at(db, "SELECT " + column + " FROM " + table + " WHERE id >= ? ORDER BY id LIMIT 1");
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    at.Reset();
    at.Bind(1, mid);
    const bool recent = !at.Step() || at.Int(0) >= cutoff_ms;
    DESK_RETURN_IF_ERROR(at.status().WithContext(what));
    if (recent) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// Deletes up to `max_rows` rows of `table`, oldest first, among those stamped
// (`stamped`: when the row was made) before `cutoff_ms` and for which
// `deletable` holds: an SQL condition on the row as `t`, where ?1 is the
// cutoff, that only a row made before the cutoff can meet. Returns how many.
// The SQL pieces are this file's constants, never input.
Result<std::int64_t> PruneOldRows(sqlite3* db, const std::string& table, const std::string& stamped,
                                  const std::string& deletable, std::int64_t cutoff_ms,
                                  int max_rows) {
  const std::string what = "store: prune " + table;
  if (max_rows <= 0) return std::int64_t{0};
  auto bound = FirstIdSince(db, table, stamped, cutoff_ms);
  if (!bound.ok()) return bound.status().WithContext(what);
  Stmt prune(db, "DELETE FROM " + table + " WHERE id IN (SELECT t.id FROM " + table +
                     " t WHERE t.id < ?3 AND " + deletable + " ORDER BY t.id LIMIT ?2)");
  prune.Bind(1, cutoff_ms).Bind(2, max_rows).Bind(3, *bound);
  DESK_RETURN_IF_ERROR(prune.Run().WithContext(what));
  return static_cast<std::int64_t>(sqlite3_changes(db));
}

}  // namespace

Result<std::int64_t> SqliteStore::PruneInbox(std::int64_t done_before_ms, int max_rows) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // An event a verdict record points to stays, for the audit trail.
  return PruneOldRows(impl_->db, "inbox", "received_ms",
                      "t.state = 'done' AND t.done_ms < ?1 "
                      "AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.inbox_id = t.id)",
                      done_before_ms, max_rows);
}

Result<std::int64_t> SqliteStore::RequeueProcessingInbox() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // attempts stay counted: an event that kills the process every time it is
  // processed must eventually be given up on, not retried forever.
  DESK_RETURN_IF_ERROR(sqlite::Exec(impl_->db,
                                    "UPDATE inbox SET state = 'pending' WHERE state = 'processing'",
                                    "store: requeue inbox"));
  return static_cast<std::int64_t>(sqlite3_changes(impl_->db));
}

// --- outbox ------------------------------------------------------------------------

Result<std::vector<OutboxRow>> SqliteStore::ClaimOutbox(std::span<const std::string> connectors,
                                                        int max_rows, std::int64_t now_ms) {
  std::vector<OutboxRow> out;
  if (connectors.empty() || max_rows <= 0) return out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  const std::string what = "store: claim outbox";
  Transaction tx(db, Transaction::Kind::kWrite);
  DESK_RETURN_IF_ERROR(tx.status().WithContext(what));
  {
    Stmt q(db, std::string("SELECT ") + kOutboxColumns + kOutboxFrom +
                   " WHERE o.state = 'pending' AND o.next_attempt_ms <= ? AND o.connector IN (" +
                   Placeholders(connectors.size()) +
                   ") AND (o.depends_on IS NULL OR d.state IN ('sent', 'failed')) "
                   "ORDER BY o.id LIMIT ?");
    q.Bind(1, now_ms);
    BindAll(q, 2, connectors);
    q.Bind(2 + static_cast<int>(connectors.size()), max_rows);
    while (q.Step()) {
      OutboxRow r;
      DESK_RETURN_IF_ERROR(ReadOutbox(q, &r));
      out.push_back(std::move(r));
    }
    DESK_RETURN_IF_ERROR(q.status().WithContext(what));
  }
  Stmt up(db, "UPDATE outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?");
  for (OutboxRow& r : out) {
    up.Reset();
    DESK_RETURN_IF_ERROR(up.Bind(1, r.id).Run().WithContext(what));
    r.state = OutboxState::kSending;
    r.attempts += 1;
  }
  DESK_RETURN_IF_ERROR(tx.Commit().WithContext(what));
  return out;
}

Result<std::vector<OutboxRow>> SqliteStore::ListSendingOutbox(
    std::span<const std::string> connectors) {
  std::vector<OutboxRow> out;
  if (connectors.empty()) return out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, std::string("SELECT ") + kOutboxColumns + kOutboxFrom +
                        " WHERE o.state = 'sending' AND o.connector IN (" +
                        Placeholders(connectors.size()) + ") ORDER BY o.id");
  BindAll(q, 1, connectors);
  while (q.Step()) {
    OutboxRow r;
    DESK_RETURN_IF_ERROR(ReadOutbox(q, &r));
    out.push_back(std::move(r));
  }
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: sending outbox rows"));
  return out;
}

Status SqliteStore::MarkOutboxSent(std::int64_t outbox_id, const std::string& result_ref) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return UpdateRow(impl_->db,
                   "UPDATE outbox SET state = 'sent', result_ref = ?, sent_ms = ?, last_error = '' "
                   "WHERE id = ? AND state = 'sending'",
                   outbox_id, "store: outbox row " + std::to_string(outbox_id) + " sent",
                   [&](Stmt& s) { s.Bind(1, result_ref).Bind(2, NowMs()).Bind(3, outbox_id); });
}

Status SqliteStore::RetryOutbox(std::int64_t outbox_id, const std::string& error,
                                std::int64_t next_attempt_ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return UpdateRow(impl_->db,
                   "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_ms = ? "
                   "WHERE id = ? AND state = 'sending'",
                   outbox_id, "store: retry outbox row " + std::to_string(outbox_id),
                   [&](Stmt& s) { s.Bind(1, Clip(error)).Bind(2, next_attempt_ms).Bind(3, outbox_id); });
}

Status SqliteStore::FailOutbox(std::int64_t outbox_id, const std::string& error) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return UpdateRow(impl_->db,
                   "UPDATE outbox SET state = 'failed', last_error = ? "
                   "WHERE id = ? AND state IN ('sending', 'pending')",
                   outbox_id, "store: fail outbox row " + std::to_string(outbox_id),
                   [&](Stmt& s) { s.Bind(1, Clip(error)).Bind(2, outbox_id); });
}

Status SqliteStore::ReleaseOutbox(std::int64_t outbox_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return UpdateRow(impl_->db,
                   "UPDATE outbox SET state = 'pending', attempts = max(attempts - 1, 0) "
                   "WHERE id = ? AND state = 'sending'",
                   outbox_id, "store: release outbox row " + std::to_string(outbox_id),
                   [&](Stmt& s) { s.Bind(1, outbox_id); });
}

Result<std::optional<OutboxRow>> SqliteStore::GetOutbox(std::int64_t outbox_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, std::string("SELECT ") + kOutboxColumns + kOutboxFrom + " WHERE o.id = ?");
  q.Bind(1, outbox_id);
  if (!q.Step()) {
    DESK_RETURN_IF_ERROR(q.status().WithContext("store: outbox row " + std::to_string(outbox_id)));
    return std::optional<OutboxRow>();
  }
  OutboxRow r;
  DESK_RETURN_IF_ERROR(ReadOutbox(q, &r));
  return std::optional<OutboxRow>(std::move(r));
}

Result<std::optional<std::int64_t>> SqliteStore::NextOutboxDue(
    std::span<const std::string> connectors) {
  if (connectors.empty()) return std::optional<std::int64_t>();
  std::lock_guard<std::mutex> lock(impl_->mu);
  // Rows waiting for another row are not due until that one is done.
  Stmt q(impl_->db, std::string("SELECT min(o.next_attempt_ms)") + kOutboxFrom +
                        " WHERE o.state = 'pending' AND o.connector IN (" +
                        Placeholders(connectors.size()) +
                        ") AND (o.depends_on IS NULL OR d.state IN ('sent', 'failed'))");
  BindAll(q, 1, connectors);
  if (q.Step() && !q.IsNull(0)) return std::optional<std::int64_t>(q.Int(0));
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: next outbox row"));
  return std::optional<std::int64_t>();
}

Result<std::int64_t> SqliteStore::PruneOutbox(std::int64_t sent_before_ms, int max_rows) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  // A row any other row depends on is kept whatever that row's state: a
  // pending update still needs its parent's result_ref, and with foreign keys
  // on, deleting a parent whose child stays would fail the whole chunk. The
  // parent goes in a later run, once its children are gone.
  return PruneOldRows(impl_->db, "outbox", "created_ms",
                      "t.state = 'sent' AND t.sent_ms < ?1 "
                      "AND NOT EXISTS (SELECT 1 FROM outbox c WHERE c.depends_on = t.id) "
                      "AND NOT EXISTS (SELECT 1 FROM suggestions s WHERE s.agent_outbox_id = t.id) "
                      "AND NOT EXISTS (SELECT 1 FROM chat_messages m WHERE m.outbox_id = t.id)",
                      sent_before_ms, max_rows);
}

// --- questions and suggestions --------------------------------------------------------

Result<std::optional<SuggestionView>> SqliteStore::GetSuggestion(std::int64_t suggestion_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return QuerySuggestion(impl_->db, suggestion_id);
}

Result<std::vector<SuggestionView>> SqliteStore::ListSuggestions(const SuggestionFilter& filter) {
  std::string sql = std::string("SELECT ") + kSuggestionColumns + ", " + kQuestionColumns +
                    kSuggestionFrom + " JOIN questions q ON q.id = s.question_id WHERE 1";
  if (!filter.connector.empty()) sql += " AND q.connector = ?";
  if (!filter.states.empty()) sql += " AND s.state IN (" + Placeholders(filter.states.size()) + ")";
  if (filter.posted_only) sql += " AND ao.id IS NOT NULL";
  sql += " ORDER BY s.id DESC LIMIT ?";
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, sql);
  int i = 1;
  if (!filter.connector.empty()) q.Bind(i++, filter.connector);
  for (SuggestionState s : filter.states) q.Bind(i++, SuggestionStateName(s));
  q.Bind(i, filter.limit > 0 ? filter.limit : std::int64_t{-1});
  std::vector<SuggestionView> out;
  while (q.Step()) {
    SuggestionView v;
    DESK_RETURN_IF_ERROR(ReadSuggestion(q, 0, &v.suggestion));
    v.question = ReadQuestion(q, kSuggestionColumnCount);
    out.push_back(std::move(v));
  }
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: suggestions"));
  return out;
}

Result<std::vector<Question>> SqliteStore::ListQuestions(const std::string& connector,
                                                         const std::string& conversation) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, std::string("SELECT ") + kQuestionColumns +
                        " FROM questions q WHERE q.connector = ? AND q.conversation = ? ORDER BY q.id");
  q.Bind(1, connector).Bind(2, conversation);
  std::vector<Question> out;
  while (q.Step()) out.push_back(ReadQuestion(q, 0));
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: questions"));
  return out;
}

Result<std::vector<VerdictRecord>> SqliteStore::ListVerdicts(std::int64_t suggestion_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db,
         "SELECT id, suggestion_id, connector, agent, action, edited_text, reason, outcome, note, "
         "inbox_id, at FROM verdicts WHERE suggestion_id = ? ORDER BY id");
  q.Bind(1, suggestion_id);
  std::vector<VerdictRecord> out;
  while (q.Step()) {
    VerdictRecord r;
    r.id = q.Int(0);
    r.verdict.suggestion_id = q.Int(1);
    r.connector = q.Text(2);
    r.verdict.agent = q.Text(3);
    std::string action = q.Text(4);
    DESK_RETURN_IF_ERROR(ParseStored(ParseVerdictAction(action), action, "verdict action",
                                     &r.verdict.action));
    r.verdict.edited_text = q.Text(5);
    r.verdict.reason = q.Text(6);
    std::string outcome = q.Text(7);
    std::optional<VerdictOutcome> parsed;
    for (const auto& [o, name] : kVerdictOutcomes)
      if (outcome == name) parsed = o;
    DESK_RETURN_IF_ERROR(ParseStored(parsed, outcome, "verdict outcome", &r.outcome));
    r.note = q.Text(8);
    r.inbox_id = q.IsNull(9) ? 0 : q.Int(9);
    r.at = q.Int(10);
    out.push_back(std::move(r));
  }
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: verdicts"));
  return out;
}

// --- stored chat messages ----------------------------------------------------------------

Result<std::int64_t> SqliteStore::AddChatMessage(const ChatMessage& m) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  const std::string what = "store: chat message";
  Stmt ins(db,
           "INSERT INTO chat_messages(connector, conversation, thread, kind, text, outbox_id, "
           "suggestion_id, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT(outbox_id) DO NOTHING");
  ins.Bind(1, m.connector)
      .Bind(2, m.conversation)
      .Bind(3, m.thread)
      .Bind(4, m.kind)
      .Bind(5, m.text)
      .BindIdOrNull(6, m.outbox_id)
      .Bind(7, m.suggestion_id)
      .Bind(8, m.created_ms != 0 ? m.created_ms : NowMs());
  DESK_RETURN_IF_ERROR(ins.Run().WithContext(what));
  if (sqlite3_changes(db) > 0) return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db));
  Stmt q(db, "SELECT id FROM chat_messages WHERE outbox_id = ?");
  q.Bind(1, m.outbox_id);
  if (q.Step()) return q.Int(0);
  DESK_RETURN_IF_ERROR(q.status().WithContext(what));
  return Status::Internal(what + ": neither inserted nor found");
}

Result<std::optional<ChatMessage>> SqliteStore::FindChatMessageByOutbox(std::int64_t outbox_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db,
         std::string("SELECT ") + kChatMessageColumns + " FROM chat_messages WHERE outbox_id = ?");
  q.Bind(1, outbox_id);
  if (q.Step()) return std::optional<ChatMessage>(ReadChatMessage(q));
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: chat message"));
  return std::optional<ChatMessage>();
}

Result<std::vector<ChatMessage>> SqliteStore::ListChatMessages(const std::string& connector,
                                                               const std::string& conversation,
                                                               std::int64_t after_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, std::string("SELECT ") + kChatMessageColumns +
                        " FROM chat_messages WHERE connector = ? AND conversation = ? AND id > ? "
                        "ORDER BY id LIMIT 1000");
  q.Bind(1, connector).Bind(2, conversation).Bind(3, after_id);
  std::vector<ChatMessage> out;
  while (q.Step()) out.push_back(ReadChatMessage(q));
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: chat messages"));
  return out;
}

// --- counts and state ----------------------------------------------------------------------

Result<ChatQueueCounts> SqliteStore::CountChatQueues() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  const std::string what = "store: queue counts";
  Transaction tx(db, Transaction::Kind::kRead);  // one consistent picture
  DESK_RETURN_IF_ERROR(tx.status().WithContext(what));
  ChatQueueCounts c;
  // Each state's count reads its partial index (migrations 3 and 6); the
  // total reads the table's smallest index. No table row is read, so the
  // cost is the queues' length plus one index walk, not the table's size.
  auto count = [&](const std::string& sql, std::int64_t* out) {
    Stmt q(db, sql);
    if (q.Step()) *out = q.Int(0);
    return q.status().WithContext(what);
  };
  std::int64_t inbox_total = 0, outbox_total = 0;
  DESK_RETURN_IF_ERROR(count("SELECT count(*) FROM inbox", &inbox_total));
  DESK_RETURN_IF_ERROR(count("SELECT count(*) FROM inbox WHERE state = 'pending'", &c.inbox_pending));
  DESK_RETURN_IF_ERROR(
      count("SELECT count(*) FROM inbox WHERE state = 'processing'", &c.inbox_processing));
  DESK_RETURN_IF_ERROR(count("SELECT count(*) FROM inbox WHERE state = 'failed'", &c.inbox_failed));
  c.inbox_done = inbox_total - c.inbox_pending - c.inbox_processing - c.inbox_failed;
  DESK_RETURN_IF_ERROR(count("SELECT count(*) FROM outbox", &outbox_total));
  DESK_RETURN_IF_ERROR(count("SELECT count(*) FROM outbox WHERE state = 'pending'", &c.outbox_pending));
  DESK_RETURN_IF_ERROR(count("SELECT count(*) FROM outbox WHERE state = 'sending'", &c.outbox_sending));
  DESK_RETURN_IF_ERROR(count("SELECT count(*) FROM outbox WHERE state = 'failed'", &c.outbox_failed));
  c.outbox_sent = outbox_total - c.outbox_pending - c.outbox_sending - c.outbox_failed;
  {
    Stmt q(db, "SELECT state, count(*) FROM suggestions GROUP BY state");
    while (q.Step()) {
      auto state = ParseSuggestionState(q.Text(0));
      if (state) c.suggestions[static_cast<std::size_t>(*state)] = q.Int(1);
    }
    DESK_RETURN_IF_ERROR(q.status().WithContext(what));
  }
  {
    Stmt q(db, "SELECT count(*) FROM pairs WHERE origin IN ('approved', 'edited')");
    if (q.Step()) c.feedback_pairs = q.Int(0);
    DESK_RETURN_IF_ERROR(q.status().WithContext(what));
  }
  DESK_RETURN_IF_ERROR(tx.Commit().WithContext(what));
  return c;
}

Result<std::optional<std::string>> SqliteStore::GetServiceState(const std::string& key) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, "SELECT value FROM service_state WHERE key = ?");
  q.Bind(1, key);
  if (q.Step()) return std::optional<std::string>(q.Text(0));
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: service state " + key));
  return std::optional<std::string>();
}

Status SqliteStore::SetServiceState(const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt up(impl_->db,
          "INSERT INTO service_state(key, value, updated_at) VALUES (?, ?, ?) "
          "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at");
  up.Bind(1, key).Bind(2, value).Bind(3, NowSeconds());
  return up.Run().WithContext("store: service state " + key);
}

}  // namespace deskbot
