#include "connectors/teams/cards.h"

#include <cmath>
#include <ctime>

#include <nlohmann/json.hpp>

#include "connectors/teams/json_fields.h"

namespace teams {
namespace {

using nlohmann::json;
using internal::Dump;

// Cuts at a UTF-8 character boundary so the card stays valid UTF-8.
std::string Truncated(const std::string& text, size_t max = kMaxCardTextBytes) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (uint8_t(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "\n[truncated]";
}

// Adaptive Card TextBlocks render a subset of markdown; brackets in a title
// would break a [title](url) link.
std::string EscapeLinkText(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

json Card(json body, json actions = json::array()) {
  json card = {{"type", "AdaptiveCard"},
               {"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
               {"version", "1.5"},  // Action.Execute needs 1.4+
               {"body", std::move(body)}};
  if (!actions.empty()) card["actions"] = std::move(actions);
  return card;
}

json TextBlock(const std::string& text, json extra = json::object()) {
  json block = {{"type", "TextBlock"}, {"text", text}, {"wrap", true}};
  block.update(extra);
  return block;
}

json Execute(const std::string& title, const char* verb, const std::string& id,
             const char* style = nullptr) {
  json action = {{"type", "Action.Execute"},
                 {"title", title},
                 {"verb", verb},
                 {"data", {{kDataSuggestionId, id}}}};
  if (style) action["style"] = style;
  return action;
}

json ShowCard(const std::string& title, json body, json action) {
  return {{"type", "Action.ShowCard"},
          {"title", title},
          {"card", {{"type", "AdaptiveCard"},
                    {"body", std::move(body)},
                    {"actions", json::array({std::move(action)})}}}};
}

std::string SourcesMarkdown(const std::vector<CardSource>& sources) {
  std::string lines;
  for (const CardSource& s : sources) {
    if (!lines.empty()) lines += "\n";
    lines += "- ";
    lines += s.url.empty() ? s.title : "[" + EscapeLinkText(s.title) + "](" + s.url + ")";
  }
  return lines;
}

std::string FormatUtc(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

std::string CapitalizeFirst(std::string word) {
  if (!word.empty() && word[0] >= 'a' && word[0] <= 'z') word[0] = char(word[0] - 'a' + 'A');
  return word;
}

std::string SuggestionCard(const SuggestionCardData& d) {
  json body = json::array();
  if (!d.question.empty()) {
    body.push_back(TextBlock(Truncated(d.question, 2000), {{"isSubtle", true}}));
  }
  body.push_back(TextBlock("Suggested answer", {{"weight", "Bolder"}}));
  body.push_back(TextBlock(Truncated(d.text)));
  double clamped = std::fmin(std::fmax(d.confidence, 0.0), 1.0);
  int percent = int(std::lround(clamped * 100));
  body.push_back(TextBlock("Confidence: " + std::to_string(percent) + "%",
                           {{"isSubtle", true}, {"spacing", "Small"}}));
  if (!d.sources.empty()) {
    body.push_back(TextBlock("Sources", {{"weight", "Bolder"}, {"spacing", "Medium"}}));
    body.push_back(TextBlock(SourcesMarkdown(d.sources)));
  }

  json edit_form = json::array({
      {{"type", "Input.Text"},
       {"id", kInputEditedText},
       {"isMultiline", true},
       {"value", Truncated(d.text)},
       {"label", "Edit the answer before it is sent"}},
  });
  json reject_form = json::array({
      {{"type", "Input.Text"},
       {"id", kInputRejectReason},
       {"isMultiline", true},
       {"placeholder", "What is wrong with this answer?"},
       {"label", "Reason"}},
  });
  json actions = json::array({
      Execute("Approve", kVerbApprove, d.suggestion_id, "positive"),
      ShowCard("Edit", std::move(edit_form), Execute("Send edited", kVerbEdit, d.suggestion_id)),
      ShowCard("Reject", std::move(reject_form),
               Execute("Reject", kVerbReject, d.suggestion_id, "destructive")),
  });
  return Dump(Card(std::move(body), std::move(actions)));
}

std::string DecidedCard(const DecidedCardData& d) {
  json body = json::array();
  std::string who = d.decided_by.empty() ? "someone" : d.decided_by;
  body.push_back(TextBlock(CapitalizeFirst(d.decision) + " by " + who + " at " +
                               FormatUtc(d.decided_at),
                           {{"weight", "Bolder"}}));
  if (!d.text.empty()) body.push_back(TextBlock(Truncated(d.text)));
  if (!d.reason.empty()) body.push_back(TextBlock("Reason: " + Truncated(d.reason, 2000)));
  return Dump(Card(std::move(body)));
}

std::string AdaptiveCardAttachment(const std::string& card_json) {
  json attachment = {{"contentType", kAdaptiveCardContentType},
                     {"content", json::parse(card_json, nullptr, false)}};
  return Dump(attachment);
}

std::string InvokeCardResponse(const std::string& card_json) {
  return Dump(json{{"statusCode", 200},
              {"type", kAdaptiveCardContentType},
              {"value", json::parse(card_json, nullptr, false)}});
}

std::string InvokeMessageResponse(const std::string& text) {
  return Dump(json{{"statusCode", 200},
              {"type", "application/vnd.microsoft.activity.message"},
              {"value", text}});
}

std::string InvokeErrorResponse(int status_code, const std::string& code,
                                const std::string& message) {
  return Dump(json{{"statusCode", status_code},
              {"type", "application/vnd.microsoft.error"},
              {"value", {{"code", code}, {"message", message}}}});
}

}  // namespace teams
