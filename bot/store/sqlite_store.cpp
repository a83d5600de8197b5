#include "bot/store/sqlite_store.h"

#include <algorithm>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

#include "bot/store/migrations.h"
#include "bot/store/sqlite_store_impl.h"
#include "bot/store/sqlite_util.h"

namespace deskbot {

using sqlite::ParseStored;
using sqlite::Stmt;
using sqlite::Transaction;

namespace {

constexpr int kBusyTimeoutMs = 10000;
// Rows read per lock in the ForEach* visitors.
constexpr int kBatch = sqlite::kVisitBatch;

std::string TagsToJson(const std::vector<std::string>& tags) {
  return nlohmann::json(tags).dump();
}

std::vector<std::string> TagsFromJson(const std::string& text) {
  std::vector<std::string> tags;
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_array())
    for (const auto& el : j)
      if (el.is_string()) tags.push_back(el.get<std::string>());
  return tags;
}

constexpr const char* kTicketColumns =
    "id, source, external_id, subject, status, resolved, requester_name, requester_email, "
    "tags_json, created_at, updated_at, resolved_at";

Ticket ReadTicketRow(const Stmt& q) {
  Ticket t;
  t.id = q.Int(0);
  t.source = q.Text(1);
  t.external_id = q.Text(2);
  t.subject = q.Text(3);
  t.status = q.Text(4);
  t.resolved = q.Int(5) != 0;
  t.requester_name = q.Text(6);
  t.requester_email = q.Text(7);
  t.tags = TagsFromJson(q.Text(8));
  t.created_at = q.Int(9);
  t.updated_at = q.Int(10);
  t.resolved_at = q.Int(11);
  return t;
}

// Fills in the messages of tickets[0..n) (sorted by id) with one query.
Status LoadMessages(sqlite3* db, std::vector<Ticket>& tickets) {
  if (tickets.empty()) return Status::OK();
  Stmt q(db,
         "SELECT ticket_id, external_id, role, is_public, author, body, content_type, created_at "
         "FROM messages WHERE ticket_id BETWEEN ? AND ? ORDER BY ticket_id, position");
  q.Bind(1, tickets.front().id).Bind(2, tickets.back().id);
  std::size_t i = 0;
  while (q.Step()) {
    std::int64_t ticket_id = q.Int(0);
    while (i < tickets.size() && tickets[i].id < ticket_id) ++i;
    if (i == tickets.size()) break;
    if (tickets[i].id != ticket_id) continue;  // a ticket outside this batch
    Message m;
    m.external_id = q.Text(1);
    std::string role = q.Text(2);
    DESK_RETURN_IF_ERROR(ParseStored(ParseRole(role), role, "message role", &m.role));
    m.is_public = q.Int(3) != 0;
    m.author = q.Text(4);
    m.body = q.Text(5);
    m.content_type = q.Text(6);
    m.created_at = q.Int(7);
    tickets[i].messages.push_back(std::move(m));
  }
  return q.status();
}

constexpr const char* kPairColumns =
    "id, source, ticket_external_id, question, answer, origin, weight, split, created_at";

Status ReadPairRow(const Stmt& q, Pair* p) {
  p->id = q.Int(0);
  p->source = q.Text(1);
  p->ticket_external_id = q.Text(2);
  p->question = q.Text(3);
  p->answer = q.Text(4);
  std::string origin = q.Text(5);
  DESK_RETURN_IF_ERROR(ParseStored(ParsePairOrigin(origin), origin, "pair origin", &p->origin));
  p->weight = q.Double(6);
  std::string split = q.Text(7);
  DESK_RETURN_IF_ERROR(ParseStored(ParseSplit(split), split, "pair split", &p->split));
  p->created_at = q.Int(8);
  return Status::OK();
}

Stmt& BindPair(Stmt& s, const Pair& p, std::int64_t snapshot_id) {
  return s.Bind(1, p.source)
      .Bind(2, p.ticket_external_id)
      .Bind(3, p.question)
      .Bind(4, p.answer)
      .Bind(5, PairOriginName(p.origin))
      .Bind(6, p.weight)
      .Bind(7, SplitName(p.split))
      .Bind(8, p.created_at)
      .BindIdOrNull(9, snapshot_id);
}

constexpr const char* kInsertPair =
    "INSERT INTO pairs(source, ticket_external_id, question, answer, origin, weight, split, "
    "created_at, snapshot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

constexpr const char* kModelColumns =
    "id, backend, snapshot_id, state, path, checksum, remote_id, metrics_json, note, created_at, "
    "updated_at";

Status ReadModelRow(const Stmt& q, ModelVersion* v) {
  v->id = q.Int(0);
  v->backend = q.Text(1);
  v->snapshot_id = q.IsNull(2) ? 0 : q.Int(2);
  std::string state = q.Text(3);
  DESK_RETURN_IF_ERROR(ParseStored(ParseModelState(state), state, "model state", &v->state));
  v->path = q.Text(4);
  v->checksum = q.Text(5);
  v->remote_id = q.Text(6);
  v->metrics_json = q.Text(7);
  v->note = q.Text(8);
  v->created_at = q.Int(9);
  v->updated_at = q.Int(10);
  return Status::OK();
}

}  // namespace

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::LatestSchemaVersion() { return sqlite::Migrations().back().version; }

const std::string& SqliteStore::path() const { return impl_->path; }

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path,
                                                       const SqliteOptions& options) {
  if (options.synchronous != "normal" && options.synchronous != "full")
    return Status::InvalidArgument("store.synchronous must be normal or full, not '" +
                                   options.synchronous + "'");
  // SQLite's memory statistics take a global mutex on every allocation;
  // deskbot never reads them. Off: 0.3 us less CPU per event on the ack
  // path (inbox writer, 16 connections). This only works before SQLite is
  // first used in the process; later calls are refused and change nothing.
  static std::once_flag configured;
  std::call_once(configured, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  const std::string what = "store " + path;
  int rc = sqlite3_open_v2(path.c_str(), &impl->db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return sqlite::Error(impl->db, rc, what + ": cannot open");
  sqlite3* db = impl->db;
  impl->cache = std::make_unique<sqlite::StmtCache>(db);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // The first statement that reads the file: a file that is not a database
  // (or a damaged header) fails here with a clear error.
  std::string mode;
  {
    Stmt q(db, "PRAGMA journal_mode = WAL");
    if (q.Step()) mode = q.Text(0);
    if (!q.status().ok()) {
      Status st = q.status();
      if (st.code() == Status::Code::kCorruption)
        return Status::Corruption(what + " is not a usable SQLite database (damaged, or some "
                                  "other file): " + st.message());
      return st.WithContext(what);
    }
  }
  if (mode != "wal" && mode != "memory")
    return Status::IOError(what + ": cannot use WAL journal mode (got '" + mode + "')");
  // Memory-mapped reads and a larger page cache: the service's inbox workers
  // read back rows the writer just committed, and going through read() for
  // every page showed up as most of the ack path's CPU time. Checkpoints
  // stay SQLite's: inside the commit that takes the log past 1000 pages.
  // Larger logs (8000 pages) and a background checkpoint thread were both
  // measured under the ack benchmark: no less CPU per event, and the p99
  // acknowledgement went from ~5 ms to 20-45 ms (a longer copy, or one
  // competing with the commits for the disk and the 2 cores).
  const std::string settings = "PRAGMA foreign_keys = ON; PRAGMA synchronous = " +
                               std::string(options.synchronous == "full" ? "FULL" : "NORMAL") +
                               "; PRAGMA mmap_size = 268435456; PRAGMA cache_size = -32768";
  DESK_RETURN_IF_ERROR(sqlite::Exec(db, settings.c_str(), what + ": settings"));
  DESK_RETURN_IF_ERROR(sqlite::Migrate(db, path));
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

Result<int> SqliteStore::SchemaVersion() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return sqlite::UserVersion(impl_->db);
}

// --- tickets ----------------------------------------------------------------

Status SqliteStore::UpsertTickets(const std::string& source, std::span<const Ticket> tickets,
                                  const std::optional<std::string>& cursor) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  Transaction tx(db, Transaction::Kind::kWrite);
  DESK_RETURN_IF_ERROR(tx.status().WithContext("store: import " + source));
  const UnixSeconds now = NowSeconds();

  Stmt upsert(db,
              "INSERT INTO tickets(source, external_id, subject, status, resolved, requester_name, "
              "requester_email, tags_json, created_at, updated_at, resolved_at, imported_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT(source, external_id) DO UPDATE SET subject = excluded.subject, "
              "status = excluded.status, resolved = excluded.resolved, "
              "requester_name = excluded.requester_name, "
              "requester_email = excluded.requester_email, tags_json = excluded.tags_json, "
              "created_at = excluded.created_at, updated_at = excluded.updated_at, "
              "resolved_at = excluded.resolved_at, imported_at = excluded.imported_at "
              "RETURNING id");
  Stmt clear(db, "DELETE FROM messages WHERE ticket_id = ?");
  Stmt insert(db,
              "INSERT INTO messages(ticket_id, position, external_id, role, is_public, author, "
              "body, content_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");

  for (const Ticket& t : tickets) {
    const std::string what = "store: ticket " + source + "/" + t.external_id;
    if (!t.source.empty() && t.source != source)
      return Status::InvalidArgument(what + ": belongs to source '" + t.source + "'");
    upsert.Reset();
    upsert.Bind(1, source)
        .Bind(2, t.external_id)
        .Bind(3, t.subject)
        .Bind(4, t.status)
        .Bind(5, t.resolved ? 1 : 0)
        .Bind(6, t.requester_name)
        .Bind(7, t.requester_email)
        .Bind(8, TagsToJson(t.tags))
        .Bind(9, t.created_at)
        .Bind(10, t.updated_at)
        .Bind(11, t.resolved_at)
        .Bind(12, now);
    if (!upsert.Step()) {
      if (!upsert.status().ok()) return upsert.status().WithContext(what);
      return Status::Internal(what + ": upsert returned no id");
    }
    const std::int64_t id = upsert.Int(0);
    DESK_RETURN_IF_ERROR(upsert.Run().WithContext(what));  // finish the statement

    clear.Reset();
    DESK_RETURN_IF_ERROR(clear.Bind(1, id).Run().WithContext(what));
    for (std::size_t pos = 0; pos < t.messages.size(); ++pos) {
      const Message& m = t.messages[pos];
      insert.Reset();
      insert.Bind(1, id)
          .Bind(2, static_cast<std::int64_t>(pos))
          .Bind(3, m.external_id)
          .Bind(4, RoleName(m.role))
          .Bind(5, m.is_public ? 1 : 0)
          .Bind(6, m.author)
          .Bind(7, m.body)
          .Bind(8, m.content_type)
          .Bind(9, m.created_at);
      DESK_RETURN_IF_ERROR(insert.Run().WithContext(what + ": message " + std::to_string(pos + 1)));
    }
  }

  if (cursor) {
    Stmt save(db,
              "INSERT INTO cursors(source, value, updated_at) VALUES (?, ?, ?) "
              "ON CONFLICT(source) DO UPDATE SET value = excluded.value, "
              "updated_at = excluded.updated_at");
    save.Bind(1, source).Bind(2, *cursor).Bind(3, now);
    DESK_RETURN_IF_ERROR(save.Run().WithContext("store: cursor of " + source));
  }
  return tx.Commit().WithContext("store: import " + source);
}

Result<std::optional<std::string>> SqliteStore::GetCursor(const std::string& source) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, "SELECT value FROM cursors WHERE source = ?");
  q.Bind(1, source);
  if (q.Step()) return std::optional<std::string>(q.Text(0));
  if (!q.status().ok()) return q.status().WithContext("store: cursor of " + source);
  return std::optional<std::string>();
}

Result<std::optional<Ticket>> SqliteStore::GetTicket(const std::string& source,
                                                     const std::string& external_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  const std::string what = "store: ticket " + source + "/" + external_id;
  Transaction tx(db, Transaction::Kind::kRead);  // the ticket and its messages together
  DESK_RETURN_IF_ERROR(tx.status().WithContext(what));
  std::vector<Ticket> found;
  {
    Stmt q(db, std::string("SELECT ") + kTicketColumns +
                   " FROM tickets WHERE source = ? AND external_id = ?");
    q.Bind(1, source).Bind(2, external_id);
    if (q.Step()) found.push_back(ReadTicketRow(q));
    DESK_RETURN_IF_ERROR(q.status().WithContext(what));
  }
  if (found.empty()) return std::optional<Ticket>();
  DESK_RETURN_IF_ERROR(LoadMessages(db, found).WithContext(what));
  DESK_RETURN_IF_ERROR(tx.Commit());
  return std::optional<Ticket>(std::move(found.front()));
}

Status SqliteStore::ForEachTicket(const std::function<bool(const Ticket&)>& fn) {
  sqlite3* db = impl_->db;
  return impl_->Visit<Ticket>(fn, [db](std::int64_t after_id, std::vector<Ticket>& batch) {
    Transaction tx(db, Transaction::Kind::kRead);
    DESK_RETURN_IF_ERROR(tx.status());
    Stmt q(db, std::string("SELECT ") + kTicketColumns +
                   " FROM tickets WHERE id > ? ORDER BY id LIMIT ?");
    q.Bind(1, after_id).Bind(2, kBatch);
    while (q.Step()) batch.push_back(ReadTicketRow(q));
    DESK_RETURN_IF_ERROR(q.status().WithContext("store: tickets"));
    DESK_RETURN_IF_ERROR(LoadMessages(db, batch).WithContext("store: messages"));
    return tx.Commit();
  });
}

Result<std::int64_t> SqliteStore::CountTickets() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, "SELECT count(*) FROM tickets");
  if (q.Step()) return q.Int(0);
  return q.status().ok() ? Status::Internal("count returned nothing") : q.status();
}

// --- pairs ------------------------------------------------------------------

// A dataset build writes its pairs in chunks, each its own transaction, so
// that neither the store's lock nor SQLite's write lock is held for the whole
// dataset: one transaction for 83,000 pairs held both for 600 ms, and the
// inbox writer could store (and so acknowledge) no chat event meanwhile. The
// new snapshot is marked incomplete until its last chunk is in; readers see
// only the harvested pairs of the newest complete snapshot (CurrentSnapshot),
// so they switch from the old pairs to the new ones in one short transaction.
// The older snapshots' pairs are then deleted, in chunks too. A build killed
// midway leaves an incomplete snapshot nobody reads, whose pairs the next
// build deletes.
namespace {

constexpr int kPairChunk = 2000;

// The newest complete snapshot's id, 0 when there is none.
Result<std::int64_t> CurrentSnapshot(sqlite3* db) {
  Stmt q(db, "SELECT coalesce(max(id), 0) FROM dataset_snapshots WHERE complete = 1");
  if (q.Step()) return q.Int(0);
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: current snapshot"));
  return std::int64_t{0};
}

}  // namespace

Result<std::int64_t> SqliteStore::ReplaceHarvestedPairs(std::span<const Pair> pairs,
                                                        const DatasetSnapshot& snapshot) {
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    if (pairs[i].origin != PairOrigin::kHarvested)
      return Status::InvalidArgument("store: replace harvested pairs: pair " +
                                     std::to_string(i + 1) + " has origin " +
                                     PairOriginName(pairs[i].origin));
  }
  const std::string what = "store: replace harvested pairs";
  std::int64_t snapshot_id = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    Stmt snap(impl_->db,
              "INSERT INTO dataset_snapshots(content_hash, train_pairs, valid_pairs, report_json, "
              "created_at, complete) VALUES (?, ?, ?, ?, ?, 0)");
    snap.Bind(1, snapshot.content_hash)
        .Bind(2, snapshot.train_pairs)
        .Bind(3, snapshot.valid_pairs)
        .Bind(4, snapshot.report_json.empty() ? std::string("{}") : snapshot.report_json)
        .Bind(5, snapshot.created_at != 0 ? snapshot.created_at : NowSeconds());
    DESK_RETURN_IF_ERROR(snap.Run().WithContext(what + ": snapshot"));
    snapshot_id = sqlite3_last_insert_rowid(impl_->db);
  }
  Status written = WriteSnapshotPairs(pairs, snapshot_id, what);
  if (!written.ok()) {
    // Nobody reads an incomplete snapshot; its pairs go now (or, if this
    // fails too, with the next build).
    (void)DeleteHarvestedPairs("snapshot_id = ?1", snapshot_id, what);
    return written;
  }
  // Older snapshots only: a build that started later (another process) and
  // finished first is newer, and keeps its pairs. Readers no longer see the
  // old pairs, so a failure here loses nothing (the next build retries), but
  // it means a failing disk: it is reported.
  DESK_RETURN_IF_ERROR(
      DeleteHarvestedPairs("snapshot_id IS NULL OR snapshot_id < ?1", snapshot_id, what)
          .WithContext("snapshot " + std::to_string(snapshot_id) + " is complete"));
  return snapshot_id;
}

// Deletes, kPairChunk at a time, the harvested pairs `where` selects (?1:
// `snapshot_id`).
Status SqliteStore::DeleteHarvestedPairs(const char* where, std::int64_t snapshot_id,
                                         const std::string& what) {
  const std::string sql =
      std::string("DELETE FROM pairs WHERE id IN (SELECT id FROM pairs WHERE origin = 'harvested' "
                  "AND (") + where + ") LIMIT " + std::to_string(kPairChunk) + ")";
  for (;;) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    Stmt del(impl_->db, sql);
    del.Bind(1, snapshot_id);
    DESK_RETURN_IF_ERROR(del.Run().WithContext(what + ": deleting old pairs"));
    if (sqlite3_changes(impl_->db) < kPairChunk) return Status::OK();
  }
}

Status SqliteStore::WriteSnapshotPairs(std::span<const Pair> pairs, std::int64_t snapshot_id,
                                       const std::string& what) {
  for (std::size_t start = 0; start < pairs.size(); start += kPairChunk) {
    const std::size_t end = std::min(pairs.size(), start + kPairChunk);
    std::lock_guard<std::mutex> lock(impl_->mu);
    Transaction tx(impl_->db, Transaction::Kind::kWrite);
    DESK_RETURN_IF_ERROR(tx.status().WithContext(what));
    Stmt insert(impl_->db, kInsertPair);
    for (std::size_t i = start; i < end; ++i) {
      insert.Reset();
      BindPair(insert, pairs[i], snapshot_id);
      DESK_RETURN_IF_ERROR(insert.Run().WithContext(what + ": pair " + std::to_string(i + 1)));
    }
    DESK_RETURN_IF_ERROR(tx.Commit().WithContext(what));
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt done(impl_->db, "UPDATE dataset_snapshots SET complete = 1 WHERE id = ?");
  done.Bind(1, snapshot_id);
  return done.Run().WithContext(what + ": completing the snapshot");
}

Result<std::int64_t> SqliteStore::AddPair(const Pair& pair) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt insert(impl_->db, kInsertPair);
  BindPair(insert, pair, 0);
  DESK_RETURN_IF_ERROR(insert.Run().WithContext("store: add pair"));
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(impl_->db));
}

Status SqliteStore::ForEachPair(const std::function<bool(const Pair&)>& fn) {
  sqlite3* db = impl_->db;
  // The harvested pairs of the snapshot current when the visit starts: a
  // build finishing meanwhile does not mix its pairs into this visit.
  std::int64_t current = 0;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto id = CurrentSnapshot(db);
    if (!id.ok()) return id.status();
    current = *id;
  }
  return impl_->Visit<Pair>(fn, [db, current](std::int64_t after_id, std::vector<Pair>& batch) {
    Stmt q(db, std::string("SELECT ") + kPairColumns +
                   " FROM pairs WHERE id > ? AND (origin <> 'harvested' OR snapshot_id IS NULL "
                   "OR snapshot_id = ?) ORDER BY id LIMIT ?");
    q.Bind(1, after_id).Bind(2, current).Bind(3, kBatch);
    while (q.Step()) {
      Pair p;
      DESK_RETURN_IF_ERROR(ReadPairRow(q, &p));
      batch.push_back(std::move(p));
    }
    return q.status().WithContext("store: pairs");
  });
}

Result<std::int64_t> SqliteStore::AddPreferencePair(const PreferencePair& pair) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt insert(impl_->db,
              "INSERT INTO preference_pairs(question, preferred, rejected, created_at) "
              "VALUES (?, ?, ?, ?)");
  insert.Bind(1, pair.question)
      .Bind(2, pair.preferred)
      .Bind(3, pair.rejected)
      .Bind(4, pair.created_at != 0 ? pair.created_at : NowSeconds());
  DESK_RETURN_IF_ERROR(insert.Run().WithContext("store: add preference pair"));
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(impl_->db));
}

Status SqliteStore::ForEachPreferencePair(const std::function<bool(const PreferencePair&)>& fn) {
  sqlite3* db = impl_->db;
  return impl_->Visit<PreferencePair>(
      fn, [db](std::int64_t after_id, std::vector<PreferencePair>& batch) {
        Stmt q(db,
               "SELECT id, question, preferred, rejected, created_at FROM preference_pairs "
               "WHERE id > ? ORDER BY id LIMIT ?");
        q.Bind(1, after_id).Bind(2, kBatch);
        while (q.Step()) {
          PreferencePair p;
          p.id = q.Int(0);
          p.question = q.Text(1);
          p.preferred = q.Text(2);
          p.rejected = q.Text(3);
          p.created_at = q.Int(4);
          batch.push_back(std::move(p));
        }
        return q.status().WithContext("store: preference pairs");
      });
}

Result<std::optional<DatasetSnapshot>> SqliteStore::LatestSnapshot() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db,
         "SELECT id, content_hash, train_pairs, valid_pairs, report_json, created_at "
         "FROM dataset_snapshots WHERE complete = 1 ORDER BY id DESC LIMIT 1");
  if (!q.Step()) {
    if (!q.status().ok()) return q.status().WithContext("store: latest snapshot");
    return std::optional<DatasetSnapshot>();
  }
  DatasetSnapshot s;
  s.id = q.Int(0);
  s.content_hash = q.Text(1);
  s.train_pairs = q.Int(2);
  s.valid_pairs = q.Int(3);
  s.report_json = q.Text(4);
  s.created_at = q.Int(5);
  return std::optional<DatasetSnapshot>(std::move(s));
}

// --- model registry -----------------------------------------------------------

Result<std::int64_t> SqliteStore::AddModelVersion(const ModelVersion& v) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const UnixSeconds now = NowSeconds();
  Stmt insert(impl_->db,
              "INSERT INTO model_versions(backend, snapshot_id, state, path, checksum, remote_id, "
              "metrics_json, note, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.Bind(1, v.backend)
      .BindIdOrNull(2, v.snapshot_id)
      .Bind(3, ModelStateName(v.state))
      .Bind(4, v.path)
      .Bind(5, v.checksum)
      .Bind(6, v.remote_id)
      .Bind(7, v.metrics_json.empty() ? std::string("{}") : v.metrics_json)
      .Bind(8, v.note)
      .Bind(9, v.created_at != 0 ? v.created_at : now)
      .Bind(10, now);
  DESK_RETURN_IF_ERROR(insert.Run().WithContext("store: add model version"));
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(impl_->db));
}

Status SqliteStore::UpdateModelVersion(const ModelVersion& v) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string what = "store: model version " + std::to_string(v.id);
  Stmt update(impl_->db,
              "UPDATE model_versions SET backend = ?, snapshot_id = ?, state = ?, path = ?, "
              "checksum = ?, remote_id = ?, metrics_json = ?, note = ?, updated_at = ? "
              "WHERE id = ?");
  update.Bind(1, v.backend)
      .BindIdOrNull(2, v.snapshot_id)
      .Bind(3, ModelStateName(v.state))
      .Bind(4, v.path)
      .Bind(5, v.checksum)
      .Bind(6, v.remote_id)
      .Bind(7, v.metrics_json.empty() ? std::string("{}") : v.metrics_json)
      .Bind(8, v.note)
      .Bind(9, NowSeconds())
      .Bind(10, v.id);
  DESK_RETURN_IF_ERROR(update.Run().WithContext(what));
  if (sqlite3_changes(impl_->db) == 0) return Status::NotFound(what);
  return Status::OK();
}

Result<std::vector<ModelVersion>> SqliteStore::ListModelVersions() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, std::string("SELECT ") + kModelColumns + " FROM model_versions ORDER BY id");
  std::vector<ModelVersion> out;
  while (q.Step()) {
    ModelVersion v;
    DESK_RETURN_IF_ERROR(ReadModelRow(q, &v));
    out.push_back(std::move(v));
  }
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: model versions"));
  return out;
}

Result<std::optional<ModelVersion>> SqliteStore::GetModelVersion(std::int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, std::string("SELECT ") + kModelColumns + " FROM model_versions WHERE id = ?");
  q.Bind(1, id);
  if (!q.Step()) {
    if (!q.status().ok()) return q.status().WithContext("store: model version " + std::to_string(id));
    return std::optional<ModelVersion>();
  }
  ModelVersion v;
  DESK_RETURN_IF_ERROR(ReadModelRow(q, &v));
  return std::optional<ModelVersion>(std::move(v));
}

Status SqliteStore::PromoteModelVersion(std::int64_t id, const std::string& note) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  sqlite3* db = impl_->db;
  const std::string what = "store: promote model version " + std::to_string(id);
  Transaction tx(db, Transaction::Kind::kWrite);
  DESK_RETURN_IF_ERROR(tx.status().WithContext(what));
  {
    Stmt q(db, "SELECT state FROM model_versions WHERE id = ?");
    q.Bind(1, id);
    if (!q.Step()) {
      DESK_RETURN_IF_ERROR(q.status().WithContext(what));
      return Status::NotFound(what + ": no such version");
    }
    if (q.Text(0) == "failed") return Status::InvalidArgument(what + ": the version failed");
  }
  const UnixSeconds now = NowSeconds();
  // Retire first: the unique index allows one promoted row at any moment.
  Stmt retire(db,
              "UPDATE model_versions SET state = 'retired', updated_at = ? "
              "WHERE state = 'promoted' AND id <> ?");
  DESK_RETURN_IF_ERROR(retire.Bind(1, now).Bind(2, id).Run().WithContext(what));
  Stmt promote(db,
               "UPDATE model_versions SET state = 'promoted', note = ?, updated_at = ? WHERE id = ?");
  DESK_RETURN_IF_ERROR(promote.Bind(1, note).Bind(2, now).Bind(3, id).Run().WithContext(what));
  return tx.Commit().WithContext(what);
}

// --- audit --------------------------------------------------------------------

Status SqliteStore::AppendAudit(const AuditEntry& entry) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt insert(impl_->db, "INSERT INTO audit_log(actor, action, detail, at) VALUES (?, ?, ?, ?)");
  insert.Bind(1, entry.actor)
      .Bind(2, entry.action)
      .Bind(3, entry.detail)
      .Bind(4, entry.at != 0 ? entry.at : NowSeconds());
  return insert.Run().WithContext("store: audit");
}

Result<std::vector<AuditEntry>> SqliteStore::ListAudit(std::int64_t limit) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(impl_->db, "SELECT id, actor, action, detail, at FROM audit_log ORDER BY id DESC LIMIT ?");
  q.Bind(1, limit > 0 ? limit : std::int64_t{-1});  // -1: no limit
  std::vector<AuditEntry> out;
  while (q.Step()) {
    AuditEntry e;
    e.id = q.Int(0);
    e.actor = q.Text(1);
    e.action = q.Text(2);
    e.detail = q.Text(3);
    e.at = q.Int(4);
    out.push_back(std::move(e));
  }
  DESK_RETURN_IF_ERROR(q.status().WithContext("store: audit"));
  return out;
}

}  // namespace deskbot
