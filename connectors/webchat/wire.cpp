#include "connectors/webchat/wire.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <random>

namespace webchat {
namespace {

using nlohmann::json;
using util::Status;

util::Result<json> ParseObject(std::string_view body, const char* what) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + ": malformed JSON");
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + ": expected a JSON object");
  return j;
}

// A string field: "" when absent; an error when present but not a string or too long.
Status StringField(const json& j, const char* name, std::size_t max, std::string* out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return Status::OK();
  if (!it->is_string()) return Status::InvalidArgument(std::string("'") + name + "' must be a string");
  *out = it->get<std::string>();
  if (out->size() > max)
    return Status::InvalidArgument(std::string("'") + name + "' is longer than " +
                                   std::to_string(max) + " bytes");
  return Status::OK();
}

Status IdField(const json& j, const char* name, std::string* out) {
  DESK_RETURN_IF_ERROR(StringField(j, name, kMaxIdBytes, out));
  if (!out->empty() && !IsValidId(*out))
    return Status::InvalidArgument(std::string("'") + name +
                                   "' may only hold letters, digits and _ . @ -");
  return Status::OK();
}

bool IsBlank(const std::string& s) {
  for (unsigned char c : s)
    if (!std::isspace(c)) return false;
  return true;
}

}  // namespace

bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (unsigned char c : id)
    if (!(std::isalnum(c) || c == '_' || c == '.' || c == '@' || c == '-')) return false;
  return true;
}

std::string RandomId(std::string_view prefix) {
  static thread_local std::mt19937_64 gen([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  static const char* kHex = "0123456789abcdef";
  std::string id(prefix);
  for (int i = 0; i < 2; ++i) {
    std::uint64_t v = gen();
    for (int k = 0; k < 16; ++k) {
      id += kHex[v & 0xf];
      v >>= 4;
    }
  }
  return id;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

util::Result<Ask> ParseAsk(std::string_view body) {
  auto j = ParseObject(body, "question");
  if (!j.ok()) return j.status();
  Ask a;
  DESK_RETURN_IF_ERROR(StringField(*j, "text", kMaxTextBytes, &a.text).WithContext("question"));
  DESK_RETURN_IF_ERROR(IdField(*j, "user", &a.user).WithContext("question"));
  DESK_RETURN_IF_ERROR(IdField(*j, "conversation", &a.conversation).WithContext("question"));
  DESK_RETURN_IF_ERROR(IdField(*j, "client_id", &a.client_id).WithContext("question"));
  if (IsBlank(a.text)) return Status::InvalidArgument("question: 'text' is empty");
  return a;
}

util::Result<Decision> ParseDecision(std::string_view body, std::int64_t suggestion_id) {
  auto j = ParseObject(body, "verdict");
  if (!j.ok()) return j.status();
  Decision d;
  d.suggestion_id = suggestion_id;
  DESK_RETURN_IF_ERROR(IdField(*j, "agent", &d.agent).WithContext("verdict"));
  DESK_RETURN_IF_ERROR(StringField(*j, "action", 16, &d.action).WithContext("verdict"));
  DESK_RETURN_IF_ERROR(StringField(*j, "text", kMaxTextBytes, &d.text).WithContext("verdict"));
  DESK_RETURN_IF_ERROR(StringField(*j, "reason", 2000, &d.reason).WithContext("verdict"));
  DESK_RETURN_IF_ERROR(IdField(*j, "client_id", &d.client_id).WithContext("verdict"));
  if (d.agent.empty()) return Status::InvalidArgument("verdict: 'agent' is required");
  if (d.action != "approve" && d.action != "edit" && d.action != "reject")
    return Status::InvalidArgument("verdict: 'action' must be approve, edit or reject");
  if (d.action == "edit" && IsBlank(d.text))
    return Status::InvalidArgument("verdict: an edit needs the edited 'text'");
  return d;
}

std::string EncodeEvent(const Event& e) {
  if (e.type == Event::Type::kAsk)
    return json{{"type", "ask"},           {"conversation", e.conversation}, {"user", e.user},
                {"text", e.text},          {"message_id", e.message_id},     {"sent_at", e.sent_at}}
        .dump();
  const Decision& d = e.decision;
  return json{{"type", "decision"}, {"suggestion_id", d.suggestion_id}, {"agent", d.agent},
              {"action", d.action}, {"text", d.text},                   {"reason", d.reason},
              {"client_id", d.client_id}}
      .dump();
}

util::Result<Event> DecodeEvent(std::string_view payload) {
  auto j = ParseObject(payload, "web chat event");
  if (!j.ok()) return j.status();
  try {
    Event e;
    const std::string type = j->value("type", "");
    if (type == "ask") {
      e.type = Event::Type::kAsk;
      e.conversation = j->value("conversation", "");
      e.user = j->value("user", "");
      e.text = j->value("text", "");
      e.message_id = j->value("message_id", "");
      e.sent_at = j->value("sent_at", std::int64_t{0});
    } else if (type == "decision") {
      e.type = Event::Type::kDecision;
      Decision& d = e.decision;
      d.suggestion_id = j->value("suggestion_id", std::int64_t{0});
      d.agent = j->value("agent", "");
      d.action = j->value("action", "");
      d.text = j->value("text", "");
      d.reason = j->value("reason", "");
      d.client_id = j->value("client_id", "");
    } else {
      return Status::InvalidArgument("web chat event: unknown type '" + type + "'");
    }
    return e;
  } catch (const json::exception& ex) {
    return Status::InvalidArgument(std::string("web chat event: ") + ex.what());
  }
}

}  // namespace webchat
