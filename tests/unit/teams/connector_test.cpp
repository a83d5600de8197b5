// The Connector client and token cache against the fake Bot Framework.
#include <atomic>
#include <memory>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/http/client.h"
#include "connectors/teams/cards.h"
#include "connectors/teams/connector.h"
#include "tests/support/teams/fake_bot_framework.h"

using namespace teams;
using teams::testing::FakeBotFramework;
using teams::testing::FakeOptions;
using nlohmann::json;
using Code = util::Status::Code;

namespace {

const std::string kChannelThread =
    "19:d441d38c655c47a085215b2726e76927@thread.tacv2;messageid=1767326091220";

struct Harness {
  std::shared_ptr<std::atomic<int64_t>> now_s = std::make_shared<std::atomic<int64_t>>(1767326091);
  std::unique_ptr<FakeBotFramework> fake;
  std::unique_ptr<http::Client> client;
  std::unique_ptr<ConnectorClient> connector;
  std::vector<std::chrono::milliseconds> sleeps;

  explicit Harness(std::string secret = {}) {
    fake = std::make_unique<FakeBotFramework>(FakeOptions{});
    REQUIRE(fake->Start().ok());
    http::ClientOptions client_options;
    client_options.sleep = [this](std::chrono::milliseconds d) { sleeps.push_back(d); };
    auto created = http::Client::Create(client_options);
    REQUIRE(created.ok());
    client = std::move(*created);
    ConnectorOptions options;
    options.credentials.app_id = fake->options().app_id;
    options.credentials.app_secret = secret.empty() ? fake->options().app_secret : secret;
    options.credentials.token_url = fake->token_url();
    options.credentials.allow_http = true;
    auto now = now_s;
    options.credentials.clock = [now] {
      return std::chrono::system_clock::time_point(std::chrono::seconds(now->load()));
    };
    options.allow_http_service_url = true;
    connector = std::make_unique<ConnectorClient>(options, *client);
  }

  OutgoingActivity Text(const std::string& text) {
    OutgoingActivity a;
    a.text = text;
    return a;
  }
};

}  // namespace

TEST_CASE("a reply goes to the thread of the question - with a bearer token", "[teams][connector]") {
  Harness h;
  auto id = h.connector->ReplyToActivity(h.fake->service_url(), kChannelThread, "1767326091220",
                                         h.Text("Restart the VPN client."));
  REQUIRE(id.ok());
  auto sent = h.fake->recorded();
  REQUIRE(sent.size() == 1);
  CHECK(*id == sent[0].new_id);
  CHECK(sent[0].method == "POST");
  CHECK(sent[0].conversation_id == kChannelThread);  // percent-encoded on the wire, decoded by the fake
  CHECK(sent[0].activity_id == "1767326091220");
  json body = json::parse(sent[0].body);
  CHECK(body["type"] == "message");
  CHECK(body["text"] == "Restart the VPN client.");
  CHECK(body["textFormat"] == "markdown");
  CHECK(body["replyToId"] == "1767326091220");
  CHECK(body["attachments"] == json::array());
}

TEST_CASE("one token request serves many sends until it nears expiry", "[teams][connector]") {
  Harness h;
  for (int i = 0; i < 5; ++i) {
    REQUIRE(h.connector->SendToConversation(h.fake->service_url(), "a:personal-chat",
                                            h.Text("msg " + std::to_string(i)))
                .ok());
  }
  CHECK(h.fake->token_requests() == 1);
  CHECK(h.connector->tokens().token_requests() == 1);
  CHECK(h.fake->recorded().size() == 5);

  *h.now_s += 3600 - 301;  // token lifetime 3600 s, refreshed 300 s early
  REQUIRE(h.connector->SendToConversation(h.fake->service_url(), "a:personal-chat", h.Text("x")).ok());
  CHECK(h.fake->token_requests() == 1);
  *h.now_s += 2;
  REQUIRE(h.connector->SendToConversation(h.fake->service_url(), "a:personal-chat", h.Text("y")).ok());
  CHECK(h.fake->token_requests() == 2);
}

TEST_CASE("concurrent sends share one token request", "[teams][connector]") {
  Harness h;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (h.connector->SendToConversation(h.fake->service_url(), "a:c", h.Text("hi")).ok()) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(ok == 4);
  CHECK(h.fake->token_requests() == 1);
}

TEST_CASE("an update replaces the activity in place with PUT", "[teams][connector]") {
  Harness h;
  auto posted = h.connector->SendToConversation(h.fake->service_url(), kChannelThread, [] {
    OutgoingActivity a;
    a.text_format = "";
    a.attachments_json = {AdaptiveCardAttachment(SuggestionCard({"981", "", "Restart it.", 0.9, {}}))};
    return a;
  }());
  REQUIRE(posted.ok());
  OutgoingActivity decided;
  decided.attachments_json = {AdaptiveCardAttachment(DecidedCard(
      {"981", "approved", "Alice", std::chrono::system_clock::time_point{}, "Restart it.", ""}))};
  auto updated = h.connector->UpdateActivity(h.fake->service_url(), kChannelThread, *posted, decided);
  REQUIRE(updated.ok());
  CHECK(*updated == *posted);
  auto sent = h.fake->recorded();
  REQUIRE(sent.size() == 2);
  CHECK(sent[1].method == "PUT");
  CHECK(sent[1].activity_id == *posted);
  CHECK(sent[1].conversation_id == kChannelThread);
  json body = json::parse(sent[1].body);
  CHECK(body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive");
  CHECK_THAT(body["attachments"][0]["content"].dump(), Catch::Contains("Approved by Alice"));
  CHECK_FALSE(json::parse(sent[0].body).contains("textFormat"));
}

TEST_CASE("a 429 is retried and the message is posted exactly once", "[teams][connector]") {
  Harness h;
  h.fake->FailNext(429, 1, "1");
  auto id = h.connector->ReplyToActivity(h.fake->service_url(), kChannelThread, "1", h.Text("hi"));
  REQUIRE(id.ok());
  CHECK(h.fake->connector_requests() == 2);
  CHECK(h.fake->recorded().size() == 1);
  REQUIRE(h.sleeps.size() == 1);
  CHECK(h.sleeps[0] == std::chrono::seconds(1));  // Retry-After honoured
}

TEST_CASE("5xx is retried - persistent failure is Unavailable with the Connector's code", "[teams][connector]") {
  Harness h;
  h.fake->FailNext(503, 2);
  REQUIRE(h.connector->SendToConversation(h.fake->service_url(), "a:c", h.Text("hi")).ok());
  CHECK(h.fake->recorded().size() == 1);
  CHECK(h.fake->connector_requests() == 3);

  h.fake->FailNext(502, 10);
  auto failed = h.connector->SendToConversation(h.fake->service_url(), "a:c", h.Text("hi"));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == Code::kUnavailable);
  CHECK_THAT(failed.status().message(), Catch::Contains("teams send: HTTP 502 Throttled"));
  CHECK(h.fake->recorded().size() == 1);
}

TEST_CASE("a revoked token is replaced once after a 401", "[teams][connector]") {
  Harness h;
  REQUIRE(h.connector->SendToConversation(h.fake->service_url(), "a:c", h.Text("1")).ok());
  h.fake->RevokeIssuedTokens();
  REQUIRE(h.connector->SendToConversation(h.fake->service_url(), "a:c", h.Text("2")).ok());
  CHECK(h.fake->token_requests() == 2);
  CHECK(h.fake->recorded().size() == 2);
}

TEST_CASE("a wrong secret fails clearly and never appears in the error", "[teams][connector]") {
  Harness h("wrong-secret-do-not-print");
  auto result = h.connector->SendToConversation(h.fake->service_url(), "a:c", h.Text("hi"));
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == Code::kUnauthorized);
  CHECK_THAT(result.status().message(), Catch::Contains("teams send: teams token: HTTP 401 invalid_client"));
  CHECK_THAT(result.status().message(), Catch::Contains("AADSTS7000215"));
  CHECK_THAT(result.status().message(), !Catch::Contains("wrong-secret-do-not-print"));
  CHECK(h.fake->recorded().empty());
  CHECK(h.fake->connector_requests() == 0);
}

TEST_CASE("bad arguments are refused before any request", "[teams][connector]") {
  Harness h;
  CHECK_THAT(h.connector->SendToConversation("ftp://x/", "a:c", h.Text("hi")).status().message(),
             Catch::Contains("serviceUrl must be https"));
  CHECK(h.connector->SendToConversation(h.fake->service_url(), "", h.Text("hi")).status().code() ==
        Code::kInvalidArgument);
  CHECK(h.connector->ReplyToActivity(h.fake->service_url(), "a:c", "", h.Text("hi")).status().code() ==
        Code::kInvalidArgument);
  CHECK(h.connector->UpdateActivity(h.fake->service_url(), "a:c", "", h.Text("hi")).status().code() ==
        Code::kInvalidArgument);
  OutgoingActivity broken = h.Text("hi");
  broken.attachments_json = {"{not json"};
  auto refused = h.connector->SendToConversation(h.fake->service_url(), "a:c", broken);
  CHECK(refused.status().code() == Code::kInvalidArgument);
  CHECK_THAT(refused.status().message(), Catch::Contains("attachment 0 is not a JSON object"));
  CHECK(h.fake->connector_requests() == 0);

  // Production settings refuse plain http.
  ConnectorOptions strict;
  strict.credentials.app_id = "a";
  strict.credentials.app_secret = "s";
  ConnectorClient production(strict, *h.client);
  CHECK_THAT(production.SendToConversation(h.fake->service_url(), "a:c", h.Text("hi")).status().message(),
             Catch::Contains("serviceUrl must be https"));
}

TEST_CASE("activities URLs keep one slash and encode ids", "[teams][connector]") {
  CHECK(ActivitiesUrl("https://smba.trafficmanager.net/amer/t/", "19:a@thread.tacv2;messageid=1", "1") ==
        "https://smba.trafficmanager.net/amer/t/v3/conversations/"
        "19%3Aa%40thread.tacv2%3Bmessageid%3D1/activities/1");
  CHECK(ActivitiesUrl("https://smba.trafficmanager.net/amer/t", "a:b") ==
        "https://smba.trafficmanager.net/amer/t/v3/conversations/a%3Ab/activities");
}
