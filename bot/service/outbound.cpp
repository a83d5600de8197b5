#include "bot/service/outbound.h"

#include <nlohmann/json.hpp>

namespace deskbot::service {
namespace {

using nlohmann::json;

json QuestionJson(const Question& q) {
  return {{"id", q.id},           {"connector", q.connector}, {"conversation", q.conversation},
          {"thread", q.thread},   {"message_id", q.message_id}, {"asker", q.asker},
          {"text", q.text},       {"asked_at", q.asked_at}};
}

Question QuestionFrom(const json& j) {
  Question q;
  q.id = j.value("id", std::int64_t{0});
  q.connector = j.value("connector", "");
  q.conversation = j.value("conversation", "");
  q.thread = j.value("thread", "");
  q.message_id = j.value("message_id", "");
  q.asker = j.value("asker", "");
  q.text = j.value("text", "");
  q.asked_at = j.value("asked_at", std::int64_t{0});
  q.dedupe_key = QuestionDedupeKey(q.connector, q.conversation, q.message_id);
  return q;
}

json PostJson(const SuggestionPost& p) {
  json sources = json::array();
  for (const SourceRef& s : p.sources)
    sources.push_back({{"source", s.source},
                       {"ticket", s.ticket_external_id},
                       {"question", s.question},
                       {"score", s.score}});
  return {{"suggestion_id", p.suggestion_id}, {"question", QuestionJson(p.question)},
          {"text", p.text},                   {"confidence", p.confidence},
          {"abstained", p.abstained},         {"sources", std::move(sources)},
          {"model_version", p.model_version}};
}

SuggestionPost PostFrom(const json& j) {
  SuggestionPost p;
  p.suggestion_id = j.value("suggestion_id", std::int64_t{0});
  if (j.contains("question") && j["question"].is_object()) p.question = QuestionFrom(j["question"]);
  p.text = j.value("text", "");
  p.confidence = j.value("confidence", 0.0);
  p.abstained = j.value("abstained", false);
  p.model_version = j.value("model_version", "");
  if (j.contains("sources") && j["sources"].is_array()) {
    for (const json& s : j["sources"]) {
      if (!s.is_object()) continue;
      p.sources.push_back({s.value("source", ""), s.value("ticket", ""), s.value("question", ""),
                           s.value("score", 0.0)});
    }
  }
  return p;
}

// Parses a stored payload; stored payloads are ours, so a failure means the
// row was damaged or written by another version.
util::Result<json> Parse(const std::string& payload, const char* what) {
  json j = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    return util::Status::Corruption(std::string("outbox ") + what + " payload is not a JSON object");
  return j;
}

}  // namespace

std::string EncodeSuggestionPost(const SuggestionPost& post, std::int64_t received_ms) {
  json j = PostJson(post);
  j["received_ms"] = received_ms;
  return j.dump();
}

util::Result<SuggestionPost> DecodeSuggestionPost(const std::string& payload,
                                                  std::int64_t* received_ms) {
  auto j = Parse(payload, "suggestion");
  if (!j.ok()) return j.status();
  try {
    if (received_ms != nullptr) *received_ms = j->value("received_ms", std::int64_t{0});
    return PostFrom(*j);
  } catch (const json::exception& e) {
    return util::Status::Corruption(std::string("outbox suggestion payload: ") + e.what());
  }
}

std::string EncodeSuggestionUpdate(const SuggestionUpdate& u) {
  return json{{"suggestion", PostJson(u.suggestion)},
              {"state", SuggestionStateName(u.state)},
              {"decided_by", u.decided_by},
              {"final_text", u.final_text},
              {"reason", u.reason}}
      .dump();
}

util::Result<SuggestionUpdate> DecodeSuggestionUpdate(const std::string& payload) {
  auto j = Parse(payload, "suggestion update");
  if (!j.ok()) return j.status();
  try {
    SuggestionUpdate u;
    if (j->contains("suggestion") && (*j)["suggestion"].is_object())
      u.suggestion = PostFrom((*j)["suggestion"]);
    std::string state = j->value("state", "");
    auto parsed = ParseSuggestionState(state);
    if (!parsed) return util::Status::Corruption("outbox suggestion update: unknown state '" + state + "'");
    u.state = *parsed;
    u.decided_by = j->value("decided_by", "");
    u.final_text = j->value("final_text", "");
    u.reason = j->value("reason", "");
    return u;
  } catch (const json::exception& e) {
    return util::Status::Corruption(std::string("outbox suggestion update payload: ") + e.what());
  }
}

std::string EncodeChatPost(const ChatPost& p) {
  return json{{"target",
               {{"conversation", p.target.conversation},
                {"thread", p.target.thread},
                {"user", p.target.user},
                {"reply_token", p.target.reply_token}}},
              {"text", p.text},
              {"question_id", p.question_id},
              {"suggestion_id", p.suggestion_id}}
      .dump();
}

util::Result<ChatPost> DecodeChatPost(const std::string& payload) {
  auto j = Parse(payload, "message");
  if (!j.ok()) return j.status();
  try {
    ChatPost p;
    if (j->contains("target") && (*j)["target"].is_object()) {
      const json& t = (*j)["target"];
      p.target.conversation = t.value("conversation", "");
      p.target.thread = t.value("thread", "");
      p.target.user = t.value("user", "");
      p.target.reply_token = t.value("reply_token", "");
    }
    p.text = j->value("text", "");
    p.question_id = j->value("question_id", std::int64_t{0});
    p.suggestion_id = j->value("suggestion_id", std::int64_t{0});
    return p;
  } catch (const json::exception& e) {
    return util::Status::Corruption(std::string("outbox message payload: ") + e.what());
  }
}

}  // namespace deskbot::service
