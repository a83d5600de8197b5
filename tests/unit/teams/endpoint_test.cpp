// The pieces of conn_teams composed into a minimal messaging endpoint on the
// project's HTTP server, driven by the fake Bot Framework the way Teams drives
// a bot: authenticate -> parse -> answer (ack or invoke response) -> reply
// through the Connector. (The real bot adapter lives in bot/, not here.)
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/http/client.h"
#include "connectors/http/server.h"
#include "connectors/teams/activity.h"
#include "connectors/teams/auth.h"
#include "connectors/teams/cards.h"
#include "connectors/teams/connector.h"
#include "tests/support/teams/fake_bot_framework.h"

using namespace teams;
using teams::testing::BadToken;
using teams::testing::FakeBotFramework;
using nlohmann::json;
namespace server = http::server;

namespace {

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(DESKBOT_TEST_DATA_DIR) + "/teams/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

class EchoBot {
 public:
  explicit EchoBot(FakeBotFramework& fake) {
    auto client = http::Client::Create();
    REQUIRE(client.ok());
    client_ = std::move(*client);
    AuthOptions auth;
    auth.app_id = fake.options().app_id;
    auth_ = std::make_unique<BotAuthenticator>(
        auth, std::make_shared<OpenIdKeySource>(fake.metadata_url(), *client_, true));
    ConnectorOptions connector;
    connector.credentials.app_id = fake.options().app_id;
    connector.credentials.app_secret = fake.options().app_secret;
    connector.credentials.token_url = fake.token_url();
    connector.credentials.allow_http = true;
    connector.allow_http_service_url = true;
    connector_ = std::make_unique<ConnectorClient>(connector, *client_);
    router_.Add("POST", "/api/messages", [this](const server::Request& r) { return Handle(r); });
    server_ = std::make_unique<server::Server>(server::ServerOptions{}, router_.AsHandler());
    REQUIRE(server_->Start().ok());
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/api/messages";
  }

 private:
  server::Response Handle(const server::Request& r) {
    auto activity = ParseActivity(r.body);
    if (!activity.ok()) return server::Response::Text(400, activity.status().message());
    auto verified = auth_->Authenticate(r.headers.Get("Authorization"), activity->channel_id,
                                        activity->service_url);
    if (!verified.ok()) {
      int status = verified.status().code() == util::Status::Code::kUnauthorized ? 401 : 503;
      return server::Response::Text(status, "");
    }
    if (activity->IsExecuteAction()) {
      DecidedCardData decided;
      decided.decision = activity->execute->verb == kVerbApprove ? "approved" : "rejected";
      decided.decided_by = activity->from.name;
      decided.decided_at = std::chrono::system_clock::time_point(std::chrono::seconds(1767765899));
      return server::Response::Json(200, InvokeCardResponse(DecidedCard(decided)));
    }
    if (activity->IsMessage() && !activity->IsCardSubmit()) {
      OutgoingActivity reply;
      reply.text = "You asked: " + TextWithoutBotMention(*activity);
      auto sent = connector_->ReplyToActivity(activity->service_url, activity->conversation.id,
                                              activity->id, reply);
      if (!sent.ok()) return server::Response::Text(500, "");
    }
    return server::Response::Text(200, "");
  }

  std::unique_ptr<http::Client> client_;
  std::unique_ptr<BotAuthenticator> auth_;
  std::unique_ptr<ConnectorClient> connector_;
  server::Router router_;
  std::unique_ptr<server::Server> server_;
};

}  // namespace

TEST_CASE("endpoint: an authenticated channel mention is answered in its thread", "[teams][endpoint]") {
  FakeBotFramework fake;
  REQUIRE(fake.Start().ok());
  EchoBot bot(fake);
  auto delivery = fake.DeliverActivity(bot.url(), ReadFixture("message_channel_mention.json"));
  REQUIRE(delivery.ok());
  CHECK(delivery->status == 200);
  auto sent = fake.recorded();
  REQUIRE(sent.size() == 1);
  CHECK(sent[0].method == "POST");
  CHECK(sent[0].conversation_id ==
        "19:d441d38c655c47a085215b2726e76927@thread.tacv2;messageid=1767326091220");
  CHECK(sent[0].activity_id == "1767326091220");
  json body = json::parse(sent[0].body);
  CHECK(body["text"] == "You asked: Test");
  CHECK(body["replyToId"] == "1767326091220");
}

TEST_CASE("endpoint: every kind of bad token gets 401 and no reply", "[teams][endpoint]") {
  FakeBotFramework fake;
  REQUIRE(fake.Start().ok());
  EchoBot bot(fake);
  std::string message = ReadFixture("message_personal.json");
  for (BadToken bad : {BadToken::kForgedSignature, BadToken::kExpired, BadToken::kWrongAudience,
                       BadToken::kWrongIssuer, BadToken::kWrongServiceUrl, BadToken::kUnknownKid}) {
    auto delivery = fake.DeliverActivity(bot.url(), message, bad);
    REQUIRE(delivery.ok());
    CHECK(delivery->status == 401);
  }
  CHECK(fake.recorded().empty());
  CHECK(fake.token_requests() == 0);  // the bot never even fetched a token to reply
  auto good = fake.DeliverActivity(bot.url(), message);
  REQUIRE(good.ok());
  CHECK(good->status == 200);
  CHECK(fake.recorded().size() == 1);
}

TEST_CASE("endpoint: an Action.Execute click is answered in the HTTP response", "[teams][endpoint]") {
  FakeBotFramework fake;
  REQUIRE(fake.Start().ok());
  EchoBot bot(fake);
  auto invoke = json::parse(ReadFixture("invoke_adaptiveCard_action_execute.json"));
  invoke["value"]["action"] = {{"type", "Action.Execute"},
                               {"verb", "approve"},
                               {"data", {{"suggestionId", "981"}}}};
  auto delivery = fake.DeliverActivity(bot.url(), invoke.dump());
  REQUIRE(delivery.ok());
  CHECK(delivery->status == 200);
  json body = json::parse(delivery->body);
  CHECK(body["statusCode"] == 200);
  CHECK(body["type"] == "application/vnd.microsoft.card.adaptive");
  CHECK(body["value"]["body"][0]["text"] == "Approved by Rido at 2026-01-07 06:04 UTC");
  CHECK(fake.recorded().empty());  // invoke answers never go through the Connector
}
