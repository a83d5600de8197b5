#include "bot/store/sqlite_store.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bot/store/open.h"
#include "tests/support/store_reads.h"
#include "tests/unit/store/temp_dir.h"

using deskbot::testing::AllPairs;
using deskbot::testing::TempDir;
namespace fs = std::filesystem;

namespace deskbot {
namespace {

Ticket MakeTicket(const std::string& id, int messages = 2, const std::string& subject = "VPN drops") {
  Ticket t;
  t.external_id = id;
  t.subject = subject;
  t.status = "resolved";
  t.resolved = true;
  t.requester_name = "Maria Lopez";
  t.requester_email = "maria@example.com";
  t.tags = {"vpn", "network"};
  t.created_at = 1772442840;
  t.updated_at = 1772451600;
  t.resolved_at = 1772451600;
  for (int i = 0; i < messages; ++i) {
    Message m;
    m.external_id = std::to_string(i + 1);
    m.role = i == 0 ? Role::kRequester : Role::kAgent;
    m.is_public = i != 1;
    m.author = i == 0 ? "maria@example.com" : "agent@example.com";
    m.body = "body " + std::to_string(i) + " of " + id;
    m.content_type = i == 0 ? "text/html" : "text/plain";
    m.created_at = 1772442840 + i;
    t.messages.push_back(m);
  }
  return t;
}

std::unique_ptr<SqliteStore> OpenOrDie(const std::string& path) {
  auto store = SqliteStore::Open(path);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  return std::move(store).value();
}

// Runs SQL on the file directly, as another program would.
void RawExec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  INFO(msg);
  REQUIRE(rc == SQLITE_OK);
}

std::int64_t RawCount(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  std::int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

TEST_CASE("store: migrations numbered 1..N in order", "[store]") {
  // Migrate() relies on this: user_version == number of migrations applied.
  auto store = OpenOrDie(":memory:");
  CHECK(SqliteStore::LatestSchemaVersion() >= 1);
  CHECK(*store->SchemaVersion() == SqliteStore::LatestSchemaVersion());
}

TEST_CASE("store: creates the schema on an empty file and re-opens it", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  {
    auto store = OpenOrDie(path);
    CHECK(*store->SchemaVersion() == SqliteStore::LatestSchemaVersion());
    Ticket t = MakeTicket("HD-1");
    REQUIRE(store->UpsertTickets("export", std::span(&t, 1), "c1").ok());
  }
  CHECK(RawCount(path, "SELECT count(*) FROM schema_migrations") ==
        SqliteStore::LatestSchemaVersion());
  CHECK(RawCount(path, "PRAGMA user_version") == SqliteStore::LatestSchemaVersion());
  {
    auto store = OpenOrDie(path);  // no migration runs again, data is kept
    CHECK(*store->SchemaVersion() == SqliteStore::LatestSchemaVersion());
    CHECK(*store->CountTickets() == 1);
    CHECK(store->GetCursor("export")->value() == "c1");
  }
  CHECK(RawCount(path, "SELECT count(*) FROM schema_migrations") ==
        SqliteStore::LatestSchemaVersion());
}

TEST_CASE("store: WAL, foreign keys and synchronous=NORMAL are on", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  auto store = OpenOrDie(path);
  // journal_mode is persistent in the file; the others are per connection,
  // so check them through a constraint the store must enforce.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 0))) == "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);

  ModelVersion v;
  v.snapshot_id = 12345;  // no such snapshot: the foreign key must refuse it
  auto added = store->AddModelVersion(v);
  REQUIRE_FALSE(added.ok());
  CHECK(added.status().message().find("FOREIGN KEY") != std::string::npos);
}

TEST_CASE("store: upsert is idempotent and replaces messages in place", "[store]") {
  auto store = OpenOrDie(":memory:");
  std::vector<Ticket> page = {MakeTicket("HD-1", 3), MakeTicket("HD-2", 2)};
  REQUIRE(store->UpsertTickets("export", page, std::nullopt).ok());
  REQUIRE(store->UpsertTickets("export", page, std::nullopt).ok());
  CHECK(*store->CountTickets() == 2);

  auto first = store->GetTicket("export", "HD-1");
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  const Ticket& t = **first;
  CHECK(t.id > 0);
  CHECK(t.source == "export");
  CHECK(t.subject == "VPN drops");
  CHECK(t.resolved);
  CHECK(t.requester_email == "maria@example.com");
  CHECK(t.tags == std::vector<std::string>{"vpn", "network"});
  CHECK(t.created_at == 1772442840);
  CHECK(t.resolved_at == 1772451600);
  REQUIRE(t.messages.size() == 3);
  CHECK(t.messages[0].role == Role::kRequester);
  CHECK(t.messages[0].content_type == "text/html");
  CHECK(t.messages[1].is_public == false);
  CHECK(t.messages[2].body == "body 2 of HD-1");
  CHECK(t.messages[2].external_id == "3");

  // The ticket changed in the help desk: same row, new fields, new messages.
  Ticket changed = MakeTicket("HD-1", 1, "VPN drops (solved)");
  changed.messages[0].body = "only one now";
  REQUIRE(store->UpsertTickets("export", std::span(&changed, 1), std::nullopt).ok());
  auto again = store->GetTicket("export", "HD-1");
  REQUIRE(again->has_value());
  CHECK((*again)->id == t.id);
  CHECK((*again)->subject == "VPN drops (solved)");
  REQUIRE((*again)->messages.size() == 1);
  CHECK((*again)->messages[0].body == "only one now");
  CHECK(*store->CountTickets() == 2);

  // Same external id in another source is another ticket.
  REQUIRE(store->UpsertTickets("rt", std::span(&changed, 1), std::nullopt).ok());
  CHECK(*store->CountTickets() == 3);
  CHECK_FALSE(store->GetTicket("rt", "HD-404")->has_value());
}

TEST_CASE("store: the cursor is committed with the tickets", "[store]") {
  auto store = OpenOrDie(":memory:");
  CHECK_FALSE(store->GetCursor("export")->has_value());
  std::vector<Ticket> page = {MakeTicket("HD-1")};
  REQUIRE(store->UpsertTickets("export", page, "page-1").ok());
  CHECK(store->GetCursor("export")->value() == "page-1");
  // No cursor given: the stored one stays.
  REQUIRE(store->UpsertTickets("export", page, std::nullopt).ok());
  CHECK(store->GetCursor("export")->value() == "page-1");
  // An empty page may still move the cursor.
  REQUIRE(store->UpsertTickets("export", {}, "page-2").ok());
  CHECK(store->GetCursor("export")->value() == "page-2");
  CHECK_FALSE(store->GetCursor("other")->has_value());
}

TEST_CASE("store: a failed page leaves nothing half-written", "[store]") {
  auto store = OpenOrDie(":memory:");
  Ticket original = MakeTicket("HD-1", 3);
  REQUIRE(store->UpsertTickets("export", std::span(&original, 1), "good").ok());

  // The first ticket updates HD-1 and a new one is added before the bad
  // ticket (empty id, refused by the schema's CHECK) fails the page.
  Ticket updated = MakeTicket("HD-1", 1, "changed");
  Ticket added = MakeTicket("HD-2");
  Ticket bad = MakeTicket("");
  std::vector<Ticket> page = {updated, added, bad};
  Status st = store->UpsertTickets("export", page, "bad");
  REQUIRE_FALSE(st.ok());
  CHECK(st.code() == Status::Code::kInvalidArgument);
  CHECK(st.message().find("store: ticket export/") != std::string::npos);
  CHECK(st.message().find("CHECK constraint failed") != std::string::npos);

  CHECK(*store->CountTickets() == 1);
  auto kept = store->GetTicket("export", "HD-1");
  REQUIRE(kept->has_value());
  CHECK((*kept)->subject == "VPN drops");
  CHECK((*kept)->messages.size() == 3);
  CHECK_FALSE(store->GetTicket("export", "HD-2")->has_value());
  CHECK(store->GetCursor("export")->value() == "good");

  // A ticket that claims another source is refused the same way.
  Ticket foreign = MakeTicket("HD-9");
  foreign.source = "rt";
  std::vector<Ticket> page2 = {added, foreign};
  st = store->UpsertTickets("export", page2, "bad");
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("HD-9") != std::string::npos);
  CHECK(*store->CountTickets() == 1);

  // And the store is still usable afterwards.
  REQUIRE(store->UpsertTickets("export", std::span(&added, 1), "next").ok());
  CHECK(*store->CountTickets() == 2);
}

TEST_CASE("store: a page written by another connection is seen whole or not at all", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  auto writer = OpenOrDie(path);
  auto reader = OpenOrDie(path);
  std::vector<Ticket> page;
  for (int i = 0; i < 50; ++i) page.push_back(MakeTicket("T" + std::to_string(i), 4));
  std::thread t([&] { REQUIRE(writer->UpsertTickets("export", page, "c").ok()); });
  for (int i = 0; i < 20; ++i) {
    auto n = reader->CountTickets();
    REQUIRE(n.ok());
    CHECK((*n == 0 || *n == 50));
  }
  t.join();
  CHECK(*reader->CountTickets() == 50);
  CHECK(reader->GetCursor("export")->value() == "c");
}

TEST_CASE("store: ForEachTicket visits all tickets in id order, across batches", "[store]") {
  auto store = OpenOrDie(":memory:");
  std::vector<Ticket> page;
  for (int i = 0; i < 600; ++i) page.push_back(MakeTicket("T" + std::to_string(i), 1 + i % 3));
  REQUIRE(store->UpsertTickets("export", page, std::nullopt).ok());

  std::vector<Ticket> seen;
  REQUIRE(store->ForEachTicket([&](const Ticket& t) {
    seen.push_back(t);
    // The callback runs outside the lock: using the store here must work.
    REQUIRE(store->CountTickets().ok());
    return true;
  }).ok());
  REQUIRE(seen.size() == 600);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    CHECK(seen[i].external_id == "T" + std::to_string(i));
    CHECK(seen[i].messages.size() == 1 + i % 3);
    if (i > 0) CHECK(seen[i].id > seen[i - 1].id);
  }

  int visited = 0;
  REQUIRE(store->ForEachTicket([&](const Ticket&) { return ++visited < 5; }).ok());
  CHECK(visited == 5);
}

Pair MakePair(const std::string& q, PairOrigin origin) {
  Pair p;
  p.source = "export";
  p.ticket_external_id = "HD-" + q;
  p.question = "question " + q;
  p.answer = "answer " + q;
  p.origin = origin;
  p.weight = origin == PairOrigin::kHarvested ? 1.0 : 2.5;
  p.split = q == "2" ? Split::kValid : Split::kTrain;
  p.created_at = 1000 + static_cast<int>(q.size());
  return p;
}

TEST_CASE("store: replacing harvested pairs keeps approved and edited ones", "[store]") {
  auto store = OpenOrDie(":memory:");
  CHECK_FALSE(store->LatestSnapshot()->has_value());
  REQUIRE(store->AddPair(MakePair("a", PairOrigin::kApproved)).ok());
  REQUIRE(store->AddPair(MakePair("e", PairOrigin::kEdited)).ok());

  DatasetSnapshot snap;
  snap.content_hash = "hash-1";
  snap.train_pairs = 1;
  snap.valid_pairs = 1;
  snap.report_json = R"({"kept":2})";
  std::vector<Pair> first = {MakePair("1", PairOrigin::kHarvested),
                             MakePair("2", PairOrigin::kHarvested)};
  auto id1 = store->ReplaceHarvestedPairs(first, snap);
  REQUIRE(id1.ok());
  CHECK(AllPairs(*store).size() == 4);

  snap.content_hash = "hash-2";
  std::vector<Pair> second = {MakePair("3", PairOrigin::kHarvested)};
  auto id2 = store->ReplaceHarvestedPairs(second, snap);
  REQUIRE(id2.ok());
  CHECK(*id2 > *id1);

  auto pairs = AllPairs(*store);
  REQUIRE(pairs.size() == 3);
  CHECK(pairs[0].origin == PairOrigin::kApproved);
  CHECK(pairs[0].weight == 2.5);
  CHECK(pairs[1].origin == PairOrigin::kEdited);
  CHECK(pairs[2].origin == PairOrigin::kHarvested);
  CHECK(pairs[2].question == "question 3");
  CHECK(pairs[2].ticket_external_id == "HD-3");
  CHECK(pairs[2].split == Split::kTrain);

  auto latest = store->LatestSnapshot();
  REQUIRE(latest->has_value());
  CHECK((*latest)->id == *id2);
  CHECK((*latest)->content_hash == "hash-2");
  CHECK((*latest)->report_json == R"({"kept":2})");
  CHECK((*latest)->created_at > 0);

  // A non-harvested pair in the replacement is a caller bug: refused, and
  // nothing changes.
  std::vector<Pair> wrong = {MakePair("4", PairOrigin::kHarvested),
                             MakePair("5", PairOrigin::kApproved)};
  auto refused = store->ReplaceHarvestedPairs(wrong, snap);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("pair 2") != std::string::npos);
  CHECK(AllPairs(*store).size() == 3);
  CHECK((*store->LatestSnapshot())->id == *id2);
}

TEST_CASE("store: a dataset build killed midway changes nothing readers see", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  auto store = OpenOrDie(path);
  REQUIRE(store->AddPair(MakePair("a", PairOrigin::kApproved)).ok());
  DatasetSnapshot snap;
  snap.content_hash = "hash-1";
  std::vector<Pair> first = {MakePair("1", PairOrigin::kHarvested),
                             MakePair("2", PairOrigin::kHarvested)};
  auto id1 = store->ReplaceHarvestedPairs(first, snap);
  REQUIRE(id1.ok());

  // What a build killed after its first chunks leaves: an incomplete
  // snapshot and some of its pairs.
  RawExec(path,
          "INSERT INTO dataset_snapshots(content_hash, created_at, complete) VALUES ('partial', 1, 0);"
          "INSERT INTO pairs(source, question, answer, origin, snapshot_id) VALUES "
          "('export', 'half q1', 'half a1', 'harvested', last_insert_rowid()),"
          "('export', 'half q2', 'half a2', 'harvested', (SELECT max(id) FROM dataset_snapshots));");
  auto pairs = AllPairs(*store);
  REQUIRE(pairs.size() == 3);  // the approved pair and the complete snapshot's two
  for (const Pair& p : pairs) CHECK(p.question.rfind("half", 0) == std::string::npos);
  CHECK((*store->LatestSnapshot())->id == *id1);

  // The next build replaces both: the complete snapshot's pairs and the
  // leftovers are deleted.
  snap.content_hash = "hash-3";
  std::vector<Pair> next = {MakePair("3", PairOrigin::kHarvested)};
  auto id3 = store->ReplaceHarvestedPairs(next, snap);
  REQUIRE(id3.ok());
  CHECK(AllPairs(*store).size() == 2);
  CHECK((*store->LatestSnapshot())->id == *id3);
  CHECK(RawCount(path, "SELECT count(*) FROM pairs WHERE origin = 'harvested'") == 1);
}

TEST_CASE("store: a dataset larger than one write chunk is replaced whole", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  auto store = OpenOrDie(path);
  std::vector<Pair> big;
  for (int i = 0; i < 4500; ++i) big.push_back(MakePair(std::to_string(i), PairOrigin::kHarvested));
  DatasetSnapshot snap;
  snap.content_hash = "big";
  REQUIRE(store->ReplaceHarvestedPairs(big, snap).ok());
  CHECK(AllPairs(*store).size() == 4500);
  std::vector<Pair> small(big.begin(), big.begin() + 10);
  snap.content_hash = "small";
  REQUIRE(store->ReplaceHarvestedPairs(small, snap).ok());
  CHECK(AllPairs(*store).size() == 10);
  // The 4500 old rows are gone from the file, not just hidden.
  CHECK(RawCount(path, "SELECT count(*) FROM pairs") == 10);
}

TEST_CASE("store: preference pairs", "[store]") {
  auto store = OpenOrDie(":memory:");
  PreferencePair p{0, "how do I reset my password?", "Use the self-service portal.", "Call us.", 0};
  auto id1 = store->AddPreferencePair(p);
  p.question = "second";
  p.created_at = 42;
  auto id2 = store->AddPreferencePair(p);
  REQUIRE(id1.ok());
  REQUIRE(id2.ok());
  std::vector<PreferencePair> seen;
  REQUIRE(store->ForEachPreferencePair([&](const PreferencePair& x) {
    seen.push_back(x);
    return true;
  }).ok());
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].id == *id1);
  CHECK(seen[0].preferred == "Use the self-service portal.");
  CHECK(seen[0].rejected == "Call us.");
  CHECK(seen[0].created_at > 0);  // stamped when not given
  CHECK(seen[1].question == "second");
  CHECK(seen[1].created_at == 42);
}

TEST_CASE("store: model registry promotes one version at a time", "[store]") {
  auto store = OpenOrDie(":memory:");
  DatasetSnapshot snap;
  snap.content_hash = "h";
  auto snap_id = store->ReplaceHarvestedPairs({}, snap);
  REQUIRE(snap_id.ok());

  ModelVersion v;
  v.snapshot_id = *snap_id;
  v.path = "/models/1";
  v.checksum = "abc";
  v.metrics_json = R"({"accuracy":0.8})";
  auto a = store->AddModelVersion(v);
  v.path = "/models/2";
  auto b = store->AddModelVersion(v);
  v.state = ModelState::kFailed;
  v.snapshot_id = 0;
  auto c = store->AddModelVersion(v);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());

  REQUIRE(store->PromoteModelVersion(*a, "first").ok());
  CHECK((*store->GetModelVersion(*a))->state == ModelState::kPromoted);
  CHECK((*store->GetModelVersion(*a))->note == "first");

  REQUIRE(store->PromoteModelVersion(*b, "better").ok());
  auto versions = store->ListModelVersions();
  REQUIRE(versions.ok());
  REQUIRE(versions->size() == 3);
  CHECK((*versions)[0].state == ModelState::kRetired);
  CHECK((*versions)[1].state == ModelState::kPromoted);
  CHECK((*versions)[1].snapshot_id == *snap_id);
  CHECK((*versions)[1].metrics_json == R"({"accuracy":0.8})");
  CHECK((*versions)[2].state == ModelState::kFailed);
  CHECK((*versions)[2].snapshot_id == 0);

  // Promoting the promoted one again changes nothing else.
  REQUIRE(store->PromoteModelVersion(*b, "again").ok());
  CHECK((*store->GetModelVersion(*b))->state == ModelState::kPromoted);

  Status failed = store->PromoteModelVersion(*c, "no");
  CHECK(failed.code() == Status::Code::kInvalidArgument);
  CHECK(store->PromoteModelVersion(999, "no").code() == Status::Code::kNotFound);
  CHECK((*store->GetModelVersion(*b))->state == ModelState::kPromoted);

  // Rolling back to a retired version retires the current one.
  REQUIRE(store->PromoteModelVersion(*a, "rollback").ok());
  CHECK((*store->GetModelVersion(*a))->state == ModelState::kPromoted);
  CHECK((*store->GetModelVersion(*b))->state == ModelState::kRetired);

  // Update: fields change; a second promoted row is refused by the schema.
  ModelVersion upd = **store->GetModelVersion(*b);
  upd.remote_id = "ft-123";
  upd.note = "kept for reference";
  REQUIRE(store->UpdateModelVersion(upd).ok());
  CHECK((*store->GetModelVersion(*b))->remote_id == "ft-123");
  upd.state = ModelState::kPromoted;
  CHECK_FALSE(store->UpdateModelVersion(upd).ok());
  upd.id = 999;
  CHECK(store->UpdateModelVersion(upd).code() == Status::Code::kNotFound);
  CHECK_FALSE(store->GetModelVersion(999)->has_value());
}

TEST_CASE("store: audit log lists newest first", "[store]") {
  auto store = OpenOrDie(":memory:");
  for (int i = 0; i < 3; ++i)
    REQUIRE(store->AppendAudit({0, "U0" + std::to_string(i), "approve", "suggestion 7", 0}).ok());
  REQUIRE(store->AppendAudit({0, "U9", "reject", "", 1234}).ok());
  auto two = store->ListAudit(2);
  REQUIRE(two.ok());
  REQUIRE(two->size() == 2);
  CHECK((*two)[0].actor == "U9");
  CHECK((*two)[0].at == 1234);
  CHECK((*two)[1].actor == "U02");
  CHECK((*two)[1].at > 0);
  auto all = store->ListAudit(0);
  CHECK(all->size() == 4);
}

TEST_CASE("store: a database from a newer deskbot is refused", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  { OpenOrDie(path); }
  const int newer = SqliteStore::LatestSchemaVersion() + 5;
  RawExec(path, "PRAGMA user_version = " + std::to_string(newer));
  auto store = SqliteStore::Open(path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Status::Code::kInvalidArgument);
  const std::string& msg = store.status().message();
  CHECK(msg.find(path) != std::string::npos);
  CHECK(msg.find("schema version " + std::to_string(newer)) != std::string::npos);
  CHECK(msg.find("refusing") != std::string::npos);
  // And it was not touched.
  CHECK(RawCount(path, "PRAGMA user_version") == newer);
}

TEST_CASE("store: a file that is not a database gives a clear error", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "this is not an SQLite database, just text\n";
  }
  auto store = SqliteStore::Open(path);
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Status::Code::kCorruption);
  CHECK(store.status().message().find(path) != std::string::npos);
  CHECK(store.status().message().find("not a usable SQLite database") != std::string::npos);
}

TEST_CASE("store: a damaged database gives a corruption error, not a crash", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  {
    auto store = OpenOrDie(path);
    std::vector<Ticket> page;
    for (int i = 0; i < 200; ++i) page.push_back(MakeTicket("T" + std::to_string(i), 3));
    REQUIRE(store->UpsertTickets("export", page, std::nullopt).ok());
  }
  RawExec(path, "PRAGMA wal_checkpoint(TRUNCATE)");
  // Overwrite everything after the first page (the header stays valid).
  auto size = fs::file_size(path);
  REQUIRE(size > 8192);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4096);
    std::string junk(size - 4096, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  auto store = SqliteStore::Open(path);
  if (store.ok()) {
    auto n = (*store)->CountTickets();
    REQUIRE_FALSE(n.ok());
    CHECK(n.status().code() == Status::Code::kCorruption);
  } else {
    CHECK(store.status().code() == Status::Code::kCorruption);
  }
}

TEST_CASE("store: a directory that cannot be created is an I/O error", "[store]") {
  TempDir dir;
  const std::string path = dir.File("plain-file");
  { std::ofstream(path) << "x"; }
  auto store = SqliteStore::Open(path + "/deskbot.db");
  REQUIRE_FALSE(store.ok());
  CHECK(store.status().code() == Status::Code::kIOError);
}

TEST_CASE("OpenStore: defaults to <data_dir>/deskbot.db and creates the directory", "[store]") {
  TempDir dir;
  const std::string data_dir = dir.File("nested/data");
  auto config = Config::LoadString("data_dir = \"" + data_dir + "\"\n");
  REQUIRE(config.ok());
  auto store = OpenStore(*config);
  INFO(store.status().ToString());
  REQUIRE(store.ok());
  CHECK(fs::exists(data_dir + "/deskbot.db"));
  CHECK(*(*store)->CountTickets() == 0);

  auto explicit_path =
      Config::LoadString("[store]\npath = \"" + dir.File("other/x.db") + "\"\n");
  REQUIRE(OpenStore(*explicit_path).ok());
  CHECK(fs::exists(dir.File("other/x.db")));

  auto bad = Config::LoadString("[store]\nbackend = \"oracle\"\n");
  auto refused = OpenStore(*bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("oracle") != std::string::npos);
}

TEST_CASE("store: concurrent writers from two threads and two connections", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  auto one = OpenOrDie(path);
  auto two = OpenOrDie(path);
  auto write = [](SqliteStore* s, const std::string& prefix) {
    for (int i = 0; i < 40; ++i) {
      Ticket t = MakeTicket(prefix + std::to_string(i));
      REQUIRE(s->UpsertTickets(prefix, std::span(&t, 1), std::to_string(i)).ok());
    }
  };
  std::thread a(write, one.get(), "a");
  std::thread b(write, one.get(), "b");
  std::thread c(write, two.get(), "c");
  a.join();
  b.join();
  c.join();
  CHECK(*one->CountTickets() == 120);
  CHECK(two->GetCursor("a")->value() == "39");
}

}  // namespace
}  // namespace deskbot

// --- migrations, through the private migration runner -----------------------

#include "bot/store/migrations.h"

namespace deskbot {
namespace {

struct RawDb {
  sqlite3* db = nullptr;
  explicit RawDb(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
  ~RawDb() { sqlite3_close(db); }
  bool HasTable(const std::string& name) {
    sqlite::Stmt q(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
    q.Bind(1, name);
    return q.Step();
  }
};

TEST_CASE("store: a database at an older version is upgraded, keeping its data", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  {
    RawDb raw(path);
    auto first = sqlite::Migrations().first(1);
    REQUIRE(sqlite::Migrate(raw.db, path, first).ok());
    REQUIRE(*sqlite::UserVersion(raw.db) == 1);
    REQUIRE(sqlite::Exec(raw.db,
                         "INSERT INTO tickets(source, external_id, imported_at) VALUES ('rt', '7', 1)",
                         "seed")
                .ok());
  }
  auto store = OpenOrDie(path);
  CHECK(*store->SchemaVersion() == SqliteStore::LatestSchemaVersion());
  auto kept = store->GetTicket("rt", "7");
  REQUIRE(kept.ok());
  CHECK(kept->has_value());
  CHECK(RawCount(path, "SELECT count(*) FROM schema_migrations") ==
        SqliteStore::LatestSchemaVersion());
}

TEST_CASE("store: a failing migration leaves the database at the previous version", "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  RawDb raw(path);
  const sqlite::Migration good[] = {{1, "one", "CREATE TABLE one(a)"}};
  const sqlite::Migration bad[] = {
      {1, "one", "CREATE TABLE one(a)"},
      {2, "two", "CREATE TABLE two(a); INSERT INTO one VALUES (1); CREATE TABLE broken("}};
  // schema_migrations comes from the real migration 1; create it for this list.
  REQUIRE(sqlite::Exec(raw.db, "CREATE TABLE schema_migrations(version, name, applied_at)", "setup").ok());
  REQUIRE(sqlite::Migrate(raw.db, path, good).ok());
  Status st = sqlite::Migrate(raw.db, path, bad);
  REQUIRE_FALSE(st.ok());
  CHECK(st.message().find("schema migration 2 (two)") != std::string::npos);
  CHECK(*sqlite::UserVersion(raw.db) == 1);
  CHECK(raw.HasTable("one"));
  CHECK_FALSE(raw.HasTable("two"));  // rolled back with the rest of migration 2
  CHECK(RawCount(path, "SELECT count(*) FROM one") == 0);

  const sqlite::Migration gap[] = {{1, "one", ""}, {3, "three", ""}};
  CHECK(sqlite::Migrate(raw.db, path, gap).code() == Status::Code::kInternal);
}

// Rows of a one-column query, as text.
std::vector<std::string> RawColumn(sqlite3* db, const std::string& sql) {
  sqlite::Stmt q(db, sql);
  std::vector<std::string> out;
  while (q.Step()) out.push_back(q.Text(0));
  REQUIRE(q.status().ok());
  return out;
}

TEST_CASE("store: a migration that rebuilds a referenced table commits only with every reference valid",
          "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  RawDb raw(path);
  REQUIRE(sqlite::Exec(raw.db, "PRAGMA foreign_keys = ON; "
                       "CREATE TABLE schema_migrations(version, name, applied_at)", "setup").ok());
  const char* kParentChild =
      "CREATE TABLE parent(id INTEGER PRIMARY KEY, v TEXT CHECK (v IN ('a', 'b')));"
      "CREATE TABLE child(p INTEGER REFERENCES parent(id));"
      "INSERT INTO parent VALUES (1, 'a'); INSERT INTO child VALUES (1);";
  const char* kRebuild =
      "CREATE TABLE parent2(id INTEGER PRIMARY KEY, v TEXT CHECK (v = 'a' OR v = 'b'));"
      "INSERT INTO parent2 SELECT id, v FROM parent; DROP TABLE parent;"
      "ALTER TABLE parent2 RENAME TO parent;";
  const char* kRebuildLosingRows =
      "CREATE TABLE parent2(id INTEGER PRIMARY KEY, v TEXT);"
      "DROP TABLE parent; ALTER TABLE parent2 RENAME TO parent;";
  const sqlite::Migration one[] = {{1, "parent and child", kParentChild}};
  REQUIRE(sqlite::Migrate(raw.db, path, one).ok());

  // Without the flag the DROP is refused: the child row refers to the parent.
  const sqlite::Migration unflagged[] = {{1, "parent and child", kParentChild}, {2, "rebuild", kRebuild}};
  CHECK_FALSE(sqlite::Migrate(raw.db, path, unflagged).ok());
  // A rebuild that loses a referenced row is rolled back, enforcement back on.
  const sqlite::Migration losing[] = {{1, "parent and child", kParentChild},
                                      {2, "rebuild", kRebuildLosingRows, true}};
  Status lost = sqlite::Migrate(raw.db, path, losing);
  REQUIRE_FALSE(lost.ok());
  CHECK(lost.message().find("refers to a missing row of parent") != std::string::npos);
  CHECK(*sqlite::UserVersion(raw.db) == 1);
  CHECK(RawColumn(raw.db, "SELECT id FROM parent") == std::vector<std::string>{"1"});
  CHECK(RawColumn(raw.db, "PRAGMA foreign_keys") == std::vector<std::string>{"1"});

  const sqlite::Migration rebuilt[] = {{1, "parent and child", kParentChild}, {2, "rebuild", kRebuild, true}};
  REQUIRE(sqlite::Migrate(raw.db, path, rebuilt).ok());
  CHECK(*sqlite::UserVersion(raw.db) == 2);
  CHECK(RawColumn(raw.db, "PRAGMA foreign_keys") == std::vector<std::string>{"1"});
  // The child refers to the rebuilt table: deleting its parent is refused.
  CHECK_FALSE(sqlite::Exec(raw.db, "DELETE FROM parent WHERE id = 1", "delete").ok());
  CHECK_FALSE(sqlite::Exec(raw.db, "INSERT INTO parent VALUES (2, 'c')", "insert").ok());
}

TEST_CASE("store: the inbox rebuild keeps its rows and indexes and the verdicts that refer to them",
          "[store]") {
  TempDir dir;
  const std::string path = dir.File("deskbot.db");
  std::vector<std::string> indexes_before;
  {
    RawDb raw(path);
    REQUIRE(sqlite::Exec(raw.db, "PRAGMA foreign_keys = ON", "setup").ok());
    REQUIRE(sqlite::Migrate(raw.db, path, sqlite::Migrations().first(7)).ok());
    REQUIRE(sqlite::Exec(raw.db,
                         "INSERT INTO inbox(id, connector, event_key, payload, received_ms, state) VALUES "
                         "(5, 'slack', 'slack:a', '{}', 1, 'done'), (9, 'slack', 'slack:b', '{}', 2, 'pending');"
                         "INSERT INTO verdicts(suggestion_id, connector, agent, action, outcome, inbox_id, at) "
                         "VALUES (1, 'slack', 'U1', 'approve', 'applied', 5, 3);",
                         "seed")
                .ok());
    indexes_before = RawColumn(raw.db, "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                       "tbl_name = 'inbox' ORDER BY name");
  }
  auto store = OpenOrDie(path);
  RawDb raw(path);
  REQUIRE(sqlite::Exec(raw.db, "PRAGMA foreign_keys = ON", "setup").ok());
  CHECK(RawColumn(raw.db, "SELECT id || ':' || event_key || ':' || state FROM inbox ORDER BY id") ==
        std::vector<std::string>{"5:slack:a:done", "9:slack:b:pending"});
  CHECK(RawColumn(raw.db, "SELECT name FROM sqlite_master WHERE type = 'index' AND "
                          "tbl_name = 'inbox' ORDER BY name") == indexes_before);
  CHECK(RawColumn(raw.db, "PRAGMA foreign_key_check").empty());
  const std::string sql = RawColumn(raw.db, "SELECT sql FROM sqlite_master WHERE name = 'inbox'").at(0);
  CHECK(sql.find("state IN") == std::string::npos);
  // The same rules: the verdict's event cannot go, nor can a state be made up.
  CHECK_FALSE(sqlite::Exec(raw.db, "DELETE FROM inbox WHERE id = 5", "delete").ok());
  CHECK_FALSE(sqlite::Exec(raw.db, "UPDATE inbox SET state = 'lost' WHERE id = 9", "update").ok());
  CHECK_FALSE(sqlite::Exec(raw.db, "INSERT INTO inbox(connector, event_key, payload, received_ms) "
                                   "VALUES ('slack', 'slack:a', '{}', 4)", "duplicate").ok());
  CHECK(sqlite::Exec(raw.db, "UPDATE inbox SET state = 'failed' WHERE id = 9", "update").ok());
}

}  // namespace
}  // namespace deskbot


namespace deskbot {
namespace {

// Query plan of `sql` on the file, as SQLite's EXPLAIN QUERY PLAN details.
std::string RawPlan(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &st, nullptr) == SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW) plan += std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 3))) + "\n";
  sqlite3_finalize(st);
  sqlite3_close(db);
  return plan;
}

TEST_CASE("store: the inbox and outbox claims use an index, not a scan of every row", "[store]") {
  // A claim that scans the whole table costs more with every event ever
  // received; the service's ack benchmark showed it as most of its CPU.
  TempDir dir;
  const std::string path = dir.File("claim-plan.db");
  OpenOrDie(path);
  std::string inbox = RawPlan(path,
      "SELECT id FROM inbox WHERE state = 'pending' AND next_attempt_ms <= 1 AND connector IN ('slack') "
      "ORDER BY id LIMIT 16");
  INFO(inbox);
  CHECK(inbox.find("USING INDEX inbox_pending") != std::string::npos);
  std::string outbox = RawPlan(path,
      "SELECT o.id FROM outbox o WHERE o.state = 'pending' AND o.next_attempt_ms <= 1 AND o.connector IN ('slack') "
      "ORDER BY o.id LIMIT 16");
  INFO(outbox);
  CHECK(outbox.find("USING INDEX outbox_pending") != std::string::npos);
}

}  // namespace
}  // namespace deskbot

namespace deskbot {

TEST_CASE("store.synchronous: full opens and stores, an unknown value is refused", "[store]") {
  TempDir dir;
  SqliteOptions full;
  full.synchronous = "full";
  auto store = SqliteStore::Open(dir.File("full.db"), full);
  REQUIRE(store.ok());
  InboxEvent e;
  e.connector = "test";
  e.event_key = "test:1";
  e.payload = "{}";
  REQUIRE((*store)->InsertInboxBatch(std::span<const InboxEvent>(&e, 1)).ok());
  CHECK((*store)->CountChatQueues()->inbox_pending == 1);

  SqliteOptions odd;
  odd.synchronous = "sometimes";
  auto refused = SqliteStore::Open(dir.File("odd.db"), odd);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == util::Status::Code::kInvalidArgument);
  CHECK(refused.status().message().find("store.synchronous") != std::string::npos);
}

}  // namespace deskbot
