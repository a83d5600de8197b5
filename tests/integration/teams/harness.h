// deskbot's service with the Teams adapter against the fake Bot Framework,
// for the Teams end-to-end tests. Production code paths throughout: only the
// OpenID metadata, token and Connector URLs point at the fake (plain http).
#pragma once

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bot/chat/teams.h"
#include "connectors/teams/webhook.h"
#include "tests/integration/webchat/harness.h"
#include "tests/support/store_reads.h"
#include "tests/support/teams/fake_bot_framework.h"

namespace deskbot::testing {

using teams::testing::BadToken;
using teams::testing::FakeBotFramework;
using teams::testing::RecordedActivity;

inline constexpr char kAgentsConversation[] = "19:agents0000000000000000000000@thread.tacv2";
inline constexpr char kAgentAad[] = "aaaaaaaa-0000-0000-0000-00000000a9e1";
inline constexpr char kAgentName[] = "Alice Agent";
inline constexpr char kAskerAad[] = "00000000-1111-2222-3333-444444444444";  // the fixtures' user
inline constexpr char kStrangerAad[] = "bbbbbbbb-0000-0000-0000-0000000057a9";
// base64 of "deskbot-teams-webhook-test-key!!" (as Teams shows the security token).
inline constexpr char kWebhookSecret[] = "ZGVza2JvdC10ZWFtcy13ZWJob29rLXRlc3Qta2V5ISE=";

inline json Fixture(const std::string& name) {
  std::ifstream in(std::string(DESKBOT_TEST_DATA_DIR) + "/teams/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream buffer;
  buffer << in.rdbuf();
  json j = json::parse(buffer.str(), nullptr, false);
  REQUIRE(j.is_object());
  return j;
}

// The recorded channel @mention with a new id and text (the bot's mention kept).
inline json ChannelQuestion(const std::string& id, const std::string& text) {
  json a = Fixture("message_channel_mention.json");
  a["id"] = id;
  a["text"] = "<at>Chat SDK Demo</at> " + text;
  a["conversation"]["id"] = "19:d441d38c655c47a085215b2726e76927@thread.tacv2;messageid=" + id;
  return a;
}

// The recorded personal-chat message with a new id and text.
inline json PersonalQuestion(const std::string& id, const std::string& text) {
  json a = Fixture("message_personal.json");
  a["id"] = id;
  a["text"] = text;
  return a;
}

// A group chat: no recorded one exists, so the channel fixture's shape with
// conversationType groupChat and no team (see tests/data/teams/SOURCES.md).
inline json GroupChatQuestion(const std::string& id, const std::string& text) {
  json a = ChannelQuestion(id, text);
  a["conversation"] = {{"isGroup", true},
                       {"conversationType", "groupChat"},
                       {"tenantId", "a1b2c3d4-e5f6-7890-abcd-ef1234567890"},
                       {"id", "19:groupchat0a1b2c3d4e5f@thread.v2"}};
  a["channelData"].erase("team");
  a["channelData"].erase("channel");
  a["channelData"].erase("teamsChannelId");
  a["channelData"].erase("teamsTeamId");
  return a;
}

// The recorded Action.Execute invoke, clicked by `aad` on card `card_id`.
inline json ExecuteInvoke(const std::string& id, const std::string& verb, std::int64_t suggestion_id,
                          const std::string& card_id, const std::string& aad,
                          const std::string& name, const json& inputs = json::object()) {
  json a = Fixture("invoke_adaptiveCard_action_execute.json");
  a["id"] = id;
  a["replyToId"] = card_id;
  a["conversation"] = {{"isGroup", true},
                       {"conversationType", "channel"},
                       {"tenantId", "a1b2c3d4-e5f6-7890-abcd-ef1234567890"},
                       {"id", kAgentsConversation}};
  a["from"]["aadObjectId"] = aad;
  a["from"]["name"] = name;
  a["from"]["id"] = "29:user-" + aad;
  json data = {{"suggestionId", std::to_string(suggestion_id)}};
  data.update(inputs);
  a["value"]["action"] = {{"type", "Action.Execute"}, {"title", verb}, {"verb", verb}, {"data", data}};
  return a;
}

inline json BodyOf(const RecordedActivity& r) { return json::parse(r.body, nullptr, false); }

// Cards posted to the agents' conversation (POST, not a reply).
inline std::vector<RecordedActivity> CardPosts(const FakeBotFramework& fake) {
  std::vector<RecordedActivity> out;
  for (const auto& r : fake.recorded())
    if (r.method == "POST" && r.conversation_id == kAgentsConversation && r.activity_id.empty())
      out.push_back(r);
  return out;
}

// Replies to activity `reply_to` in `conversation`.
inline std::vector<RecordedActivity> RepliesTo(const FakeBotFramework& fake, const std::string& conversation,
                                               const std::string& reply_to) {
  std::vector<RecordedActivity> out;
  for (const auto& r : fake.recorded())
    if (r.method == "POST" && r.conversation_id == conversation && r.activity_id == reply_to)
      out.push_back(r);
  return out;
}

inline std::vector<RecordedActivity> CardUpdates(const FakeBotFramework& fake, const std::string& card_id) {
  std::vector<RecordedActivity> out;
  for (const auto& r : fake.recorded())
    if (r.method == "PUT" && r.activity_id == card_id) out.push_back(r);
  return out;
}

// The suggestion id in a posted card's Approve action.
inline std::int64_t SuggestionIdOf(const RecordedActivity& post) {
  json body = BodyOf(post);
  for (const json& att : body["attachments"])
    for (const json& action : att["content"]["actions"])
      if (action.value("verb", "") == "approve")
        return std::stoll(action["data"].value("suggestionId", "0"));
  return 0;
}

class TeamsServer {
 public:
  // `model_delay`: how long the webhook's model takes (to go past `budget`).
  explicit TeamsServer(std::chrono::milliseconds model_delay = std::chrono::milliseconds(0),
                       std::chrono::milliseconds budget = std::chrono::milliseconds(3500)) {
    REQUIRE(fake_.Start().ok());
    auto s = SqliteStore::Open(dir_.File("deskbot.db"));
    REQUIRE(s.ok());
    store_ = std::move(s).value();
    service::ServiceOptions o;
    o.port = 0;
    o.max_body_bytes = 64 << 10;
    o.workers.poll = std::chrono::milliseconds(100);
    o.outbox.poll = std::chrono::milliseconds(100);
    o.outbox.backoff_base = std::chrono::milliseconds(20);
    o.workflow.is_agent = service::AgentIds({std::string("teams:") + kAgentAad});
    service::ServiceDeps deps;
    deps.store = store_.get();
    model_ = SmallModel();
    auto model = model_;
    deps.load_model = [model]() -> util::Result<service::ModelSlot::Loaded> {
      return service::ModelSlot::Loaded{model, "kw-1"};
    };
    service_ = std::make_unique<service::Service>(o, deps);
    chat::TeamsOptions t;
    t.app_id = fake_.options().app_id;
    t.app_password = fake_.options().app_secret;
    t.token_url = fake_.token_url();
    t.openid_metadata_url = fake_.metadata_url();
    t.allow_http = true;
    t.agents_conversation = kAgentsConversation;
    t.agents_service_url = fake_.service_url();
    t.agent_ids = {kAgentAad};
    t.webhook_secret = kWebhookSecret;
    t.suggest = [model, model_delay](const std::string& q) {
      std::this_thread::sleep_for(model_delay);
      return model->Suggest(q);
    };
    t.webhook_budget = budget;
    auto chat = chat::TeamsChat::Create(*store_, service_->inbox(), t);
    REQUIRE(chat.ok());
    teams_ = std::move(chat).value();
    service_->AddConnector(*teams_, teams_->Routes());
    REQUIRE(service_->Start().ok());
    api_ = std::make_unique<Api>(base());
  }
  ~TeamsServer() { service_->Stop(); }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(service_->port()); }
  std::string messages_url() const { return base() + "/api/messages"; }
  SqliteStore& store() { return *store_; }
  FakeBotFramework& fake() { return fake_; }
  Api& api() { return *api_; }

  FakeBotFramework::Delivery Deliver(const json& activity, BadToken bad = BadToken::kNone) {
    auto d = fake_.DeliverActivity(messages_url(), activity.dump(), bad);
    REQUIRE(d.ok());
    return *d;
  }

  // Asks `activity` and returns the card posted for it to the agents.
  RecordedActivity AskAndWaitForCard(const json& activity) {
    const std::size_t before = CardPosts(fake_).size();
    REQUIRE(Deliver(activity).status == 200);
    REQUIRE(Eventually([&] { return CardPosts(fake_).size() > before; }));
    return CardPosts(fake_).back();
  }

  // POSTs a webhook delivery signed with `secret`.
  Reply Webhook(const json& activity, const std::string& secret = kWebhookSecret) {
    const std::string body = activity.dump();
    auto signature = teams::SignOutgoingWebhook(body, secret);
    REQUIRE(signature.ok());
    return api_->Send("POST", "/teams/webhook", body, {{"Authorization", *signature}});
  }

 private:
  FakeBotFramework fake_;
  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  std::shared_ptr<AnswerModel> model_;
  std::unique_ptr<service::Service> service_;
  std::unique_ptr<chat::TeamsChat> teams_;
  std::unique_ptr<Api> api_;
};

inline std::int64_t InboxTotal(SqliteStore& store) {
  auto c = store.CountChatQueues();
  REQUIRE(c.ok());
  return c->inbox_pending + c->inbox_processing + c->inbox_done + c->inbox_failed;
}

inline SuggestionRecord SuggestionOf(SqliteStore& store, std::int64_t id) {
  auto s = store.GetSuggestion(id);
  REQUIRE(s.ok());
  REQUIRE(s->has_value());
  return (*s)->suggestion;
}

}  // namespace deskbot::testing
