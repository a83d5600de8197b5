// Parsing real Teams activities (tests/data/teams, copied from the shared
// fixtures) and stripping the bot's mention.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/teams/activity.h"

using namespace teams;

namespace {

std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(DESKBOT_TEST_DATA_DIR) + "/teams/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Activity ParseFixture(const std::string& name) {
  auto activity = ParseActivity(ReadFixture(name));
  INFO(name << ": " << activity.status().ToString());
  REQUIRE(activity.ok());
  return std::move(*activity);
}

}  // namespace

TEST_CASE("a channel message with a bot mention", "[teams][activity]") {
  Activity a = ParseFixture("message_channel_mention.json");
  CHECK(a.type == "message");
  CHECK(a.IsMessage());
  CHECK_FALSE(a.IsCardSubmit());
  CHECK(a.id == "1767326091220");
  CHECK(a.channel_id == "msteams");
  CHECK(a.service_url == "https://smba.trafficmanager.net/amer/a1b2c3d4-e5f6-7890-abcd-ef1234567890/");
  CHECK(a.conversation.id == "19:d441d38c655c47a085215b2726e76927@thread.tacv2;messageid=1767326091220");
  CHECK(a.conversation.type == ConversationType::kChannel);
  CHECK(a.conversation.type_name == "channel");
  CHECK(a.conversation.is_group);
  CHECK(a.tenant_id == "a1b2c3d4-e5f6-7890-abcd-ef1234567890");
  CHECK(a.team_id == "19:8j-Mnacwmq2QFDbzykeQH5v55m6cN1X3QJ5viHvGIIQ1@thread.tacv2");
  CHECK(a.teams_channel_id == "19:d441d38c655c47a085215b2726e76927@thread.tacv2");
  CHECK(a.from.id.rfind("29:", 0) == 0);
  CHECK(a.from.name == "Test User");
  CHECK(a.from.aad_object_id == "00000000-1111-2222-3333-444444444444");
  CHECK(a.recipient.id == "28:11111111-2222-3333-4444-555555555555");
  REQUIRE(a.mentions.size() == 1);
  CHECK(a.mentions[0].id == a.recipient.id);
  CHECK(a.mentions[0].text == "<at>Chat SDK Demo</at>");
  CHECK(a.text == "<at>Chat SDK Demo</at> Test");
  CHECK(TextWithoutBotMention(a) == "Test");
}

TEST_CASE("a channel message with clientInfo and an HTML attachment", "[teams][activity]") {
  Activity a = ParseFixture("message_channel_mention_full.json");
  CHECK(a.text_format == "plain");
  CHECK(a.timestamp == "2026-02-17T01:01:47.4513813Z");
  CHECK(a.locale == "en-US");
  REQUIRE(a.mentions.size() == 1);  // clientInfo is not a mention
  CHECK(TextWithoutBotMention(a) == "Hey");
}

TEST_CASE("a thread reply in a channel keeps the root message id", "[teams][activity]") {
  Activity a = ParseFixture("message_channel_thread_reply_mention.json");
  CHECK(a.id == "1759944781430");
  CHECK(a.conversation.id == "19:6848757105754c8981c67612732d9aa7@thread.tacv2;messageid=1759881511856");
  CHECK(a.from.aad_object_id == "b15a9416-0ad3-4172-9210-7beb711d3f70");
  CHECK(a.tenant_id == "50612dbb-0237-4969-b378-8d42590f9c00");
  CHECK(TextWithoutBotMention(a) == "reply to thread");
}

TEST_CASE("a personal (1:1) chat message", "[teams][activity]") {
  Activity a = ParseFixture("message_personal.json");
  CHECK(a.conversation.type == ConversationType::kPersonal);
  CHECK_FALSE(a.conversation.is_group);
  CHECK(a.conversation.id.rfind("a:", 0) == 0);
  CHECK(a.tenant_id == "a1b2c3d4-e5f6-7890-abcd-ef1234567890");
  CHECK(a.team_id.empty());
  CHECK(a.mentions.empty());
  CHECK(TextWithoutBotMention(a) == "Hey");
}

TEST_CASE("a group chat message (built from the channel fixture's shape)", "[teams][activity]") {
  // No recorded group-chat activity exists in the fixtures: this one changes
  // only what differs in a group chat (conversation type and id, no team).
  auto doc = nlohmann::json::parse(ReadFixture("message_channel_mention.json"));
  doc["conversation"] = {{"isGroup", true},
                         {"conversationType", "groupChat"},
                         {"tenantId", "a1b2c3d4-e5f6-7890-abcd-ef1234567890"},
                         {"id", "19:meeting_abc@thread.v2"}};
  doc["channelData"] = {{"tenant", {{"id", "tenant-from-channel-data"}}}};
  doc["conversation"].erase("tenantId");
  auto a = ParseActivity(doc.dump());
  REQUIRE(a.ok());
  CHECK(a->conversation.type == ConversationType::kGroupChat);
  CHECK(a->conversation.is_group);
  CHECK(a->tenant_id == "tenant-from-channel-data");  // falls back to channelData.tenant
  CHECK(a->team_id.empty());
  CHECK(TextWithoutBotMention(*a) == "Test");
}

TEST_CASE("Action.Submit arrives as a message with value and no text", "[teams][activity]") {
  Activity a = ParseFixture("message_action_submit_value.json");
  CHECK(a.IsMessage());
  CHECK(a.IsCardSubmit());
  CHECK(a.text.empty());
  CHECK(a.value_json == R"({"actionId":"info"})");
  CHECK(a.value.at("actionId") == "info");
  CHECK_FALSE(a.IsExecuteAction());
}

TEST_CASE("an Action.Execute invoke carries the action and its data", "[teams][activity]") {
  Activity a = ParseFixture("invoke_adaptiveCard_action_execute.json");
  CHECK(a.type == "invoke");
  CHECK(a.name == "adaptiveCard/action");
  CHECK(a.reply_to_id == "1767765488332");
  CHECK(a.conversation.type == ConversationType::kPersonal);
  CHECK(a.from.aad_object_id == "c5e99701-2a32-49c1-a660-4629ceeb8c61");
  REQUIRE(a.IsExecuteAction());
  CHECK(a.execute->verb.empty());  // this captured card action had no verb
  CHECK(a.execute->title == "Submit Feedback");
  CHECK(a.execute->trigger == "manual");
  CHECK(a.execute->data.at("feedback") == "test invokes");
  CHECK(nlohmann::json::parse(a.execute->data_json) == nlohmann::json{{"feedback", "test invokes"}});

  // The same invoke from one of our cards: verb and merged inputs.
  auto doc = nlohmann::json::parse(ReadFixture("invoke_adaptiveCard_action_execute.json"));
  doc["value"]["action"] = {{"type", "Action.Execute"},
                            {"verb", "edit"},
                            {"data", {{"suggestionId", "981"}, {"editedText", "Restart it."}, {"n", 3}}}};
  auto edit = ParseActivity(doc.dump());
  REQUIRE(edit.ok());
  CHECK(edit->execute->verb == "edit");
  CHECK(edit->execute->data.at("suggestionId") == "981");
  CHECK(edit->execute->data.at("editedText") == "Restart it.");
  CHECK(edit->execute->data.at("n") == "3");

  doc["value"] = {{"trigger", "manual"}};
  auto broken = ParseActivity(doc.dump());
  CHECK(broken.status().code() == util::Status::Code::kInvalidArgument);
  CHECK_THAT(broken.status().message(), Catch::Contains("no value.action"));
}

TEST_CASE("other activity types parse without message fields", "[teams][activity]") {
  Activity a = ParseFixture("messageReaction.json");
  CHECK(a.type == "messageReaction");
  CHECK_FALSE(a.IsMessage());
  CHECK(a.reply_to_id == "1767326111492");
  auto update = ParseActivity(R"({"type":"conversationUpdate"})");
  REQUIRE(update.ok());
  CHECK(update->conversation.id.empty());
}

TEST_CASE("malformed activities get clear errors that do not echo the body", "[teams][activity]") {
  auto bad = ParseActivity(R"({"type":"message", "text": "secret-ish stuff" )");
  CHECK(bad.status().code() == util::Status::Code::kInvalidArgument);
  CHECK_THAT(bad.status().message(), Catch::Contains("malformed JSON at byte"));
  CHECK_THAT(bad.status().message(), !Catch::Contains("secret-ish"));
  CHECK_THAT(ParseActivity("[1,2]").status().message(), Catch::Contains("not a JSON object"));
  CHECK_THAT(ParseActivity("").status().message(), Catch::Contains("malformed JSON"));
  CHECK_THAT(ParseActivity(R"({"text":"hi"})").status().message(), Catch::Contains("no type"));
  CHECK_THAT(ParseActivity(R"({"type":5})").status().message(), Catch::Contains("no type"));
  CHECK_THAT(ParseActivity(R"({"type":"message","serviceUrl":"https://x/"})").status().message(),
             Catch::Contains("message has no conversation.id"));
  CHECK_THAT(ParseActivity(R"({"type":"message","conversation":{"id":"c"}})").status().message(),
             Catch::Contains("message has no serviceUrl"));
  // Wrongly typed fields are ignored, not thrown on.
  auto odd = ParseActivity(
      R"({"type":"message","serviceUrl":"https://x/","conversation":{"id":"c","isGroup":"yes"},)"
      R"("from":"nobody","entities":{"type":"mention"},"text":7})");
  REQUIRE(odd.ok());
  CHECK_FALSE(odd->conversation.is_group);
  CHECK(odd->text.empty());
}

TEST_CASE("mention stripping uses entities - keeps other people's names", "[teams][activity]") {
  Activity a;
  a.recipient.id = "28:bot";
  a.text = "Hi <at>Help Bot</at> please ask <at>Alice Smith</at> about VPN &amp; DNS&nbsp;";
  a.mentions = {{"28:bot", "Help Bot", "<at>Help Bot</at>"},
                {"29:alice", "Alice Smith", "<at>Alice Smith</at>"}};
  CHECK(TextWithoutBotMention(a) == "Hi please ask Alice Smith about VPN & DNS");

  // Only the entity decides what is the bot: a user named like the bot stays.
  a.text = "<at>Help Bot</at> <at>Help Bot</at>?";
  a.mentions = {{"29:impostor", "Help Bot", "<at>Help Bot</at>"}};
  CHECK(TextWithoutBotMention(a) == "Help Bot Help Bot?");
  // An explicit bot id overrides recipient.id.
  CHECK(TextWithoutBotMention(a, "29:impostor") == "?");
  a.text = "&amp;lt;tag&amp;gt;";
  a.mentions.clear();
  CHECK(TextWithoutBotMention(a) == "&lt;tag&gt;");  // decoded once, not twice
}
