// Adaptive Cards for Teams and the invoke answers Action.Execute requires.
//
// The suggestion card shows a proposed answer with its confidence and
// sources and three Universal Actions (Action.Execute):
//   Approve                      verb "approve"
//   Edit   -> shows a multiline Input.Text "editedText" prefilled with the
//             suggestion and a "Send edited" button, verb "edit"
//   Reject -> shows an Input.Text "rejectReason" and a "Reject" button,
//             verb "reject"
// Every action's data is {"suggestionId": <id>}; Teams merges the inputs into
// it, so an "edit" click arrives as {"suggestionId":..., "editedText":...}.
//
// Builders return JSON text: the card itself (an AdaptiveCard object), which
// AdaptiveCardAttachment wraps for a message and InvokeCardResponse wraps
// for an invoke answer.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace teams {

inline constexpr char kVerbApprove[] = "approve";
inline constexpr char kVerbEdit[] = "edit";
inline constexpr char kVerbReject[] = "reject";
inline constexpr char kDataSuggestionId[] = "suggestionId";
inline constexpr char kInputEditedText[] = "editedText";
inline constexpr char kInputRejectReason[] = "rejectReason";
inline constexpr char kAdaptiveCardContentType[] = "application/vnd.microsoft.card.adaptive";

// Teams refuses cards over ~28 KB, so long texts are cut (at a UTF-8
// boundary) to this many bytes with a "[truncated]" note.
inline constexpr size_t kMaxCardTextBytes = 10000;

struct CardSource {
  std::string title;  // "#4211 VPN drops every hour"
  std::string url;    // may be empty
};

struct SuggestionCardData {
  std::string suggestion_id;
  std::string question;    // optional: shown above the answer
  std::string text;        // the suggested answer
  double confidence = 0;   // 0..1, shown as a percentage
  std::vector<CardSource> sources;
};

std::string SuggestionCard(const SuggestionCardData& data);

struct DecidedCardData {
  std::string suggestion_id;
  std::string decision;    // "approved", "edited", "rejected" (any verb-like word)
  std::string decided_by;  // display name
  std::chrono::system_clock::time_point decided_at;
  std::string text;        // the answer that was sent (approved/edited), optional
  std::string reason;      // why it was rejected, optional
};

// "Approved by Alice at 2026-01-07 06:04 UTC", plus the final text or the
// reason. No actions: the decision is final.
std::string DecidedCard(const DecidedCardData& data);

// {"contentType":"application/vnd.microsoft.card.adaptive","content":<card>}
std::string AdaptiveCardAttachment(const std::string& card_json);

// Bodies for the HTTP response to an adaptiveCard/action invoke (always sent
// with HTTP status 200; the outcome is in statusCode).
// Replaces the card for the user who clicked.
std::string InvokeCardResponse(const std::string& card_json);
// Shows a short message instead.
std::string InvokeMessageResponse(const std::string& text);
// An error the client shows: status_code 400..599, code e.g. "BadRequest".
std::string InvokeErrorResponse(int status_code, const std::string& code,
                                const std::string& message);

// "Approved" for "approved", "Edited" for "edited"...
std::string CapitalizeFirst(std::string word);

}  // namespace teams
