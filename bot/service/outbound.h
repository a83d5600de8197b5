// The JSON payloads of outbox rows: the workflow writes them, the outbox
// sender reads them back and calls the connector. Stored JSON (rather than a
// column per field) keeps one outbox table for every kind of message.
#pragma once

#include <cstdint>
#include <string>

#include "bot/core/chat.h"
#include "connectors/util/status.h"

namespace deskbot::service {

// kSuggestion. `received_ms` (when the question arrived) lets the sender
// measure the time until agents see the suggestion.
std::string EncodeSuggestionPost(const SuggestionPost& post, std::int64_t received_ms);
util::Result<SuggestionPost> DecodeSuggestionPost(const std::string& payload,
                                                  std::int64_t* received_ms = nullptr);

// kSuggestionUpdate. message_ref is not stored: it is the result of the row
// the update depends on (OutboxRow::depends_on_ref).
std::string EncodeSuggestionUpdate(const SuggestionUpdate& update);
util::Result<SuggestionUpdate> DecodeSuggestionUpdate(const std::string& payload);

// kAnswer, kNotice, kRefusal.
std::string EncodeChatPost(const ChatPost& post);
util::Result<ChatPost> DecodeChatPost(const std::string& payload);

}  // namespace deskbot::service
