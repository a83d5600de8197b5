// WasDelivered: after a crash the sender asks the Slack adapter whether an
// outbox row's message already reached Slack; the adapter looks for the
// outbox id in message metadata (conversations.replies / history). The fake
// Slack has no history methods, so a small Slack stand-in answers here.
#include <mutex>

#include "bot/service/outbound.h"
#include "tests/integration/slack/harness.h"

namespace deskbot::testing {
namespace {

class NullInbox final : public InboxSink {
 public:
  void Submit(InboxEvent, InboxAck ack) override { ack(util::Status::Unavailable("not used")); }
};

json Message(const std::string& ts, std::int64_t outbox_id) {
  json m = {{"type", "message"}, {"ts", ts}, {"text", "an answer"}};
  if (outbox_id > 0)
    m["metadata"] = {{"event_type", "deskbot_outbox"}, {"event_payload", {{"outbox_id", outbox_id}}}};
  return m;
}

}  // namespace

TEST_CASE("slack WasDelivered finds a posted row by its metadata and only that row",
          "[integration][slack]") {
  std::mutex mu;
  std::vector<json> asked;
  http::server::Router router;
  router.Add("POST", "/api/conversations.replies", [&](const http::server::Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    asked.push_back(json::parse(r.body));
    json body = {{"ok", true},
                 {"messages", json::array({Message("1700.000100", 0), Message("1700.000200", 41),
                                           Message("1700.000300", 42)})}};
    return http::server::Response::Json(200, body.dump());
  });
  router.Add("POST", "/api/conversations.history", [&](const http::server::Request&) {
    return http::server::Response::Json(200, json{{"ok", true}, {"messages", json::array({Message("1700.000900", 7)})}}.dump());
  });
  http::server::Server server({}, router.AsHandler());
  REQUIRE(server.Start().ok());

  TempDir dir;
  auto store = SqliteStore::Open(dir.File("deskbot.db"));
  REQUIRE(store.ok());
  NullInbox inbox;
  chat::SlackOptions o;
  o.api_url = "http://127.0.0.1:" + std::to_string(server.port()) + "/api";
  o.bot_token = "xoxb-test";
  o.signing_secret = kSigningSecret;
  o.agents_channel = kAgentsChannel;
  auto slack = chat::SlackChat::Create(**store, inbox, o);
  REQUIRE(slack.ok());

  OutboxRow row;
  row.kind = OutboxKind::kAnswer;
  row.payload = service::EncodeChatPost({ChatTarget{"C0HELP", "1700.000100", "", ""}, "an answer", 1, 1});
  row.id = 42;
  auto found = (*slack)->WasDelivered(row);
  REQUIRE(found.ok());
  CHECK(found->delivered);
  CHECK(found->ref == "C0HELP:1700.000300");
  {
    std::lock_guard<std::mutex> lock(mu);
    REQUIRE(asked.size() == 1);
    CHECK(asked[0]["channel"] == "C0HELP");
    CHECK(asked[0]["ts"] == "1700.000100");
    CHECK(asked[0]["include_all_metadata"] == true);
  }
  row.id = 43;
  found = (*slack)->WasDelivered(row);
  REQUIRE(found.ok());
  CHECK_FALSE(found->delivered);

  // A suggestion is looked up in the agents' channel history.
  OutboxRow suggestion;
  suggestion.kind = OutboxKind::kSuggestion;
  suggestion.id = 7;
  suggestion.created_ms = 1700000000000;
  found = (*slack)->WasDelivered(suggestion);
  REQUIRE(found.ok());
  CHECK(found->delivered);
  CHECK(found->ref == std::string(kAgentsChannel) + ":1700.000900");

  // An ephemeral notice cannot be looked up: not delivered (sent again).
  OutboxRow notice;
  notice.kind = OutboxKind::kNotice;
  notice.id = 42;
  notice.payload = service::EncodeChatPost({ChatTarget{"C0HELP", "", "U1", ""}, "status", 0, 0});
  found = (*slack)->WasDelivered(notice);
  REQUIRE(found.ok());
  CHECK_FALSE(found->delivered);
  server.Stop();
}

}  // namespace deskbot::testing
