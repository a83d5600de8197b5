// The chat service's tables in SqliteStore: inbox dedupe and claiming, the
// one-transaction completion, outbox claiming with dependencies and backoff.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "bot/store/sqlite_store.h"
#include "tests/unit/store/temp_dir.h"

using namespace deskbot;

namespace {

std::unique_ptr<SqliteStore> OpenMemory() {
  auto s = SqliteStore::Open(":memory:");
  REQUIRE(s.ok());
  return std::move(s).value();
}

InboxEvent Event(const std::string& key, const std::string& payload = "{}") {
  InboxEvent e;
  e.connector = "test";
  e.event_key = "test:" + key;
  e.kind = "question";
  e.payload = payload;
  e.received_ms = 1000;
  return e;
}

const std::vector<std::string> kTest{"test"};


}  // namespace

TEST_CASE("inbox batch stores new events once and reports duplicates", "[service][store]") {
  auto store = OpenMemory();
  std::vector<InboxEvent> batch{Event("a"), Event("b"), Event("a")};
  auto fresh = store->InsertInboxBatch(batch);
  REQUIRE(fresh.ok());
  CHECK(*fresh == std::vector<bool>{true, true, false});
  auto again = store->InsertInboxBatch(std::vector<InboxEvent>{Event("b"), Event("c")});
  REQUIRE(again.ok());
  CHECK(*again == std::vector<bool>{false, true});
  auto counts = store->CountChatQueues();
  REQUIRE(counts.ok());
  CHECK(counts->inbox_pending == 3);
}

TEST_CASE("a large inbox batch reports each duplicate once whether repeated within it or stored before",
          "[service][store]") {
  auto store = OpenMemory();
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{Event("old")}).ok());
  // A batch the size of a busy group commit: event 10 repeats the event just
  // before it, event 40 repeats one far earlier in the batch, and event 60
  // was stored by an earlier batch. Only the first copy of each is new.
  std::vector<InboxEvent> batch;
  for (int i = 0; i < 70; ++i) batch.push_back(Event("e" + std::to_string(i)));
  batch[10] = Event("e9");
  batch[40] = Event("e5");
  batch[60] = Event("old");
  auto fresh = store->InsertInboxBatch(batch);
  REQUIRE(fresh.ok());
  REQUIRE(fresh->size() == 70);
  for (int i = 0; i < 70; ++i) {
    INFO("event " << i);
    CHECK((*fresh)[i] == (i != 10 && i != 40 && i != 60));
  }
  CHECK(store->CountChatQueues()->inbox_pending == 1 + 67);
}

TEST_CASE("claimed inbox events complete with their effects in one transaction",
          "[service][store]") {
  auto store = OpenMemory();
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{Event("a", "hello")}).ok());
  auto claimed = store->ClaimInbox(kTest, 10, 2000);
  REQUIRE(claimed.ok());
  REQUIRE(claimed->size() == 1);
  const InboxEvent& e = claimed->front();
  CHECK(e.payload == "hello");
  CHECK(e.attempts == 1);
  // Claimed events are not handed out twice.
  CHECK(store->ClaimInbox(kTest, 10, 2000)->empty());

  SECTION("failing effects leave nothing behind and the event claimed") {
    Status st = store->CompleteInbox(e.id, [](ChatTransaction& tx) -> Status {
      Question q;
      q.connector = "test";
      q.text = "why?";
      q.dedupe_key = "test/c/1";
      auto id = tx.InsertQuestion(q);
      if (!id.ok()) return id.status();
      return Status::IOError("model broke");
    });
    CHECK(st.code() == Status::Code::kIOError);
    CHECK(store->ListQuestions("test", "")->empty());
    CHECK(store->CountChatQueues()->inbox_processing == 1);
  }

  SECTION("effects and done together") {
    std::int64_t suggestion_id = 0;
    Status st = store->CompleteInbox(e.id, [&](ChatTransaction& tx) -> Status {
      Question q;
      q.connector = "test";
      q.conversation = "c";
      q.text = "why?";
      q.dedupe_key = "test/c/1";
      auto qid = tx.InsertQuestion(q);
      if (!qid.ok()) return qid.status();
      REQUIRE(qid->has_value());
      auto dup = tx.InsertQuestion(q);
      REQUIRE(dup.ok());
      CHECK(!dup->has_value());
      SuggestionRecord s;
      s.question_id = **qid;
      s.text = "because";
      s.confidence = 0.8;
      s.sources.push_back({"rt", "42", "why not?", 0.7});
      auto sid = tx.InsertSuggestion(s);
      if (!sid.ok()) return sid.status();
      suggestion_id = *sid;
      OutboxItem item{"test", OutboxKind::kSuggestion, R"({"x":1})", "suggestion:1", 0};
      auto oid = tx.Enqueue(item);
      if (!oid.ok()) return oid.status();
      auto same = tx.Enqueue(item);
      REQUIRE(same.ok());
      CHECK(*same == *oid);
      s.id = *sid;
      s.agent_outbox_id = *oid;
      return tx.UpdateSuggestion(s);
    });
    REQUIRE(st.ok());
    auto counts = store->CountChatQueues();
    CHECK(counts->inbox_done == 1);
    CHECK(counts->outbox_pending == 1);
    CHECK(counts->suggestions[static_cast<int>(SuggestionState::kPending)] == 1);
    auto view = store->GetSuggestion(suggestion_id);
    REQUIRE(view.ok());
    REQUIRE(view->has_value());
    CHECK((*view)->question.text == "why?");
    REQUIRE((*view)->suggestion.sources.size() == 1);
    CHECK((*view)->suggestion.sources[0].ticket_external_id == "42");
    CHECK((*view)->suggestion.agent_message_ref.empty());  // not sent yet
    // A done event cannot be completed again.
    CHECK(store->CompleteInbox(e.id, [](ChatTransaction&) { return Status::OK(); }).code() ==
          Status::Code::kNotFound);

    // Once the agents' row is sent, the suggestion carries its reference.
    auto rows = store->ClaimOutbox(kTest, 10, 1LL << 50);
    REQUIRE(rows.ok());
    REQUIRE(rows->size() == 1);
    REQUIRE(store->MarkOutboxSent(rows->front().id, "msg-7").ok());
    CHECK((*store->GetSuggestion(suggestion_id))->suggestion.agent_message_ref == "msg-7");
    SuggestionFilter f;
    f.connector = "test";
    f.posted_only = true;
    f.states = {SuggestionState::kPending};
    CHECK(store->ListSuggestions(f)->size() == 1);
  }
}

TEST_CASE("events triaged at receipt are stored done, ignored ones complete as a batch",
          "[service][store]") {
  auto store = OpenMemory();
  InboxEvent noise = Event("noise");
  noise.needs_processing = false;
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{noise, Event("a"), Event("b"), Event("c")})
              .ok());
  // The triaged event is kept (for dedupe: a redelivery is a duplicate) but
  // never handed to a worker.
  CHECK(*store->InsertInboxBatch(std::vector<InboxEvent>{noise}) == std::vector<bool>{false});
  auto claimed = store->ClaimInbox(kTest, 10, 2000);
  REQUIRE(claimed.ok());
  REQUIRE(claimed->size() == 3);
  CHECK(claimed->front().event_key == "test:a");
  // a and b are ignored by the workers and marked done in one call; c was
  // released meanwhile (not claimed any more) and is left alone.
  REQUIRE(store->ReleaseInbox(std::vector<std::int64_t>{(*claimed)[2].id}).ok());
  auto marked = store->CompleteInboxBatch(
      std::vector<std::int64_t>{(*claimed)[0].id, (*claimed)[1].id, (*claimed)[2].id});
  REQUIRE(marked.ok());
  CHECK(*marked == 2);
  auto counts = store->CountChatQueues();
  REQUIRE(counts.ok());
  CHECK(counts->inbox_done == 3);
  CHECK(counts->inbox_pending == 1);
  CHECK(counts->inbox_processing == 0);
  CHECK(*store->CompleteInboxBatch(std::vector<std::int64_t>{}) == 0);
}

TEST_CASE("queue counts cover every inbox and outbox state", "[service][store]") {
  auto store = OpenMemory();
  InboxEvent noise = Event("noise");
  noise.needs_processing = false;  // done at receipt
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{noise, Event("worked"), Event("bad"),
                                                          Event("busy"), Event("waiting")})
              .ok());
  auto claimed = store->ClaimInbox(kTest, 3, NowMs());
  REQUIRE(claimed->size() == 3);  // "worked", "bad", "busy"
  std::vector<std::int64_t> outbox;
  REQUIRE(store->CompleteInbox((*claimed)[0].id, [&](ChatTransaction& tx) -> Status {
                   for (const char* key : {"sent", "failed", "sending", "pending", "sent2"}) {
                     auto id = tx.Enqueue({"test", OutboxKind::kNotice, "{}", key, 0});
                     if (!id.ok()) return id.status();
                     outbox.push_back(*id);
                   }
                   return Status::OK();
                 }).ok());
  REQUIRE(store->FailInbox((*claimed)[1].id, "bad payload").ok());
  // "busy" stays claimed (processing); "waiting" stays pending.
  auto rows = store->ClaimOutbox(kTest, 4, NowMs());  // the first four, in id order
  REQUIRE(rows->size() == 4);
  REQUIRE(store->MarkOutboxSent(outbox[0], "ts-1").ok());
  REQUIRE(store->FailOutbox(outbox[1], "channel_not_found").ok());
  // outbox[2] stays sending; outbox[3] goes back to pending, outbox[4] never left it.
  REQUIRE(store->ReleaseOutbox(outbox[3]).ok());

  auto c = store->CountChatQueues();
  REQUIRE(c.ok());
  CHECK(c->inbox_done == 2);
  CHECK(c->inbox_failed == 1);
  CHECK(c->inbox_processing == 1);
  CHECK(c->inbox_pending == 1);
  CHECK(c->outbox_sent == 1);
  CHECK(c->outbox_failed == 1);
  CHECK(c->outbox_sending == 1);
  CHECK(c->outbox_pending == 2);
}

TEST_CASE("inbox retention deletes old done events, never failed, pending or audited ones",
          "[service][store]") {
  auto store = OpenMemory();
  InboxEvent noise = Event("noise");
  noise.needs_processing = false;  // done at receipt
  REQUIRE(store->InsertInboxBatch(
                   std::vector<InboxEvent>{noise, Event("verdict"), Event("bad"), Event("waiting")})
              .ok());
  auto claimed = store->ClaimInbox(kTest, 2, NowMs());
  REQUIRE(claimed->size() == 2);  // "verdict" and "bad"
  REQUIRE(store
              ->CompleteInbox((*claimed)[0].id,
                              [&](ChatTransaction& tx) {
                                VerdictRecord r;
                                r.connector = "test";
                                r.verdict.suggestion_id = 7;
                                r.verdict.agent = "U1";
                                r.inbox_id = (*claimed)[0].id;
                                return tx.RecordVerdict(r);
                              })
              .ok());
  REQUIRE(store->FailInbox((*claimed)[1].id, "bad payload").ok());

  // Nothing is old enough yet.
  CHECK(*store->PruneInbox(NowMs() - 60'000, 100) == 0);
  // Later: only the triaged noise goes; the verdict's event stays for the
  // audit trail, the failed one for a human, the pending one for a worker.
  CHECK(*store->PruneInbox(NowMs() + 60'000, 100) == 1);
  auto counts = store->CountChatQueues();
  CHECK(counts->inbox_done == 1);
  CHECK(counts->inbox_failed == 1);
  CHECK(counts->inbox_pending == 1);
  // A pruned event id is forgotten: the vendor would have stopped retrying.
  CHECK(*store->InsertInboxBatch(std::vector<InboxEvent>{noise}) == std::vector<bool>{true});
}

TEST_CASE("inbox retention looks only at events received before the cutoff", "[service][store]") {
  auto store = OpenMemory();
  const std::int64_t now = NowMs();
  const std::int64_t cutoff = now + 60'000;
  // 30 events received before the cutoff, then 20 after it; all done at
  // receipt (done_ms is now, before the cutoff, for every one of them).
  std::vector<InboxEvent> events;
  for (int i = 0; i < 50; ++i) {
    InboxEvent e = Event("e" + std::to_string(i));
    e.needs_processing = false;
    e.received_ms = i < 30 ? now - 1000 : cutoff + 600'000;
    events.push_back(e);
  }
  REQUIRE(store->InsertInboxBatch(events).ok());
  // Small chunks: each run searches its bound again across the ids the
  // earlier runs deleted.
  std::int64_t deleted = 0;
  for (;;) {
    auto n = store->PruneInbox(cutoff, 7);
    REQUIRE(n.ok());
    deleted += *n;
    if (*n < 7) break;
  }
  // Only the 30 received before the cutoff were candidates: an event is done
  // after it is received, so the prune never reads the rows past that bound.
  CHECK(deleted == 30);
  CHECK(store->CountChatQueues()->inbox_done == 20);
  CHECK(*store->PruneInbox(cutoff, 100) == 0);
  // Past every event's receipt, the rest goes too.
  CHECK(*store->PruneInbox(cutoff + 700'000, 100) == 20);
}

TEST_CASE("outbox retention deletes old sent rows, never unsent or referred-to ones",
          "[service][store]") {
  auto store = OpenMemory();
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{Event("a")}).ok());
  auto e = store->ClaimInbox(kTest, 1, 0);
  std::int64_t answer = 0, parent = 0, child = 0, posted = 0, stored = 0, failed = 0,
               sending = 0, pending = 0;
  REQUIRE(store->CompleteInbox(e->front().id, [&](ChatTransaction& tx) -> Status {
                 auto enqueue = [&](OutboxKind kind, const std::string& key, std::int64_t dep,
                                    std::int64_t* id) {
                   auto r = tx.Enqueue({"test", kind, "{}", key, dep});
                   REQUIRE(r.ok());
                   *id = *r;
                 };
                 enqueue(OutboxKind::kAnswer, "answer", 0, &answer);
                 enqueue(OutboxKind::kSuggestion, "parent", 0, &parent);
                 enqueue(OutboxKind::kSuggestionUpdate, "child", parent, &child);
                 enqueue(OutboxKind::kSuggestion, "posted", 0, &posted);
                 enqueue(OutboxKind::kAnswer, "stored", 0, &stored);
                 enqueue(OutboxKind::kRefusal, "failed", 0, &failed);
                 enqueue(OutboxKind::kNotice, "sending", 0, &sending);
                 enqueue(OutboxKind::kNotice, "pending", 0, &pending);
                 Question q;
                 q.connector = "test";
                 q.text = "why?";
                 q.dedupe_key = "test/c/1";
                 auto qid = tx.InsertQuestion(q);
                 REQUIRE(qid.ok());
                 SuggestionRecord s;
                 s.question_id = **qid;
                 auto sid = tx.InsertSuggestion(s);
                 REQUIRE(sid.ok());
                 s.id = *sid;
                 s.agent_outbox_id = posted;  // the suggestion refers to its agents' message
                 return tx.UpdateSuggestion(s);
               }).ok());
  ChatMessage m;
  m.connector = "test";
  m.conversation = "c1";
  m.kind = "answer";
  m.text = "restart it";
  m.outbox_id = stored;  // the web chat's stored message refers to its row
  REQUIRE(store->AddChatMessage(m).ok());

  auto rows = store->ClaimOutbox(kTest, 100, NowMs());
  REQUIRE(rows->size() == 7);  // all but the child, which waits for its parent
  for (std::int64_t id : {answer, parent, posted, stored}) REQUIRE(store->MarkOutboxSent(id, "m").ok());
  REQUIRE(store->FailOutbox(failed, "channel gone").ok());
  REQUIRE(store->ReleaseOutbox(pending).ok());

  // Nothing is old enough yet; a zero-row chunk deletes nothing.
  CHECK(*store->PruneOutbox(NowMs() - 60'000, 100) == 0);
  CHECK(*store->PruneOutbox(NowMs() + 60'000, 0) == 0);
  // Later: only the plain answer goes. The parent stays for its pending
  // update, the posted suggestion and the stored chat message for what refers
  // to them, the failed row for a human, the unsent ones for the sender.
  CHECK(*store->PruneOutbox(NowMs() + 60'000, 100) == 1);
  CHECK(!store->GetOutbox(answer)->has_value());
  auto counts = store->CountChatQueues();
  CHECK(counts->outbox_sent == 3);
  CHECK(counts->outbox_failed == 1);
  CHECK(counts->outbox_sending == 1);
  CHECK(counts->outbox_pending == 2);
  CHECK((*store->FindChatMessageByOutbox(stored))->text == "restart it");

  // Once the update is sent it goes first, and its parent in the next run.
  rows = store->ClaimOutbox(kTest, 100, NowMs());
  REQUIRE(rows->size() == 2);  // the child and the released row
  REQUIRE(store->MarkOutboxSent(child, "m").ok());
  CHECK(*store->PruneOutbox(NowMs() + 60'000, 100) == 1);
  CHECK(!store->GetOutbox(child)->has_value());
  CHECK(*store->PruneOutbox(NowMs() + 60'000, 100) == 1);
  CHECK(!store->GetOutbox(parent)->has_value());
  CHECK(store->GetOutbox(posted)->has_value());
  CHECK(store->GetOutbox(stored)->has_value());
  CHECK(*store->PruneOutbox(NowMs() + 60'000, 100) == 0);
}

TEST_CASE("inbox retry, failure, release and requeue", "[service][store]") {
  auto store = OpenMemory();
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{Event("a"), Event("b")}).ok());
  auto claimed = store->ClaimInbox(kTest, 10, 0);
  REQUIRE(claimed->size() == 2);
  REQUIRE(store->RetryInbox((*claimed)[0].id, "busy", 5000).ok());
  REQUIRE(store->FailInbox((*claimed)[1].id, "bad payload").ok());
  CHECK(store->ClaimInbox(kTest, 10, 4999)->empty());  // not due yet
  auto again = store->ClaimInbox(kTest, 10, 5000);
  REQUIRE(again->size() == 1);
  CHECK(again->front().attempts == 2);
  std::vector<std::int64_t> ids{again->front().id};
  REQUIRE(store->ReleaseInbox(ids).ok());
  auto third = store->ClaimInbox(kTest, 10, 5000);
  REQUIRE(third->size() == 1);
  CHECK(third->front().attempts == 2);  // a release does not count as an attempt
  CHECK(*store->RequeueProcessingInbox() == 1);
  auto counts = store->CountChatQueues();
  CHECK(counts->inbox_pending == 1);
  CHECK(counts->inbox_failed == 1);
  // Another connector's events are not claimed.
  CHECK(store->ClaimInbox(std::vector<std::string>{"slack"}, 10, 1LL << 50)->empty());
}

TEST_CASE("outbox rows wait for the row they depend on", "[service][store]") {
  auto store = OpenMemory();
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{Event("a")}).ok());
  auto e = store->ClaimInbox(kTest, 1, 0);
  std::int64_t first = 0, second = 0;
  REQUIRE(store->CompleteInbox(e->front().id, [&](ChatTransaction& tx) -> Status {
                 auto a = tx.Enqueue({"test", OutboxKind::kSuggestion, "{}", "k1", 0});
                 if (!a.ok()) return a.status();
                 first = *a;
                 auto b = tx.Enqueue({"test", OutboxKind::kSuggestionUpdate, "{}", "k2", first});
                 if (!b.ok()) return b.status();
                 second = *b;
                 return Status::OK();
               }).ok());
  auto rows = store->ClaimOutbox(kTest, 10, 0);
  REQUIRE(rows->size() == 1);
  CHECK(rows->front().id == first);
  // A retry puts it back with a due time; the dependent row still waits.
  REQUIRE(store->RetryOutbox(first, "503", 100).ok());
  CHECK(store->ClaimOutbox(kTest, 10, 50)->empty());
  CHECK(*store->NextOutboxDue(kTest) == std::optional<std::int64_t>(100));
  rows = store->ClaimOutbox(kTest, 10, 100);
  REQUIRE(rows->size() == 1);
  CHECK(rows->front().attempts == 2);
  CHECK(store->ListSendingOutbox(kTest)->size() == 1);
  REQUIRE(store->MarkOutboxSent(first, "ts-1").ok());
  rows = store->ClaimOutbox(kTest, 10, 100);
  REQUIRE(rows->size() == 1);
  CHECK(rows->front().id == second);
  CHECK(rows->front().depends_on_ref == "ts-1");
  REQUIRE(store->ReleaseOutbox(second).ok());
  CHECK((*store->GetOutbox(second))->attempts == 0);
  REQUIRE(store->FailOutbox(second, "permanent").ok());
  auto counts = store->CountChatQueues();
  CHECK(counts->outbox_sent == 1);
  CHECK(counts->outbox_failed == 1);
  // Marking a row that is not sending is refused rather than silently done.
  CHECK(store->MarkOutboxSent(second, "x").code() == Status::Code::kNotFound);
}

TEST_CASE("chat messages are stored once per outbox row", "[service][store]") {
  auto store = OpenMemory();
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{Event("a")}).ok());
  auto e = store->ClaimInbox(kTest, 1, 0);
  std::int64_t oid = 0;
  REQUIRE(store->CompleteInbox(e->front().id, [&](ChatTransaction& tx) -> Status {
                 auto a = tx.Enqueue({"test", OutboxKind::kAnswer, "{}", "answer:1", 0});
                 if (!a.ok()) return a.status();
                 oid = *a;
                 return Status::OK();
               }).ok());
  ChatMessage m;
  m.connector = "test";
  m.conversation = "c1";
  m.kind = "answer";
  m.text = "restart it";
  m.outbox_id = oid;
  auto id1 = store->AddChatMessage(m);
  auto id2 = store->AddChatMessage(m);
  REQUIRE(id1.ok());
  REQUIRE(id2.ok());
  CHECK(*id1 == *id2);
  CHECK(store->ListChatMessages("test", "c1", 0)->size() == 1);
  CHECK(store->ListChatMessages("test", "c1", *id1)->empty());
  CHECK((*store->FindChatMessageByOutbox(oid))->text == "restart it");
  CHECK(!store->FindChatMessageByOutbox(oid + 100)->has_value());
}

TEST_CASE("service state survives reopening, migration 2 upgrades a version-1 store",
          "[service][store]") {
  deskbot::testing::TempDir dir;
  const std::string path = dir.File("s.db");
  {
    auto store = SqliteStore::Open(path);
    REQUIRE(store.ok());
    REQUIRE((*store)->SetServiceState("retrain.mark", "12").ok());
  }
  auto store = SqliteStore::Open(path);
  REQUIRE(store.ok());
  CHECK(*(*store)->GetServiceState("retrain.mark") == std::optional<std::string>("12"));
  CHECK(!(*store)->GetServiceState("other")->has_value());
  CHECK(*(*store)->SchemaVersion() >= 2);
}
