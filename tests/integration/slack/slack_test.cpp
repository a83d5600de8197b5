// Slack end to end: signed deliveries into the real service, suggestions to
// the agents' channel of the fake Slack, decisions by button and modal,
// answers in the asker's thread, and what is stored.
#include <fstream>
#include <sstream>

#include "connectors/slack/events.h"
#include "tests/integration/slack/harness.h"
#include "tests/support/store_reads.h"

namespace deskbot::testing {
namespace {

SuggestionRecord SuggestionOf(SqliteStore& store, std::int64_t id) {
  auto s = store.GetSuggestion(id);
  REQUIRE(s.ok());
  REQUIRE(s->has_value());
  return (*s)->suggestion;
}

std::int64_t InboxTotal(SqliteStore& store) {
  auto c = store.CountChatQueues();
  REQUIRE(c.ok());
  return c->inbox_pending + c->inbox_processing + c->inbox_done + c->inbox_failed;
}

// The view deskbot opened (the last views.open call).
json OpenedView(SlackServer& s, std::size_t n) {
  REQUIRE(s.fake().WaitForCalls("views.open", n, std::chrono::seconds(10)));
  auto opened = CallsWhere(s.fake(), "views.open");
  REQUIRE(opened.size() == n);
  json view = opened.back()["view"];
  return view.is_string() ? json::parse(view.get<std::string>()) : view;
}

}  // namespace

TEST_CASE("slack: app mention -> suggestion -> approve -> answer in thread and pair stored",
          "[integration][slack]") {
  SlackServer s;
  const std::int64_t sid = s.AskAndWaitForSuggestion("EvApprove1", "1700000001.000100", "my vpn is broken");
  REQUIRE(sid > 0);
  const json post = AgentPosts(s.fake()).back();
  CHECK(post.dump().find("Restart the VPN client") != std::string::npos);
  CHECK(post["metadata"]["event_type"] == "deskbot_outbox");

  REQUIRE(s.Interact(BlockAction("approve", sid, kAgent, "trig-a1")).status == 200);
  REQUIRE(Eventually([&] { return ThreadPosts(s.fake(), "1700000001.000100").size() == 1; }));
  const json answer = ThreadPosts(s.fake(), "1700000001.000100")[0];
  CHECK(answer["channel"] == "C0HELP");
  CHECK(answer["text"].get<std::string>().find("Restart the VPN client") != std::string::npos);
  CHECK(answer["metadata"]["event_payload"]["outbox_id"].get<std::int64_t>() > 0);

  // The agents' message becomes "Approved by ..." without buttons.
  REQUIRE(Eventually([&] { return CallsWhere(s.fake(), "chat.update").size() == 1; }));
  CHECK(CallsWhere(s.fake(), "chat.update")[0].dump().find("Approved by <@U0AGENT1>") != std::string::npos);
  const SuggestionRecord rec = SuggestionOf(s.store(), sid);
  CHECK(rec.state == SuggestionState::kApproved);
  CHECK(rec.decided_by == kAgent);
  auto pairs = AllPairs(s.store());
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].origin == PairOrigin::kApproved);
  CHECK(pairs[0].question == "my vpn is broken");
}

TEST_CASE("slack: edit opens a modal and its submission posts the edited text", "[integration][slack]") {
  SlackServer s;
  const std::int64_t sid = s.AskAndWaitForSuggestion("EvEdit1", "1700000002.000100", "vpn drops every hour");
  REQUIRE(s.Interact(BlockAction("edit", sid, kAgent, "trig-e1")).status == 200);
  // views.open happened before the ack (the trigger id expires in 3 s).
  CHECK(CallsWhere(s.fake(), "views.open").size() == 1);
  const json view = OpenedView(s, 1);
  CHECK(view["callback_id"] == "suggestion_edit");
  CHECK(view.dump().find("Restart the VPN client") != std::string::npos);  // pre-filled

  const std::string edited = "Update the VPN client to 5.2, then restart it.";
  REQUIRE(s.Interact(ViewSubmission(view, kAgent, "trig-e2", "answer", "answer_text", edited)).status == 200);
  REQUIRE(Eventually([&] { return ThreadPosts(s.fake(), "1700000002.000100").size() == 1; }));
  CHECK(ThreadPosts(s.fake(), "1700000002.000100")[0]["text"] == edited);
  CHECK(SuggestionOf(s.store(), sid).state == SuggestionState::kEdited);
  auto pairs = AllPairs(s.store());
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].origin == PairOrigin::kEdited);
  CHECK(pairs[0].answer == edited);
  REQUIRE(AllPreferencePairs(s.store()).size() == 1);
}

TEST_CASE("slack: reject records the reason and tells the asker nothing", "[integration][slack]") {
  SlackServer s;
  const std::int64_t sid = s.AskAndWaitForSuggestion("EvReject1", "1700000003.000100", "vpn question");
  REQUIRE(s.Interact(BlockAction("reject", sid, kAgent, "trig-r1")).status == 200);
  const json view = OpenedView(s, 1);
  CHECK(view["callback_id"] == "suggestion_reject");
  REQUIRE(s.Interact(ViewSubmission(view, kAgent, "trig-r2", "reason", "reason_text", "outdated")).status ==
          200);
  REQUIRE(Eventually([&] { return SuggestionOf(s.store(), sid).state == SuggestionState::kRejected; }));
  CHECK(SuggestionOf(s.store(), sid).reason == "outdated");
  REQUIRE(Eventually([&] { return CallsWhere(s.fake(), "chat.update").size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(ThreadPosts(s.fake(), "1700000003.000100").empty());
  CHECK(AllPairs(s.store()).empty());
}

TEST_CASE("slack: a non-agent cannot decide (polite refusal and an audit entry)", "[integration][slack]") {
  SlackServer s;
  const std::int64_t sid = s.AskAndWaitForSuggestion("EvNonAgent1", "1700000004.000100", "vpn again");
  REQUIRE(s.Interact(BlockAction("approve", sid, "U0INTRUDER", "trig-n1")).status == 200);
  REQUIRE(Eventually([&] { return CallsWhere(s.fake(), "chat.postEphemeral").size() == 1; }));
  const json refusal = CallsWhere(s.fake(), "chat.postEphemeral")[0];
  CHECK(refusal["user"] == "U0INTRUDER");
  CHECK(refusal["channel"] == kAgentsChannel);
  CHECK(SuggestionOf(s.store(), sid).state == SuggestionState::kPending);
  auto audit = s.store().ListAudit(100);
  REQUIRE(audit.ok());
  bool refused = false;
  for (const AuditEntry& a : *audit) refused |= a.action == "verdict.refused" && a.actor.find("U0INTRUDER") != std::string::npos;
  CHECK(refused);
  CHECK(ThreadPosts(s.fake(), "1700000004.000100").empty());
}

TEST_CASE("slack: forged or stale or malformed or oversized deliveries are refused and store nothing",
          "[integration][slack]") {
  SlackServer s;
  const std::string body = EventCallback("EvBad1", "app_mention", "1700000005.000100", "vpn").dump();
  auto with = [&](std::vector<std::pair<std::string, std::string>> h) {
    h.push_back({"Content-Type", "application/json"});
    return s.api().Send("POST", "/slack/events", body, h);
  };
  CHECK(with(Signed(body, NowTimestamp(), "not-the-secret")).status == 401);
  CHECK(with(Signed(body, std::to_string(std::time(nullptr) - 600))).status == 401);
  CHECK(with({}).status == 401);
  CHECK(s.PostSigned("/slack/events", "{\"type\": \"event_callback\", ").status == 400);
  const std::string huge = "{\"pad\":\"" + std::string(80 << 10, 'x') + "\"}";
  CHECK(s.PostSigned("/slack/events", huge).status == 413);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(InboxTotal(s.store()) == 0);
  CHECK(AgentPosts(s.fake()).empty());
}

TEST_CASE("slack: inbox keys sort as the events happened (to the microsecond)", "[integration][slack]") {
  auto key = [](const std::string& event_ts, std::int64_t event_time, const std::string& id) {
    json delivery = EventCallback(id, "message", event_ts, "hi");
    delivery["event_time"] = event_time;
    if (event_ts.empty()) delivery["event"].erase("event_ts");
    auto envelope = slack::ParseEventEnvelope(delivery.dump());
    REQUIRE(envelope.ok());
    return chat::SlackEventKey(*envelope, id);
  };
  CHECK(key("1767224888.280449", 1767224888, "EvA") == "slack:1767224888.280449:EvA");
  // A shorter fraction is the same time: padded, so keys compare as numbers.
  CHECK(key("1767224888.2804", 1767224888, "EvA") == "slack:1767224888.280400:EvA");
  // Random ids do not decide the order: the time does, within a second too.
  CHECK(key("1767224888.000002", 1767224888, "EvAAAA") > key("1767224888.000001", 1767224888, "EvZZZZ"));
  CHECK(key("1767224889.000001", 1767224889, "EvAAAA") > key("1767224888.999999", 1767224888, "EvZZZZ"));
  // Without a usable event_ts, the envelope's event_time (seconds); without
  // either, the id alone.
  CHECK(key("", 1767224888, "EvB") == "slack:1767224888:EvB");
  CHECK(key("not-a-time", 1767224888, "EvB") == "slack:1767224888:EvB");
  CHECK(key("1767224888.1234567", 1767224888, "EvB") == "slack:1767224888:EvB");
  CHECK(key("", 0, "EvC") == "slack:EvC");
}

TEST_CASE("slack: redelivery and app_mention + message for one post give one question",
          "[integration][slack]") {
  SlackServer s;
  const std::string ts = "1700000006.000100";
  const json mention = EventCallback("EvDup1", "app_mention", ts, "<@U0BOT> vpn down?", "C0QUESTIONS");
  REQUIRE(s.Event(mention).status == 200);
  REQUIRE(s.Event(mention).status == 200);  // Slack's retry, same event_id
  REQUIRE(s.Event(EventCallback("EvDup2", "message", ts, "<@U0BOT> vpn down?", "C0QUESTIONS")).status == 200);
  REQUIRE(Eventually([&] { return AgentPosts(s.fake()).size() == 1; }));
  REQUIRE(Eventually([&] {
    auto c = s.store().CountChatQueues();
    return c.ok() && c->inbox_done == 2 && c->inbox_pending == 0;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(AgentPosts(s.fake()).size() == 1);
  CHECK(InboxTotal(s.store()) == 2);

  // A bot's own message and an edit are not questions.
  json own = EventCallback("EvOwn1", "message", "1700000006.000200", "an answer", "C0QUESTIONS", kBotUser);
  REQUIRE(s.Event(own).status == 200);
  json edited = EventCallback("EvEdit9", "message", "1700000006.000300", "vpn", "C0QUESTIONS");
  edited["event"]["subtype"] = "message_changed";
  REQUIRE(s.Event(edited).status == 200);
  REQUIRE(Eventually([&] {
    auto c = s.store().CountChatQueues();
    return c.ok() && c->inbox_done == 4;
  }));
  CHECK(AgentPosts(s.fake()).size() == 1);
}

TEST_CASE("slack: traffic that is not a question is stored done at receipt, questions wait",
          "[integration][slack]") {
  SlackServer s(false, /*workers=*/0);  // nothing is processed: what is done was triaged
  REQUIRE(s.Event(EventCallback("EvNoise1", "message", "1700000007.000100", "lunch?", "C0RANDOM")).status ==
          200);
  REQUIRE(s.Event(EventCallback("EvNoise2", "message", "1700000007.000200", "an answer", "C0QUESTIONS",
                                kBotUser))
              .status == 200);
  REQUIRE(s.Event(EventCallback("EvAsk1", "app_mention", "1700000007.000300", "<@U0BOT> vpn down?"))
              .status == 200);
  // A redelivery of triaged traffic is still a duplicate (it is stored).
  REQUIRE(s.Event(EventCallback("EvNoise1", "message", "1700000007.000100", "lunch?", "C0RANDOM")).status ==
          200);
  auto c = s.store().CountChatQueues();
  REQUIRE(c.ok());
  CHECK(c->inbox_done == 2);
  CHECK(c->inbox_pending == 1);
  CHECK(c->inbox_processing == 0);
  CHECK(AgentPosts(s.fake()).empty());
}

TEST_CASE("slack: fixtures and slash commands", "[integration][slack]") {
  SlackServer s;
  // The stored Slack fixture (an app mention with text "Test": the model abstains).
  std::ifstream f(std::string(DESKBOT_TEST_DATA_DIR) + "/slack/events/event_callback_app_mention.json");
  std::stringstream buf;
  buf << f.rdbuf();
  json fixture = json::parse(buf.str());
  fixture["event_id"] = "EvFixture1";
  REQUIRE(s.Event(fixture).status == 200);
  // Abstained: agents still see it, the asker gets the notice in the thread.
  REQUIRE(Eventually([&] { return AgentPosts(s.fake()).size() == 1; }));
  REQUIRE(Eventually([&] { return ThreadPosts(s.fake(), "1767326125.870439").size() == 1; }));

  const std::string ask =
      "command=%2Fdeskbot&text=ask+how+do+I+reset+my+password&user_id=U0ASKER2&channel_id=C0HELP"
      "&team_id=T111&trigger_id=trig-cmd1&response_url=https%3A%2F%2Fhooks.slack.com%2Fc";
  REQUIRE(s.PostSigned("/slack/commands", ask, "application/x-www-form-urlencoded").status == 200);
  REQUIRE(Eventually([&] { return AgentPosts(s.fake()).size() == 2; }));
  CHECK(AgentPosts(s.fake()).back().dump().find("id.example.com/reset") != std::string::npos);

  const std::string status =
      "command=%2Fdeskbot&text=status&user_id=U0ASKER2&channel_id=C0HELP&team_id=T111&trigger_id=trig-cmd2";
  REQUIRE(s.PostSigned("/slack/commands", status, "application/x-www-form-urlencoded").status == 200);
  REQUIRE(Eventually([&] {
    auto e = CallsWhere(s.fake(), "chat.postEphemeral");
    return e.size() == 1 && e[0].value("user", "") == "U0ASKER2" &&
           e[0].value("text", "").find("Waiting for an agent: 2") != std::string::npos;
  }));
}

TEST_CASE("slack: Socket Mode envelope is acked with its id and answered once", "[integration][slack]") {
  SlackServer s(/*socket_mode=*/true);
  REQUIRE(s.fake().WaitForSockets(2, std::chrono::seconds(10)));
  const auto sockets = s.fake().socket_ids();
  REQUIRE(sockets.size() >= 2);
  const json event = EventCallback("EvSock1", "app_mention", "1700000007.000100", "<@U0BOT> vpn is slow");
  const json envelope = {{"envelope_id", "env-1"}, {"type", "events_api"}, {"payload", event},
                         {"accepts_response_payload", false}, {"retry_attempt", 0}};
  REQUIRE(s.fake().SendFrame(sockets[0], envelope.dump()).ok());
  REQUIRE(s.fake().WaitForAcks(1, std::chrono::seconds(10)));
  CHECK(s.fake().acks()[0].envelope_id == "env-1");
  REQUIRE(Eventually([&] { return AgentPosts(s.fake()).size() == 1; }));

  // The same envelope again on the other socket (Slack's redelivery).
  json again = envelope;
  again["retry_attempt"] = 1;
  REQUIRE(s.fake().SendFrame(sockets[1], again.dump()).ok());
  REQUIRE(s.fake().WaitForAcks(2, std::chrono::seconds(10)));
  CHECK(s.fake().acks()[1].envelope_id == "env-1");
  // And over HTTP, as an app that has both configured may get it: the same
  // inbox row, whichever way it came.
  REQUIRE(s.Event(event).status == 200);
  CHECK(InboxTotal(s.store()) == 1);

  const std::int64_t sid = SuggestionIdOf(AgentPosts(s.fake())[0]);
  const json click = {{"envelope_id", "env-2"}, {"type", "interactive"},
                      {"payload", BlockAction("approve", sid, kAgent, "trig-s1")},
                      {"accepts_response_payload", true}};
  REQUIRE(s.fake().SendFrame(sockets[1], click.dump()).ok());
  REQUIRE(Eventually([&] { return ThreadPosts(s.fake(), "1700000007.000100").size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(AgentPosts(s.fake()).size() == 1);
  CHECK(ThreadPosts(s.fake(), "1700000007.000100").size() == 1);
}

}  // namespace deskbot::testing
