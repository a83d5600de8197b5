// slack::WebApi against the fake Slack on loopback (real HTTP, real client).
#include <mutex>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/slack/blocks.h"
#include "connectors/slack/web_api.h"
#include "tests/support/slack/fake_slack.h"

using json = nlohmann::json;
using Code = util::Status::Code;

namespace {

// A WebApi on the fake, with the HTTP client's waits recorded, not slept.
struct Fixture {
  slack_fake::FakeSlack fake;
  std::mutex mu;
  std::vector<std::chrono::milliseconds> waits;
  std::unique_ptr<slack::WebApi> api;

  explicit Fixture(std::string bot_token = "", int max_attempts = 4) {
    REQUIRE(fake.Start().ok());
    slack::WebApiOptions opt;
    opt.base_url = fake.api_base_url();
    opt.bot_token = bot_token.empty() ? fake.bot_token() : bot_token;
    opt.app_token = fake.app_token();
    opt.http.retry.max_attempts = max_attempts;
    opt.http.sleep = [this](std::chrono::milliseconds d) {
      std::lock_guard<std::mutex> lock(mu);
      waits.push_back(d);
    };
    auto created = slack::WebApi::Create(opt);
    REQUIRE(created.ok());
    api = std::move(*created);
  }
};

}  // namespace

TEST_CASE("slack web api: chat.postMessage in a thread with blocks, ok:true") {
  Fixture f;
  slack::Suggestion s{"981", "Restart the VPN client.", 0.82, {{"#42", "https://desk/t/42"}}};
  auto msg = slack::SuggestionMessage(s);
  REQUIRE(msg.ok());
  auto posted = f.api->PostMessage({"C123", msg->text, msg->blocks_json, "1767326125.870439"});
  REQUIRE(posted.ok());
  CHECK(posted->channel == "C123");
  CHECK_FALSE(posted->ts.empty());

  auto calls = f.fake.calls("chat.postMessage");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].authorization == "Bearer " + f.fake.bot_token());
  CHECK(calls[0].content_type.rfind("application/json", 0) == 0);
  json body = json::parse(calls[0].body);
  CHECK(body["channel"] == "C123");
  CHECK(body["thread_ts"] == "1767326125.870439");
  CHECK(body["blocks"].is_array());
  CHECK(body["blocks"][2]["elements"][0]["value"] == "981");
  CHECK(body["unfurl_links"] == false);
  // The token travels only in the header.
  CHECK(calls[0].body.find(f.fake.bot_token()) == std::string::npos);

  // The posted message can be updated to its decided state.
  auto decided = slack::DecidedMessage(s, {"Approved", "U1", 1767326125, "", ""});
  REQUIRE(decided.ok());
  auto upd = f.api->Update({"C123", posted->ts, decided->text, decided->blocks_json});
  REQUIRE(upd.ok());
  CHECK(upd->ts == posted->ts);
  CHECK(f.fake.calls("chat.update").size() == 1);
}

TEST_CASE("slack web api: auth.test, postEphemeral, views.open") {
  Fixture f;
  auto auth = f.api->AuthTest();
  REQUIRE(auth.ok());
  CHECK(auth->user_id == "U0BOT");
  CHECK(auth->bot_id == "B0BOT");
  CHECK(auth->team_id == "T111");

  auto eph = f.api->PostEphemeral({"C1", "U2", "only you can see this", "", ""});
  REQUIRE(eph.ok());
  CHECK_FALSE(eph->empty());

  auto modal = slack::EditModal("981", "Restart the VPN client.");
  REQUIRE(modal.ok());
  auto view = f.api->OpenView("123.456.abc", *modal);
  REQUIRE(view.ok());
  CHECK(view->rfind("V", 0) == 0);
  json sent = json::parse(f.fake.calls("views.open").at(0).body);
  CHECK(sent["trigger_id"] == "123.456.abc");
  CHECK(sent["view"]["private_metadata"] == "981");
  auto rej = slack::RejectReasonModal("981");
  REQUIRE(rej.ok());
  CHECK(f.api->OpenView("t2", *rej).ok());
}

TEST_CASE("slack web api: ok:false errors become Statuses with Slack's code") {
  Fixture f;
  SECTION("channel_not_found from Slack's own check") {
    auto r = f.api->Update({"C1", "999.1", "x", ""});  // never posted
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kNotFound);
    CHECK(slack::ErrorCode(r.status()) == "message_not_found");
  }
  SECTION("invalid_blocks with Slack's details") {
    auto r = f.api->PostMessage({"C1", "x", R"([{"type":"section"}])", ""});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK(slack::ErrorCode(r.status()) == "invalid_blocks");
    CHECK(r.status().message().find("section needs text") != std::string::npos);
  }
  SECTION("views.open invalid_arguments") {
    auto r = f.api->OpenView("t", R"({"type":"modal"})");
    REQUIRE_FALSE(r.ok());
    CHECK(slack::ErrorCode(r.status()) == "invalid_arguments");
    CHECK(r.status().message().find("title") != std::string::npos);
  }
  SECTION("injected ok:false, and the next call is fine again") {
    f.fake.FailNextWithError("chat.postMessage", "is_archived");
    auto r = f.api->PostMessage({"C1", "x", "", ""});
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message() == "slack chat.postMessage: is_archived");
    CHECK(f.api->PostMessage({"C1", "x", "", ""}).ok());
  }
  SECTION("arguments checked before any request") {
    CHECK_FALSE(f.api->PostMessage({"", "x", "", ""}).ok());
    CHECK_FALSE(f.api->PostMessage({"C1", "x", "not json", ""}).ok());
    CHECK_FALSE(f.api->OpenView("t", "[]").ok());
    CHECK(f.fake.calls().empty());
  }
}

TEST_CASE("slack web api: invalid_auth is permanent and never retried, the token stays secret") {
  Fixture f("xoxb-wrong-secret-token");
  auto r = f.api->PostMessage({"C1", "hello", "", ""});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnauthorized);
  CHECK(slack::ErrorCode(r.status()) == "invalid_auth");
  CHECK(r.status().message().find("xoxb-wrong-secret-token") == std::string::npos);
  CHECK(f.fake.calls("chat.postMessage").size() == 1);  // no retry
  CHECK(f.waits.empty());

  // The bot token is refused for apps.connections.open and vice versa.
  slack::WebApiOptions opt;
  opt.base_url = f.fake.api_base_url();
  opt.bot_token = f.fake.app_token();
  opt.app_token = f.fake.bot_token();
  auto swapped = slack::WebApi::Create(opt);
  REQUIRE(swapped.ok());
  auto a = (*swapped)->AuthTest();
  CHECK(slack::ErrorCode(a.status()) == "not_allowed_token_type");
  CHECK(a.status().code() == Code::kUnauthorized);
  auto o = (*swapped)->OpenConnection();
  CHECK(o.status().code() == Code::kUnauthorized);
  CHECK(o.status().message().find("xapp-") == std::string::npos);

  // No token configured: refused locally.
  opt.bot_token.clear();
  auto none = slack::WebApi::Create(opt);
  REQUIRE(none.ok());
  CHECK((*none)->AuthTest().status().code() == Code::kUnauthorized);
}

TEST_CASE("slack web api: 429 with Retry-After is waited out, then succeeds") {
  Fixture f;
  f.fake.FailNextHttp("chat.postMessage", 429, R"({"ok":false,"error":"ratelimited"})", "2");
  auto r = f.api->PostMessage({"C1", "hello", "", ""});
  REQUIRE(r.ok());
  CHECK(f.fake.calls("chat.postMessage").size() == 2);
  REQUIRE(f.waits.size() == 1);
  CHECK(f.waits[0] == std::chrono::seconds(2));  // exactly what Slack asked
}

TEST_CASE("slack web api: persistent 429 surfaces as retryable ratelimited with the wait") {
  Fixture f("", /*max_attempts=*/2);
  f.fake.FailNextHttp("chat.postMessage", 429, "", "7");
  f.fake.FailNextHttp("chat.postMessage", 429, "", "7");
  auto r = f.api->PostMessage({"C1", "hello", "", ""});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(slack::ErrorCode(r.status()) == "ratelimited");
  CHECK(r.status().message().find("retry after 7 s") != std::string::npos);
}

TEST_CASE("slack web api: a Retry-After beyond the allowed wait fails fast as ratelimited") {
  Fixture f;
  f.fake.FailNextHttp("chat.postMessage", 429, "", "3600");
  auto r = f.api->PostMessage({"C1", "hello", "", ""});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(slack::ErrorCode(r.status()) == "ratelimited");
  CHECK(r.status().message().find("3600") != std::string::npos);
  CHECK(f.waits.empty());
}

TEST_CASE("slack web api: 500 is retried, then succeeds") {
  Fixture f;
  f.fake.FailNextHttp("auth.test", 500, "oops");
  f.fake.FailNextHttp("auth.test", 503, "");
  auto r = f.api->AuthTest();
  REQUIRE(r.ok());
  CHECK(f.fake.calls("auth.test").size() == 3);
  CHECK(f.waits.size() == 2);
}

TEST_CASE("slack web api: 5xx until attempts run out is retryable") {
  Fixture f("", /*max_attempts=*/2);
  f.fake.FailNextHttp("*", 502, "bad gateway");
  f.fake.FailNextHttp("*", 502, "bad gateway");
  auto r = f.api->PostMessage({"C1", "x", "", ""});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(slack::ErrorCode(r.status()) == "http_502");
}

TEST_CASE("slack web api: unparseable responses are errors, not crashes") {
  Fixture f;
  f.fake.FailNextHttp("auth.test", 200, "<html>proxy error</html>");
  auto r = f.api->AuthTest();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kIOError);
  f.fake.FailNextHttp("auth.test", 200, R"({"no_ok":1})");
  CHECK_FALSE(f.api->AuthTest().ok());
}

TEST_CASE("slack web api: apps.connections.open returns a socket URL with the app token") {
  Fixture f;
  auto url = f.api->OpenConnection();
  REQUIRE(url.ok());
  CHECK(url->rfind("ws://127.0.0.1:", 0) == 0);
  auto calls = f.fake.calls("apps.connections.open");
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].authorization == "Bearer " + f.fake.app_token());
}

TEST_CASE("slack web api: an unreachable Slack is a retryable error") {
  slack::WebApiOptions opt;
  opt.base_url = "http://127.0.0.1:1/api";
  opt.bot_token = "xoxb-secret";
  opt.http.retry.max_attempts = 1;
  auto api = slack::WebApi::Create(opt);
  REQUIRE(api.ok());
  auto r = (*api)->AuthTest();
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);
  CHECK(r.status().message().rfind("slack auth.test", 0) == 0);
  CHECK(r.status().message().find("xoxb-secret") == std::string::npos);
}

TEST_CASE("slack web api: unknown error codes map sensibly") {
  CHECK(slack::CodeForSlackError("token_revoked") == Code::kUnauthorized);
  CHECK(slack::CodeForSlackError("missing_scope") == Code::kUnauthorized);
  CHECK(slack::CodeForSlackError("ratelimited") == Code::kUnavailable);
  CHECK(slack::CodeForSlackError("internal_error") == Code::kUnavailable);
  CHECK(slack::CodeForSlackError("channel_not_found") == Code::kNotFound);
  CHECK(slack::CodeForSlackError("msg_too_long") == Code::kInvalidArgument);
  CHECK(slack::ErrorCode(util::Status::NotFound("x")) == "");
  CHECK(slack::ErrorCode(util::Status::NotFound("post: slack chat.update: message_not_found (x)")) ==
        "message_not_found");
}
