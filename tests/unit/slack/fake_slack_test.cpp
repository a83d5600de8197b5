// The fake Slack checks requests the way Slack does; later end-to-end tests
// rely on that, so it is tested here with raw HTTP and WebSocket clients.
#include <atomic>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/http/client.h"
#include "connectors/http/url.h"
#include "connectors/slack/socket_mode.h"
#include "tests/support/slack/fake_slack.h"

using json = nlohmann::json;

namespace {

struct Raw {
  slack_fake::FakeSlack fake;
  std::unique_ptr<http::Client> client;
  Raw() {
    REQUIRE(fake.Start().ok());
    http::ClientOptions o;
    o.retry.max_attempts = 1;
    auto c = http::Client::Create(o);
    REQUIRE(c.ok());
    client = std::move(c).value();
  }
  // POSTs and returns (status, parsed body).
  std::pair<int, json> Post(const std::string& method, const std::string& body,
                            const std::string& type, const std::string& token) {
    http::Request req;
    req.method = "POST";
    req.url = fake.api_base_url() + "/" + method;
    req.headers.Set("Content-Type", type);
    if (!token.empty()) req.headers.Set("Authorization", "Bearer " + token);
    req.body = body;
    req.fail_on_http_error = false;
    auto r = client->Send(req);
    REQUIRE(r.ok());
    return {r->status, json::parse(r->body, nullptr, false)};
  }
};

}  // namespace

TEST_CASE("fake slack: form-encoded calls work like JSON ones") {
  Raw raw;
  std::string blocks = R"([{"type":"section","text":{"type":"mrkdwn","text":"hi"}}])";
  std::string form = "channel=C1&text=hello+there&blocks=" + http::PercentEncode(blocks);
  auto [status, body] = raw.Post("chat.postMessage", form, "application/x-www-form-urlencoded",
                                 raw.fake.bot_token());
  CHECK(status == 200);
  CHECK(body["ok"] == true);
  CHECK(body["message"]["text"] == "hello there");
  CHECK(body["message"]["blocks"][0]["type"] == "section");
  auto calls = raw.fake.calls("chat.postMessage");
  REQUIRE(calls.size() == 1);
  CHECK(json::parse(calls[0].params_json)["channel"] == "C1");
}

TEST_CASE("fake slack: refuses what Slack refuses") {
  Raw raw;
  const std::string bot = raw.fake.bot_token(), json_type = "application/json";
  CHECK(raw.Post("chat.postMessage", R"({"channel":"C1","text":"x"})", json_type, "").second["error"] == "not_authed");
  CHECK(raw.Post("chat.postMessage", R"({"channel":"C1","text":"x"})", json_type, "xoxb-nope").second["error"] == "invalid_auth");
  CHECK(raw.Post("chat.postMessage", R"({"text":"x"})", json_type, bot).second["error"] == "channel_not_found");
  CHECK(raw.Post("chat.postMessage", R"({"channel":"C1"})", json_type, bot).second["error"] == "no_text");
  CHECK(raw.Post("chat.postMessage", R"({"channel":"C1","text":"x","blocks":[{"type":"nope"}]})", json_type, bot)
            .second["error"] == "invalid_blocks");
  CHECK(raw.Post("chat.postEphemeral", R"({"channel":"C1","text":"x"})", json_type, bot).second["error"] ==
        "user_not_in_channel");
  CHECK(raw.Post("chat.update", R"({"channel":"C1","ts":"1.2","text":"x"})", json_type, bot).second["error"] ==
        "message_not_found");
  auto v = raw.Post("views.open", R"({"view":{"type":"modal"}})", json_type, bot).second;
  CHECK(v["error"] == "invalid_arguments");
  CHECK(v["response_metadata"]["messages"].size() >= 2);
  CHECK(raw.Post("chat.postMessage", "{broken", json_type, bot).second["error"] == "invalid_json");
  auto unknown = raw.Post("chat.nope", "{}", json_type, bot);
  CHECK(unknown.first == 404);
  CHECK(unknown.second["error"] == "unknown_method");
  CHECK(raw.Post("apps.connections.open", "{}", json_type, bot).second["error"] == "not_allowed_token_type");
}

TEST_CASE("fake slack: socket tickets are single-use") {
  Raw raw;
  auto [status, body] = raw.Post("apps.connections.open", "{}", "application/json", raw.fake.app_token());
  REQUIRE(body["ok"] == true);
  std::string url = body["url"];
  std::atomic<int> opens{0};
  slack::SocketModeOptions o;
  o.connections = 1;
  o.reconnect_initial = std::chrono::milliseconds(20);
  o.reconnect_max = std::chrono::milliseconds(50);
  slack::SocketModeClient client(
      o, [&]() -> util::Result<std::string> { ++opens; return url; },  // always the same ticket
      [](const slack::SocketFrame&) { return util::Result<std::string>(std::string()); });
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(1, std::chrono::seconds(5)));
  raw.fake.DropSocket(raw.fake.socket_ids().at(0));
  // Every later attempt reuses the spent ticket and is refused.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (opens.load() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(opens.load() >= 4);
  CHECK(raw.fake.sockets_accepted() == 1);
  CHECK(client.stats().open_failures >= 2);
}
