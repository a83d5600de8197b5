// slack::HttpReceiver end to end: signed requests over real HTTP into
// conn_http_server, verified over the raw body, handed to the handler.
#include <fstream>
#include <mutex>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/http/client.h"
#include "connectors/slack/http_receiver.h"

using json = nlohmann::json;

namespace {

std::string Fixture(const std::string& rel) {
  std::ifstream in(std::string(DESKBOT_TEST_DATA_DIR) + "/slack/" + rel, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string FormEncode(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(c);
    else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

constexpr int64_t kNow = 1767326200;
const char kSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";

struct Rig {
  std::mutex mu;
  std::vector<slack::SocketFrame> frames;
  std::function<util::Result<std::string>(const slack::SocketFrame&)> reply =
      [](const slack::SocketFrame&) { return util::Result<std::string>(std::string()); };
  http::server::Router router;
  std::unique_ptr<slack::HttpReceiver> receiver;
  std::unique_ptr<http::server::Server> server;
  std::unique_ptr<http::Client> client;

  explicit Rig(std::string secret = kSecret, int64_t now = kNow, size_t max_body = 1 << 20) {
    slack::HttpReceiverOptions opt;
    opt.signing_secret = secret;
    opt.now = [now] { return now; };
    receiver = std::make_unique<slack::HttpReceiver>(opt, [this](const slack::SocketFrame& f) {
      std::lock_guard<std::mutex> lock(mu);
      frames.push_back(f);
      return reply(f);
    });
    receiver->Register(router);
    http::server::ServerOptions sopt;
    sopt.max_body_bytes = max_body;
    server = std::make_unique<http::server::Server>(sopt, router.AsHandler());
    REQUIRE(server->Start().ok());
    http::ClientOptions copt;
    copt.retry.max_attempts = 1;
    auto c = http::Client::Create(copt);
    REQUIRE(c.ok());
    client = std::move(*c);
  }

  http::Response Post(const std::string& path, const std::string& body, const std::string& ts,
                      const std::string& sig, const std::string& type = "application/json",
                      int retry_num = 0) {
    http::Request req;
    req.method = "POST";
    req.url = "http://127.0.0.1:" + std::to_string(server->port()) + path;
    req.headers.Set("Content-Type", type);
    if (!ts.empty()) req.headers.Set("X-Slack-Request-Timestamp", ts);
    if (!sig.empty()) req.headers.Set("X-Slack-Signature", sig);
    if (retry_num) {
      req.headers.Set("X-Slack-Retry-Num", std::to_string(retry_num));
      req.headers.Set("X-Slack-Retry-Reason", "http_timeout");
    }
    req.body = body;
    req.fail_on_http_error = false;
    auto r = client->Send(req);
    REQUIRE(r.ok());
    return *r;
  }

  http::Response PostSigned(const std::string& path, const std::string& body,
                            const std::string& type = "application/json", int retry_num = 0) {
    std::string ts = std::to_string(kNow);
    return Post(path, body, ts, slack::ComputeSignature(kSecret, ts, body), type, retry_num);
  }

  size_t Count() {
    std::lock_guard<std::mutex> lock(mu);
    return frames.size();
  }
};

}  // namespace

TEST_CASE("slack http: the documented signed slash command is accepted") {
  json v = json::parse(Fixture("signing/v0_test_vector.json"));
  Rig rig(v["signing_secret"], v["clock_now_for_test"]);
  auto r = rig.Post("/slack/commands", v["raw_body"], v["x_slack_request_timestamp"],
                    v["x_slack_signature"], v["content_type"]);
  CHECK(r.status == 200);
  REQUIRE(rig.Count() == 1);
  CHECK(rig.frames[0].type_name == "slash_commands");
  CHECK(rig.frames[0].accepts_response_payload);
  auto cmd = slack::ParseSlashCommand(rig.frames[0].payload_json);
  REQUIRE(cmd.ok());
  CHECK(cmd->command == "/webhook-collect");
  CHECK(cmd->user_id == "U2CERLKJA");
}

TEST_CASE("slack http: unsigned, forged and stale requests get 401 and reach nobody") {
  Rig rig;
  std::string body = Fixture("events/event_callback_message_im.json");
  std::string ts = std::to_string(kNow);
  std::string good = slack::ComputeSignature(kSecret, ts, body);
  CHECK(rig.Post("/slack/events", body, "", "").status == 401);
  CHECK(rig.Post("/slack/events", body, ts, "").status == 401);
  CHECK(rig.Post("/slack/events", body + " ", ts, good).status == 401);  // body changed
  std::string old_ts = std::to_string(kNow - 301);
  CHECK(rig.Post("/slack/events", body, old_ts, slack::ComputeSignature(kSecret, old_ts, body)).status == 401);
  CHECK(rig.Post("/slack/events", body, ts, slack::ComputeSignature("wrong", ts, body)).status == 401);
  CHECK(rig.Count() == 0);
  CHECK(rig.PostSigned("/slack/events", body).status == 200);
  CHECK(rig.Count() == 1);
}

TEST_CASE("slack http: url_verification is answered with the challenge") {
  Rig rig;
  auto r = rig.PostSigned("/slack/events", R"({"token":"t","challenge":"c-123","type":"url_verification"})");
  CHECK(r.status == 200);
  CHECK(r.body == "c-123");
  CHECK(rig.Count() == 0);
}

TEST_CASE("slack http: events become events_api frames with retry info") {
  Rig rig;
  std::string body = Fixture("events/event_callback_message_im.json");
  auto r = rig.PostSigned("/slack/events", body, "application/json", 2);
  CHECK(r.status == 200);
  REQUIRE(rig.Count() == 1);
  const auto& f = rig.frames[0];
  CHECK(f.type_name == "events_api");
  CHECK(f.envelope_id == "Ev0AFKSS1NKD");
  CHECK(f.payload_json == body);  // the raw body, byte for byte
  CHECK(f.retry_attempt == 2);
  CHECK(f.retry_reason == "http_timeout");
}

TEST_CASE("slack http: a handler failure answers 500 so Slack retries") {
  Rig rig;
  rig.reply = [](const slack::SocketFrame&) -> util::Result<std::string> {
    return util::Status::IOError("disk full");
  };
  auto r = rig.PostSigned("/slack/events", Fixture("events/event_callback_app_mention.json"));
  CHECK(r.status == 500);
  CHECK(r.body.find("disk") == std::string::npos);
}

TEST_CASE("slack http: interactivity form bodies, with a reply payload") {
  Rig rig;
  rig.reply = [](const slack::SocketFrame&) -> util::Result<std::string> {
    return std::string(R"({"response_action":"errors","errors":{"answer":"too short"}})");
  };
  std::string payload = Fixture("interactivity/view_submission.json");
  auto r = rig.PostSigned("/slack/interactivity", "payload=" + FormEncode(payload),
                          "application/x-www-form-urlencoded");
  CHECK(r.status == 200);
  CHECK(json::parse(r.body)["response_action"] == "errors");
  REQUIRE(rig.Count() == 1);
  CHECK(rig.frames[0].type_name == "interactive");
  auto in = slack::ParseInteraction(rig.frames[0].payload_json);
  REQUIRE(in.ok());
  CHECK(in->view.callback_id == "feedback_form");
}

TEST_CASE("slack http: malformed signed bodies get 400, oversized ones 413") {
  Rig rig("8f742231b10e8888abcd99yyyzzz85a5", kNow, 4096);
  CHECK(rig.PostSigned("/slack/events", "{not json").status == 400);
  CHECK(rig.PostSigned("/slack/interactivity", "payload=%7Bx", "application/x-www-form-urlencoded").status == 400);
  CHECK(rig.PostSigned("/slack/interactivity", "nothing=here", "application/x-www-form-urlencoded").status == 400);
  CHECK(rig.PostSigned("/slack/commands", "text=hi", "application/x-www-form-urlencoded").status == 400);
  CHECK(rig.PostSigned("/slack/events", std::string(5000, ' ')).status == 413);
  CHECK(rig.Count() == 0);
}
