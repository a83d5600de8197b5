// Adaptive Card builders and invoke answers: shapes Teams accepts.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/teams/cards.h"

using namespace teams;
using nlohmann::json;

namespace {

// The first element of `array` whose `key` is `value`.
const json& Find(const json& array, const std::string& key, const std::string& value) {
  for (const json& item : array) {
    if (item.value(key, "") == value) return item;
  }
  FAIL("no element with " << key << " == " << value);
  static json none;
  return none;
}

SuggestionCardData Sample() {
  SuggestionCardData d;
  d.suggestion_id = "981";
  d.question = "How do I reset the VPN?";
  d.text = "Restart the VPN client, then sign in again.";
  d.confidence = 0.873;
  d.sources = {{"#4211 VPN drops [hourly]", "https://rt.example.com/Ticket/Display.html?id=4211"},
               {"#4305 VPN password", ""}};
  return d;
}

}  // namespace

TEST_CASE("the suggestion card shows text - confidence - sources and three actions", "[teams][cards]") {
  json card = json::parse(SuggestionCard(Sample()));
  CHECK(card["type"] == "AdaptiveCard");
  CHECK(card["version"] == "1.5");  // Action.Execute needs >= 1.4
  CHECK(card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json");
  std::string body = card["body"].dump();
  CHECK_THAT(body, Catch::Contains("How do I reset the VPN?"));
  CHECK_THAT(body, Catch::Contains("Restart the VPN client, then sign in again."));
  CHECK_THAT(body, Catch::Contains("Confidence: 87%"));
  CHECK_THAT(body, Catch::Contains(
      R"([#4211 VPN drops \\[hourly\\]](https://rt.example.com/Ticket/Display.html?id=4211))"));
  CHECK_THAT(body, Catch::Contains("- #4305 VPN password"));

  const json& actions = card["actions"];
  REQUIRE(actions.size() == 3);
  const json& approve = Find(actions, "title", "Approve");
  CHECK(approve["type"] == "Action.Execute");
  CHECK(approve["verb"] == kVerbApprove);
  CHECK(approve["data"] == json{{"suggestionId", "981"}});

  const json& edit = Find(actions, "title", "Edit");
  CHECK(edit["type"] == "Action.ShowCard");
  const json& edit_input = edit["card"]["body"][0];
  CHECK(edit_input["type"] == "Input.Text");
  CHECK(edit_input["id"] == kInputEditedText);
  CHECK(edit_input["isMultiline"] == true);
  CHECK(edit_input["value"] == "Restart the VPN client, then sign in again.");  // prefilled
  const json& send_edited = edit["card"]["actions"][0];
  CHECK(send_edited["type"] == "Action.Execute");
  CHECK(send_edited["verb"] == kVerbEdit);
  CHECK(send_edited["data"]["suggestionId"] == "981");

  const json& reject = Find(actions, "title", "Reject");
  CHECK(reject["type"] == "Action.ShowCard");
  const json& reason = reject["card"]["body"][0];
  CHECK(reason["type"] == "Input.Text");
  CHECK(reason["id"] == kInputRejectReason);
  CHECK_FALSE(reason.contains("value"));
  const json& confirm = reject["card"]["actions"][0];
  CHECK(confirm["type"] == "Action.Execute");
  CHECK(confirm["verb"] == kVerbReject);
  CHECK(confirm["data"]["suggestionId"] == "981");
}

TEST_CASE("the suggestion card stays small and valid with huge or odd text", "[teams][cards]") {
  SuggestionCardData d = Sample();
  // The cut lands inside the 2-byte "\xc3\xa9": it must back off to a boundary.
  d.text = std::string(kMaxCardTextBytes - 1, 'a') + "\xc3\xa9" + std::string(40000, 'b');
  d.question = std::string(50000, 'q');
  d.confidence = 7;  // clamped to 100%
  std::string card_text = SuggestionCard(d);
  CHECK(card_text.size() < 28 * 1024);  // Teams' card size limit
  json card = json::parse(card_text);
  std::string answer = card["body"][2]["text"];
  CHECK(answer == std::string(kMaxCardTextBytes - 1, 'a') + "\n[truncated]");
  CHECK_THAT(card["body"].dump(), Catch::Contains("Confidence: 100%"));

  d.text = "bad \xff utf8";  // invalid UTF-8 becomes U+FFFD instead of throwing
  d.sources.clear();
  d.question.clear();
  d.confidence = -1;
  json plain = json::parse(SuggestionCard(d));
  REQUIRE(plain["body"].size() == 3);  // heading, answer, confidence
  CHECK(plain["body"][1]["text"] == "bad \xef\xbf\xbd utf8");
  CHECK(plain["body"][2]["text"] == "Confidence: 0%");
}

TEST_CASE("the decided card says who decided when - with no actions", "[teams][cards]") {
  DecidedCardData d;
  d.suggestion_id = "981";
  d.decision = "approved";
  d.decided_by = "Alice Smith";
  d.decided_at = std::chrono::system_clock::time_point(std::chrono::seconds(1767765899));
  d.text = "Restart the VPN client.";
  json card = json::parse(DecidedCard(d));
  CHECK(card["type"] == "AdaptiveCard");
  CHECK_FALSE(card.contains("actions"));
  CHECK(card["body"][0]["text"] == "Approved by Alice Smith at 2026-01-07 06:04 UTC");
  CHECK(card["body"][1]["text"] == "Restart the VPN client.");

  d.decision = "rejected";
  d.text.clear();
  d.reason = "Wrong VPN product";
  json rejected = json::parse(DecidedCard(d));
  CHECK(rejected["body"][0]["text"] == "Rejected by Alice Smith at 2026-01-07 06:04 UTC");
  CHECK(rejected["body"][1]["text"] == "Reason: Wrong VPN product");
}

TEST_CASE("attachments and invoke responses have the shapes Teams requires", "[teams][cards]") {
  std::string card = SuggestionCard(Sample());
  json attachment = json::parse(AdaptiveCardAttachment(card));
  CHECK(attachment["contentType"] == "application/vnd.microsoft.card.adaptive");
  CHECK(attachment["content"] == json::parse(card));

  json with_card = json::parse(InvokeCardResponse(card));
  CHECK(with_card["statusCode"] == 200);
  CHECK(with_card["type"] == "application/vnd.microsoft.card.adaptive");
  CHECK(with_card["value"]["type"] == "AdaptiveCard");

  CHECK(json::parse(InvokeMessageResponse("Approved and posted.")) ==
        json{{"statusCode", 200},
             {"type", "application/vnd.microsoft.activity.message"},
             {"value", "Approved and posted."}});
  CHECK(json::parse(InvokeErrorResponse(400, "BadRequest", "unknown suggestion")) ==
        json{{"statusCode", 400},
             {"type", "application/vnd.microsoft.error"},
             {"value", {{"code", "BadRequest"}, {"message", "unknown suggestion"}}}});
}
