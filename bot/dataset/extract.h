// Ticket -> one raw (cleaned, not yet redacted) question/answer pair.
//
// The rule for multi-message tickets:
//   * Only resolved tickets (Ticket::resolved, the source adapter's verdict)
//     give a pair; others are dropped as "not_resolved".
//   * Internal notes (is_public == false) are ignored entirely: never part of
//     a question, never an answer. System messages are ignored too.
//   * ANSWER = the agent's LAST SUBSTANTIVE public reply, cleaned. A reply is
//     substantive when its cleaned text has at least
//     `min_substantive_answer_chars` characters and is not just a closing
//     acknowledgement ("Glad it works now, closing the ticket.", "You're
//     welcome!"). Why the last and not a concatenation: in help-desk threads
//     the last real reply is the one that resolved the ticket; earlier replies
//     are often questions back to the requester or attempts that did not work,
//     and concatenating them teaches the model to answer with a transcript.
//     When no reply is substantive, the longest cleaned public agent reply is
//     used (and the quality filters decide). No public agent reply at all:
//     dropped as "no_public_agent_reply".
//   * QUESTION = the cleaned subject (reply prefixes and ticket tags removed;
//     left out when generic such as "Help" or when the first message already
//     starts with it) followed by every public requester message before the
//     chosen answer: the opening message(s) and the follow-ups that clarify
//     (answers to the agent's questions, "still failing after a reboot").
//     Requester messages after the answer ("Thanks, that worked!") are not
//     part of it. Parts are joined by a blank line. Nothing left: dropped as
//     "no_question".
//   * created_at = the ticket's creation time (else its first message's).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "bot/core/types.h"
#include "bot/dataset/clean.h"
#include "bot/dataset/redact.h"

namespace deskbot::dataset {

struct ExtractOptions {
  CleanOptions clean;
  size_t min_substantive_answer_chars = 40;
};

struct RawPair {
  Pair pair;             // question/answer cleaned, NOT redacted
  Requester requester;   // whose name to redact
};

struct ExtractResult {
  std::optional<RawPair> pair;
  std::string_view drop_reason;  // set when pair is empty
};

inline constexpr std::string_view kDropNotResolved = "not_resolved";
inline constexpr std::string_view kDropNoAgentReply = "no_public_agent_reply";
inline constexpr std::string_view kDropNoQuestion = "no_question";

ExtractResult ExtractPair(const Ticket& ticket, const ExtractOptions& options = {});

// A short closing acknowledgement rather than an answer.
bool IsClosingAcknowledgement(std::string_view cleaned_reply);

}  // namespace deskbot::dataset
