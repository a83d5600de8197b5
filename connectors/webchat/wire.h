// The web chat's wire format, in its own terms: what the page sends (a
// question, an agent's decision), and the event kept for each in the inbox.
// Parsing validates sizes and identifiers so nothing unbounded or odd reaches
// storage; everything else about meaning is left to the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/util/status.h"

namespace webchat {

inline constexpr std::size_t kMaxTextBytes = 8000;
inline constexpr std::size_t kMaxIdBytes = 64;

// POST /api/questions {"text": "...", "user": "...", "conversation": "c-...", "client_id": "..."}
struct Ask {
  std::string text;
  std::string user;          // "" -> the caller picks (an anonymous id)
  std::string conversation;  // "" -> a new conversation
  std::string client_id;     // the page's id for this message: a retried POST is one question
};
util::Result<Ask> ParseAsk(std::string_view body);

// POST /api/suggestions/{id}/verdict {"agent": "...", "action": "approve|edit|reject",
//                                     "text": "...", "reason": "...", "client_id": "..."}
struct Decision {
  std::int64_t suggestion_id = 0;
  std::string agent;
  std::string action;
  std::string text;
  std::string reason;
  std::string client_id;
};
util::Result<Decision> ParseDecision(std::string_view body, std::int64_t suggestion_id);

// What the inbox keeps for a web chat request.
struct Event {
  enum class Type { kAsk, kDecision } type = Type::kAsk;
  // kAsk
  std::string conversation;
  std::string user;
  std::string text;
  std::string message_id;
  std::int64_t sent_at = 0;   // Unix seconds
  // kDecision
  Decision decision;
};
std::string EncodeEvent(const Event& event);
util::Result<Event> DecodeEvent(std::string_view payload);

// Ids the page may choose (conversation, user, client ids): 1..64 of
// [A-Za-z0-9_.@-].
bool IsValidId(std::string_view id);
// A new random id, `prefix` + 32 hex digits.
std::string RandomId(std::string_view prefix);
// Compares without leaking where the first difference is.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace webchat
