// deskbot's service with the Slack adapter against the fake Slack, for the
// Slack end-to-end tests. Production code paths throughout: only the Web API
// base URL points at the fake.
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bot/chat/slack.h"
#include "connectors/slack/signing.h"
#include "tests/integration/webchat/harness.h"
#include "tests/support/slack/fake_slack.h"

namespace deskbot::testing {

inline constexpr char kSigningSecret[] = "8f742231b10e8888abcd99yyyzzz85a5";
inline constexpr char kAgentsChannel[] = "C0AGENTS";
inline constexpr char kAgent[] = "U0AGENT1";
inline constexpr char kAsker[] = "U0ASKER1";
inline constexpr char kBotUser[] = "U0BOT";

inline std::string NowTimestamp() { return std::to_string(std::time(nullptr)); }

// Headers Slack sends with a signed delivery.
inline std::vector<std::pair<std::string, std::string>> Signed(const std::string& body,
                                                               const std::string& ts = NowTimestamp(),
                                                               const std::string& secret = kSigningSecret) {
  return {{"X-Slack-Request-Timestamp", ts},
          {"X-Slack-Signature", slack::ComputeSignature(secret, ts, body)}};
}

// An event_callback as Slack sends it (app_mention or message).
inline json EventCallback(const std::string& event_id, const std::string& type, const std::string& ts,
                          const std::string& text, const std::string& channel = "C0HELP",
                          const std::string& user = kAsker) {
  json ev = {{"type", type}, {"user", user}, {"ts", ts}, {"text", text},
             {"channel", channel}, {"event_ts", ts}};
  if (type == "message") ev["channel_type"] = channel[0] == 'D' ? "im" : "channel";
  return {{"token", "legacy"},
          {"team_id", "T111"},
          {"api_app_id", "A111"},
          {"type", "event_callback"},
          {"event_id", event_id},
          {"event_time", std::time(nullptr)},
          {"event", ev},
          {"authorizations", json::array({{{"user_id", kBotUser}, {"is_bot", true}}})}};
}

inline json BlockAction(const std::string& action, std::int64_t suggestion_id, const std::string& user,
                        const std::string& trigger, const std::string& message_ts = "1.0") {
  return {{"type", "block_actions"},
          {"user", {{"id", user}, {"username", user}, {"team_id", "T111"}}},
          {"api_app_id", "A111"},
          {"team", {{"id", "T111"}}},
          {"trigger_id", trigger},
          {"response_url", "https://hooks.slack.com/actions/T111/1/x"},
          {"container", {{"type", "message"}, {"message_ts", message_ts}, {"channel_id", kAgentsChannel}}},
          {"channel", {{"id", kAgentsChannel}, {"name", "agents"}}},
          {"message", {{"ts", message_ts}, {"text", "Suggested answer"}}},
          {"actions", json::array({{{"type", "button"},
                                    {"action_id", action},
                                    {"block_id", "suggestion_actions"},
                                    {"value", std::to_string(suggestion_id)},
                                    {"action_ts", "1.1"}}})}};
}

inline json ViewSubmission(const json& view, const std::string& user, const std::string& trigger,
                           const std::string& block, const std::string& action, const std::string& value) {
  json v = view;
  v["id"] = "V123";
  v["state"] = {{"values", {{block, {{action, {{"type", "plain_text_input"}, {"value", value}}}}}}}};
  return {{"type", "view_submission"},
          {"user", {{"id", user}, {"username", user}, {"team_id", "T111"}}},
          {"api_app_id", "A111"},
          {"team", {{"id", "T111"}}},
          {"trigger_id", trigger},
          {"view", v}};
}

inline std::string FormPayload(const json& payload) {
  std::string s = payload.dump(), out = "payload=";
  static const char* hex = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out.push_back(static_cast<char>(c));
    else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Calls to `method` whose params match `pred`.
inline std::vector<json> CallsWhere(const slack_fake::FakeSlack& fake, const std::string& method,
                                    const std::function<bool(const json&)>& pred = nullptr) {
  std::vector<json> out;
  for (const auto& c : fake.calls(method)) {
    if (c.status != 200) continue;
    json p = json::parse(c.params_json, nullptr, false);
    json r = json::parse(c.response, nullptr, false);
    if (!r.is_object() || !r.value("ok", false)) continue;
    if (!pred || pred(p)) out.push_back(p);
  }
  return out;
}

inline std::vector<json> AgentPosts(const slack_fake::FakeSlack& fake) {
  return CallsWhere(fake, "chat.postMessage",
                    [](const json& p) { return p.value("channel", "") == kAgentsChannel; });
}

inline std::vector<json> ThreadPosts(const slack_fake::FakeSlack& fake, const std::string& thread) {
  return CallsWhere(fake, "chat.postMessage", [&](const json& p) {
    return p.value("channel", "") != kAgentsChannel && p.value("thread_ts", "") == thread;
  });
}

// The suggestion id in a posted suggestion's Approve button.
inline std::int64_t SuggestionIdOf(const json& post) {
  json blocks = post["blocks"].is_string() ? json::parse(post["blocks"].get<std::string>()) : post["blocks"];
  for (const json& b : blocks)
    if (b.value("type", "") == "actions")
      for (const json& e : b["elements"])
        if (e.value("action_id", "") == "approve") return std::stoll(e.value("value", "0"));
  return 0;
}

class SlackServer {
 public:
  // workers = 0: deliveries are stored and acknowledged, never processed.
  explicit SlackServer(bool socket_mode = false, int workers = 2) {
    REQUIRE(fake_.Start().ok());
    auto s = SqliteStore::Open(dir_.File("deskbot.db"));
    REQUIRE(s.ok());
    store_ = std::move(s).value();
    service::ServiceOptions o;
    o.port = 0;
    o.max_body_bytes = 64 << 10;
    o.workers.threads = workers;
    o.workers.poll = std::chrono::milliseconds(100);
    o.outbox.poll = std::chrono::milliseconds(100);
    o.outbox.backoff_base = std::chrono::milliseconds(20);
    const service::AgentCheck is_agent = service::AgentIds({kAgent});
    o.workflow.is_agent = is_agent;
    service::ServiceDeps deps;
    deps.store = store_.get();
    auto model = SmallModel();
    deps.load_model = [model]() -> util::Result<service::ModelSlot::Loaded> {
      return service::ModelSlot::Loaded{model, "kw-1"};
    };
    service_ = std::make_unique<service::Service>(o, deps);
    chat::SlackOptions so;
    so.api_url = fake_.api_base_url();
    so.bot_token = fake_.bot_token();
    so.signing_secret = kSigningSecret;
    if (socket_mode) so.app_token = fake_.app_token();
    so.agents_channel = kAgentsChannel;
    so.channels = {"C0QUESTIONS"};
    auto chat = chat::SlackChat::Create(*store_, service_->inbox(), so);
    REQUIRE(chat.ok());
    slack_ = std::move(chat).value();
    service_->AddConnector(*slack_, slack_->Routes());
    if (socket_mode)
      service_->AddInboundClient("slack socket mode", [this] { return slack_->StartSocketMode(); },
                                 [this] { slack_->StopSocketMode(); });
    REQUIRE(service_->Start().ok());
    api_ = std::make_unique<Api>(base());
  }
  ~SlackServer() { service_->Stop(); }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(service_->port()); }
  SqliteStore& store() { return *store_; }
  slack_fake::FakeSlack& fake() { return fake_; }

  Reply PostSigned(const std::string& path, const std::string& body,
                   const std::string& content_type = "application/json") {
    auto headers = Signed(body);
    headers.push_back({"Content-Type", content_type});
    return api_->Send("POST", path, body, headers);
  }
  Reply Event(const json& callback) { return PostSigned("/slack/events", callback.dump()); }
  Reply Interact(const json& payload) {
    return PostSigned("/slack/interactivity", FormPayload(payload), "application/x-www-form-urlencoded");
  }
  Api& api() { return *api_; }

  // Asks a question by app mention and returns the id of the suggestion
  // posted to the agents' channel.
  std::int64_t AskAndWaitForSuggestion(const std::string& event_id, const std::string& ts,
                                       const std::string& text) {
    const std::size_t before = AgentPosts(fake_).size();
    Reply r = Event(EventCallback(event_id, "app_mention", ts, std::string("<@") + kBotUser + "> " + text));
    REQUIRE(r.status == 200);
    REQUIRE(Eventually([&] { return AgentPosts(fake_).size() > before; }));
    return SuggestionIdOf(AgentPosts(fake_).back());
  }

 private:
  slack_fake::FakeSlack fake_;
  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<service::Service> service_;
  std::unique_ptr<chat::SlackChat> slack_;
  std::unique_ptr<Api> api_;
};

}  // namespace deskbot::testing
