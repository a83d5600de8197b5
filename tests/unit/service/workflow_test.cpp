// The approval workflow end to end over a real (in-memory or file) SQLite
// store, a fake chat and a keyword model: questions, verdicts, refusals,
// duplicates, retries, and restarts at the awkward moments.
#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include "bot/service/outbox_sender.h"
#include "bot/service/workers.h"
#include "bot/service/workflow.h"
#include "bot/store/sqlite_store.h"
#include "tests/support/store_reads.h"
#include "tests/unit/service/fakes.h"
#include "tests/unit/store/temp_dir.h"

using namespace deskbot;
using namespace deskbot::service;
using deskbot::testing::FakeChat;
using deskbot::testing::FakeConnector;
using deskbot::testing::KeywordModel;
using nlohmann::json;

namespace {

std::shared_ptr<AnswerModel> Model() {
  return std::make_shared<KeywordModel>(std::map<std::string, std::string>{
      {"vpn", "Restart the VPN client and sign in again."},
      {"printer", "Use the print portal to add the printer."}});
}

struct Harness {
  std::unique_ptr<SqliteStore> store;
  std::shared_ptr<FakeChat> chat;
  std::unique_ptr<FakeConnector> connector;
  ModelSlot models;
  std::unique_ptr<Workflow> workflow;
  std::unique_ptr<OutboxSender> sender;

  explicit Harness(const std::string& path = ":memory:", std::shared_ptr<FakeChat> shared = nullptr,
                   bool can_check = true) {
    auto s = SqliteStore::Open(path);
    REQUIRE(s.ok());
    store = std::move(s).value();
    chat = shared ? shared : std::make_shared<FakeChat>();
    connector = std::make_unique<FakeConnector>(chat, can_check);
    models.Set(Model(), "v1");
    WorkflowOptions o;
    o.is_agent = AgentIds({"U1", "fake:U2", "slack:U3"});
    o.retry_base = std::chrono::milliseconds(0);
    o.max_attempts = 3;
    ConnectorSet set{{"fake", connector.get()}};
    workflow = std::make_unique<Workflow>(*store, models, set, o, nullptr);
    OutboxOptions oo;
    oo.backoff_base = std::chrono::milliseconds(0);
    oo.max_attempts = 4;
    sender = std::make_unique<OutboxSender>(*store, set, oo, nullptr);
  }

  bool Receive(const std::string& key, const json& payload) {
    InboxEvent e{0, "fake", "fake:" + key, "event", payload.dump(), 0, 0};
    auto fresh = store->InsertInboxBatch(std::span<const InboxEvent>(&e, 1));
    REQUIRE(fresh.ok());
    return (*fresh)[0];
  }
  void Ask(const std::string& key, const std::string& text, const std::string& ts = "") {
    Receive(key, {{"type", "question"}, {"message_id", ts.empty() ? key : ts}, {"text", text}});
  }
  void Decide(const std::string& key, std::int64_t suggestion, const std::string& action,
              const std::string& agent, const std::string& text = "", const std::string& reason = "") {
    Receive(key, {{"type", "verdict"}, {"suggestion", suggestion}, {"action", action},
                  {"agent", agent}, {"text", text}, {"reason", reason}});
  }

  std::vector<ProcessResult> Process() {
    std::vector<ProcessResult> results;
    const std::vector<std::string> names{"fake"};
    for (;;) {
      auto claimed = store->ClaimInbox(names, 10, NowMs());
      REQUIRE(claimed.ok());
      if (claimed->empty()) return results;
      for (const auto& e : *claimed) results.push_back(workflow->Process(e));
    }
  }
  void Send() {
    for (int i = 0; i < 100; ++i) {
      auto n = sender->RunOnce();
      REQUIRE(n.ok());
      if (*n == 0) return;
    }
    FAIL("the outbox did not drain");
  }
  void Run() {
    Process();
    Send();
  }
  std::int64_t LastSuggestionId() {
    SuggestionFilter f;
    f.limit = 1;
    auto list = store->ListSuggestions(f);
    REQUIRE(list.ok());
    REQUIRE(!list->empty());
    return list->front().suggestion.id;
  }
  std::vector<Pair> Pairs() { return deskbot::testing::AllPairs(*store); }
  std::vector<PreferencePair> Preferences() { return deskbot::testing::AllPreferencePairs(*store); }
};

}  // namespace

TEST_CASE("question -> suggestion -> approve -> answer posted once -> pair stored", "[service]") {
  Harness h;
  h.Ask("e1", "My VPN keeps dropping", "1700000000.0001");
  h.Run();
  auto suggestions = h.chat->Of("suggestion");
  REQUIRE(suggestions.size() == 1);
  CHECK(suggestions[0].text == "Restart the VPN client and sign in again.");
  CHECK(suggestions[0].confidence == Approx(0.92));
  REQUIRE(suggestions[0].sources.size() == 1);
  CHECK(suggestions[0].sources[0].ticket_external_id == "T-vpn");
  CHECK(h.chat->Of("notice").empty());
  CHECK(h.chat->Of("answer").empty());  // nothing reaches the asker before an agent decides

  const std::int64_t sid = h.LastSuggestionId();
  auto view = h.store->GetSuggestion(sid);
  CHECK((*view)->suggestion.state == SuggestionState::kPending);
  CHECK((*view)->suggestion.model_version == "v1");

  h.Decide("v1", sid, "approve", "U1");
  h.Run();
  auto answers = h.chat->Of("answer");
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].text == "Restart the VPN client and sign in again.");
  CHECK(answers[0].target.conversation == "C1");
  CHECK(answers[0].target.thread == "1700000000.0001");
  auto updates = h.chat->Of("update");
  REQUIRE(updates.size() == 1);
  CHECK(updates[0].state == "approved");
  CHECK(updates[0].message_ref == "m" + std::to_string(suggestions[0].outbox_id));

  view = h.store->GetSuggestion(sid);
  CHECK((*view)->suggestion.state == SuggestionState::kApproved);
  CHECK((*view)->suggestion.decided_by == "U1");
  CHECK((*view)->suggestion.final_text == "Restart the VPN client and sign in again.");
  auto pairs = h.Pairs();
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].origin == PairOrigin::kApproved);
  CHECK(pairs[0].question == "My VPN keeps dropping");
  CHECK(pairs[0].answer == "Restart the VPN client and sign in again.");
  CHECK(h.Preferences().empty());

  SECTION("a second decision on a decided suggestion changes nothing") {
    h.Decide("v2", sid, "reject", "U1", "", "changed my mind");
    h.Decide("v3", sid, "edit", "fake:U2", "Something else");
    h.Run();
    CHECK(h.chat->Of("answer").size() == 1);
    CHECK(h.chat->Of("update").size() == 1);
    CHECK(h.Pairs().size() == 1);
    CHECK((*h.store->GetSuggestion(sid))->suggestion.state == SuggestionState::kApproved);
    auto verdicts = h.store->ListVerdicts(sid);
    REQUIRE(verdicts->size() == 3);
    CHECK((*verdicts)[1].outcome == VerdictOutcome::kIgnored);
    CHECK((*verdicts)[2].outcome == VerdictOutcome::kIgnored);
  }
}

TEST_CASE("edit posts the edited text and stores a preference pair", "[service]") {
  Harness h;
  h.Ask("e1", "How do I add the printer on floor 3?");
  h.Run();
  const std::int64_t sid = h.LastSuggestionId();
  h.Decide("v1", sid, "edit", "U2", "Use the print portal, then pick Floor 3 - Color.");
  h.Run();
  auto answers = h.chat->Of("answer");
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].text == "Use the print portal, then pick Floor 3 - Color.");
  auto pairs = h.Pairs();
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].origin == PairOrigin::kEdited);
  CHECK(pairs[0].answer == "Use the print portal, then pick Floor 3 - Color.");
  auto prefs = h.Preferences();
  REQUIRE(prefs.size() == 1);
  CHECK(prefs[0].preferred == "Use the print portal, then pick Floor 3 - Color.");
  CHECK(prefs[0].rejected == "Use the print portal to add the printer.");
  CHECK(h.chat->Of("update").at(0).state == "edited");
}

TEST_CASE("reject records the reason and posts nothing to the asker", "[service]") {
  Harness h;
  h.Ask("e1", "vpn is slow");
  h.Run();
  const std::int64_t sid = h.LastSuggestionId();
  h.Decide("v1", sid, "reject", "U1", "", "slowness is a different problem");
  h.Run();
  CHECK(h.chat->Of("answer").empty());
  CHECK(h.chat->Of("notice").empty());
  auto view = h.store->GetSuggestion(sid);
  CHECK((*view)->suggestion.state == SuggestionState::kRejected);
  CHECK((*view)->suggestion.reason == "slowness is a different problem");
  CHECK(h.Pairs().empty());
  REQUIRE(h.chat->Of("update").size() == 1);
  CHECK(h.chat->Of("update")[0].state == "rejected");
  auto audit = h.store->ListAudit(10);
  REQUIRE(!audit->empty());
  CHECK(audit->front().action == "verdict.reject");
  CHECK(audit->front().detail.find("slowness is a different problem") != std::string::npos);
}

TEST_CASE("a non-agent is refused politely and the attempt is audited", "[service]") {
  Harness h;
  h.Ask("e1", "vpn down");
  h.Run();
  const std::int64_t sid = h.LastSuggestionId();
  h.Decide("v1", sid, "approve", "U666");
  // "slack:U3" is an agent in Slack only, not in this chat.
  h.Decide("v2", sid, "approve", "U3");
  h.Run();
  CHECK(h.chat->Of("answer").empty());
  auto refusals = h.chat->Of("refusal");
  REQUIRE(refusals.size() == 2);
  CHECK(refusals[0].target.user == "U666");
  CHECK(refusals[0].text.find("only help-desk agents") != std::string::npos);
  CHECK((*h.store->GetSuggestion(sid))->suggestion.state == SuggestionState::kPending);
  auto audit = h.store->ListAudit(10);
  REQUIRE(audit->size() >= 2);
  CHECK((*audit)[1].actor == "fake:U666");
  CHECK((*audit)[1].action == "verdict.refused");
  auto verdicts = h.store->ListVerdicts(sid);
  REQUIRE(verdicts->size() == 2);
  CHECK((*verdicts)[0].outcome == VerdictOutcome::kRefused);
  // An agent can still decide afterwards.
  h.Decide("v3", sid, "approve", "U1");
  h.Run();
  CHECK(h.chat->Of("answer").size() == 1);
}

TEST_CASE("below the threshold the asker gets a notice and agents still see the question",
          "[service]") {
  Harness h;
  h.Ask("e1", "Can I expense a standing desk?");
  h.Run();
  auto notices = h.chat->Of("notice");
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].text.find("An agent will") != std::string::npos);
  CHECK(notices[0].target.conversation == "C1");
  auto suggestions = h.chat->Of("suggestion");
  REQUIRE(suggestions.size() == 1);
  CHECK(suggestions[0].text.empty());
  const std::int64_t sid = h.LastSuggestionId();
  CHECK((*h.store->GetSuggestion(sid))->suggestion.state == SuggestionState::kAbstained);

  // Nothing to approve: the agent is told, the suggestion stays open.
  h.Decide("v1", sid, "approve", "U1");
  h.Run();
  CHECK(h.chat->Of("answer").empty());
  REQUIRE(h.chat->Of("notice").size() == 2);
  CHECK(h.chat->Of("notice")[1].target.user == "U1");
  // An agent writes the answer.
  h.Decide("v2", sid, "edit", "U1", "Yes, with your manager's approval.");
  h.Run();
  REQUIRE(h.chat->Of("answer").size() == 1);
  CHECK(h.chat->Of("answer")[0].text == "Yes, with your manager's approval.");
  CHECK(h.Pairs().size() == 1);
  CHECK(h.Preferences().empty());  // there was no suggestion to prefer it to
}

TEST_CASE("no model loaded: every question goes to agents", "[service]") {
  Harness h;
  h.models.Set(nullptr, "");
  h.Ask("e1", "vpn down");
  h.Run();
  CHECK(h.chat->Of("notice").size() == 1);
  CHECK(h.chat->Of("suggestion").size() == 1);
}

TEST_CASE("a duplicate inbox event gets one reply", "[service]") {
  Harness h;
  CHECK(h.Receive("Ev1", {{"type", "question"}, {"message_id", "1.1"}, {"text", "vpn?"}}));
  CHECK_FALSE(h.Receive("Ev1", {{"type", "question"}, {"message_id", "1.1"}, {"text", "vpn?"}}));
  // The same message as a different event (Slack's message + app_mention).
  CHECK(h.Receive("Ev2", {{"type", "question"}, {"message_id", "1.1"}, {"text", "vpn?"}}));
  auto results = h.Process();
  REQUIRE(results.size() == 2);
  CHECK(results[1].type == "duplicate_question");
  h.Send();
  CHECK(h.chat->Of("suggestion").size() == 1);
  const std::int64_t sid = h.LastSuggestionId();
  h.Decide("A1", sid, "approve", "U1");
  h.Decide("A1", sid, "approve", "U1");  // the vendor retried the click
  h.Run();
  CHECK(h.chat->Of("answer").size() == 1);
  CHECK(h.store->ListVerdicts(sid)->size() == 1);
}

TEST_CASE("commands get a reply, unknown events are ignored, bad payloads fail and stay",
          "[service]") {
  Harness h;
  h.Receive("c1", {{"type", "command"}, {"name", "status"}, {"user", "U9"}});
  h.Receive("n1", {{"type", "reaction_added"}});
  InboxEvent bad{0, "fake", "fake:bad", "event", "not json", 0, 0};
  REQUIRE(h.store->InsertInboxBatch(std::span<const InboxEvent>(&bad, 1)).ok());
  auto results = h.Process();
  REQUIRE(results.size() == 3);
  CHECK(results[0].type == "command");
  CHECK(results[1].type == "ignored");
  CHECK(results[2].outcome == ProcessResult::Outcome::kFailed);
  h.Send();
  auto notices = h.chat->Of("notice");
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].text.find("Model: v1") != std::string::npos);
  CHECK(notices[0].target.user == "U9");
  auto counts = h.store->CountChatQueues();
  CHECK(counts->inbox_failed == 1);
  CHECK(counts->inbox_done == 2);
}

TEST_CASE("a batch marks its ignored events done together and stops where it is told",
          "[service]") {
  Harness h;
  h.Receive("n1", {{"type", "reaction_added"}});
  h.Ask("q1", "my vpn drops");
  h.Receive("n2", {{"type", "reaction_added"}});
  h.Receive("n3", {{"type", "reaction_added"}});
  const std::vector<std::string> names{"fake"};
  auto claimed = h.store->ClaimInbox(names, 10, NowMs());
  REQUIRE(claimed->size() == 4);
  std::size_t started = 0;
  auto results = h.workflow->ProcessBatch(*claimed, nullptr, &started);
  CHECK(started == 4);
  REQUIRE(results.size() == 4);
  CHECK(results[0].type == "question");  // the ignored ones are finished last, together
  for (std::size_t i = 1; i < results.size(); ++i) {
    CHECK(results[i].type == "ignored");
    CHECK(results[i].outcome == ProcessResult::Outcome::kDone);
  }
  CHECK(h.store->CountChatQueues()->inbox_done == 4);

  // Told to stop after the first event: the rest stay claimed, untouched, for
  // the caller to release.
  h.Ask("q2", "printer offline");
  h.Receive("n4", {{"type", "reaction_added"}});
  h.Receive("n5", {{"type", "reaction_added"}});
  claimed = h.store->ClaimInbox(names, 10, NowMs());
  REQUIRE(claimed->size() == 3);
  int asked = 0;
  results = h.workflow->ProcessBatch(*claimed, [&] { return asked++ >= 1; }, &started);
  CHECK(started == 1);
  REQUIRE(results.size() == 1);
  CHECK(results[0].type == "question");
  auto counts = h.store->CountChatQueues();
  CHECK(counts->inbox_done == 5);
  CHECK(counts->inbox_processing == 2);
}

TEST_CASE("an outbox send failure is retried and sent once, a permanent one is not retried",
          "[service]") {
  Harness h;
  h.Ask("e1", "vpn?");
  h.Run();
  const std::int64_t sid = h.LastSuggestionId();
  h.Decide("v1", sid, "approve", "U1");
  h.Process();

  SECTION("retryable") {
    h.chat->fail_next["answer"] = 2;
    h.Send();
    CHECK(h.chat->Of("answer").size() == 1);
    CHECK(h.store->CountChatQueues()->outbox_failed == 0);
    // Each retry asked whether the earlier attempt had got through.
    CHECK(h.connector->checks >= 2);
  }
  SECTION("accepted by the chat but the reply was lost: not sent twice") {
    h.chat->lose_ack_next["answer"] = 1;
    h.Send();
    CHECK(h.chat->Of("answer").size() == 1);
    CHECK(h.store->CountChatQueues()->outbox_failed == 0);
  }
  SECTION("permanent") {
    h.chat->fail_code = util::Status::Code::kInvalidArgument;
    h.chat->fail_next["answer"] = 1;
    h.Send();
    CHECK(h.chat->Of("answer").empty());
    CHECK(h.store->CountChatQueues()->outbox_failed == 1);
  }
  SECTION("retryable, but too many times") {
    h.chat->fail_next["answer"] = 10;
    h.Send();
    CHECK(h.chat->Of("answer").empty());
    auto counts = h.store->CountChatQueues();
    CHECK(counts->outbox_failed == 1);
  }
}

TEST_CASE("a process killed between ack and processing replies exactly once after restart",
          "[service]") {
  deskbot::testing::TempDir dir;
  const std::string db = dir.File("deskbot.db");
  auto chat = std::make_shared<FakeChat>();
  {
    Harness first(db, chat);
    first.Ask("e1", "vpn broken", "1.1");
    first.Ask("e2", "printer?", "1.2");
    // A worker claimed e1 and died mid-way; e2 was acknowledged but never claimed.
    auto claimed = first.store->ClaimInbox(std::vector<std::string>{"fake"}, 1, NowMs());
    REQUIRE(claimed->size() == 1);
  }  // killed: nothing processed, nothing sent
  CHECK(chat->Count() == 0);

  Harness second(db, chat);
  CHECK(*second.store->RequeueProcessingInbox() == 1);  // what Service::Start does
  second.Run();
  CHECK(chat->Of("suggestion").size() == 2);
  // The vendor retries the delivery it saw acknowledged: still one question.
  second.Ask("e1", "vpn broken", "1.1");
  second.Run();
  CHECK(chat->Of("suggestion").size() == 2);
  CHECK(second.store->CountChatQueues()->suggestions[0] == 2);
}

TEST_CASE("a process killed while sending does not send twice when the chat can tell",
          "[service]") {
  deskbot::testing::TempDir dir;
  const std::string db = dir.File("deskbot.db");
  auto chat = std::make_shared<FakeChat>();
  std::int64_t sid = 0;
  {
    Harness first(db, chat);
    first.Ask("e1", "vpn broken");
    first.Run();
    sid = first.LastSuggestionId();
    first.Decide("v1", sid, "approve", "U1");
    first.Process();
    // The sender claims the answer, the chat accepts it, and the process dies
    // before it records "sent".
    auto rows = first.store->ClaimOutbox(std::vector<std::string>{"fake"}, 1, NowMs());
    REQUIRE(rows->size() == 1);
    REQUIRE(rows->front().kind == OutboxKind::kAnswer);
    REQUIRE(first.connector->PostAnswer({rows->front().id, rows->front().idempotency_key, 1},
                                        {{"C1", "", "", ""}, "Restart the VPN client and sign in again.", 0, sid})
                .ok());
    CHECK(first.store->CountChatQueues()->outbox_sending == 1);
  }
  SECTION("connector checks delivery: exactly once") {
    Harness second(db, chat, /*can_check=*/true);
    second.Send();
    CHECK(chat->Of("answer").size() == 1);
    CHECK(chat->Of("update").size() == 1);
    CHECK(second.store->CountChatQueues()->outbox_sent == 3);
  }
  SECTION("connector cannot check: sent again (at least once)") {
    Harness second(db, chat, /*can_check=*/false);
    second.Send();
    CHECK(chat->Of("answer").size() == 2);
  }
}

TEST_CASE("stopping the workers finishes the event at hand and re-queues the rest", "[service]") {
  auto store = std::move(SqliteStore::Open(":memory:")).value();
  auto chat = std::make_shared<FakeChat>();
  FakeConnector connector(chat);
  auto model = std::make_shared<deskbot::testing::BlockingModel>();
  ModelSlot models;
  models.Set(model, "v-block");
  ConnectorSet set{{"fake", &connector}};
  Workflow workflow(*store, models, set, WorkflowOptions{}, nullptr);
  std::vector<InboxEvent> events;
  for (int i = 0; i < 3; ++i)
    events.push_back({0, "fake", "fake:q" + std::to_string(i), "event",
                      json{{"type", "question"}, {"message_id", std::to_string(i)}, {"text", "q"}}.dump(),
                      0, 0});
  REQUIRE(store->InsertInboxBatch(events).ok());

  WorkerOptions wo;
  wo.threads = 1;
  wo.batch = 3;
  InboxWorkers workers(*store, workflow, wo, nullptr);
  workers.Start();
  model->WaitEntered(1);  // the worker holds all three, and is inside the first
  CHECK(store->CountChatQueues()->inbox_processing == 3);
  auto stopped = std::async(std::launch::async, [&] { workers.Stop(); });  // SIGTERM
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  model->Release();
  stopped.get();
  auto counts = store->CountChatQueues();
  CHECK(counts->inbox_done == 1);
  CHECK(counts->inbox_pending == 2);
  CHECK(counts->inbox_processing == 0);
  auto again = store->ClaimInbox(std::vector<std::string>{"fake"}, 10, NowMs());
  REQUIRE(again->size() == 2);
  CHECK(again->front().attempts == 1);  // the release did not count as an attempt
}

TEST_CASE("an event that keeps failing is retried, then kept as failed", "[service]") {
  Harness h;
  struct FlakyModel : AnswerModel {
    mutable int calls = 0;
    util::Result<Suggestion> Suggest(const std::string&) const override {
      ++calls;
      return util::Status::Unavailable("model server: 503");
    }
  };
  auto flaky = std::make_shared<FlakyModel>();
  h.models.Set(flaky, "remote");
  h.Ask("e1", "vpn?");
  auto results = h.Process();
  REQUIRE(results.size() == 3);  // max_attempts
  CHECK(results[0].outcome == ProcessResult::Outcome::kRetry);
  CHECK(results[2].outcome == ProcessResult::Outcome::kFailed);
  CHECK(flaky->calls == 3);
  CHECK(h.store->CountChatQueues()->inbox_failed == 1);
}
