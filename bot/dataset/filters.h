// Quality filters on a redacted pair. Each rejection has a named reason so
// the build report can count them.
#pragma once

#include <cstddef>
#include <string_view>

namespace deskbot::dataset {

struct FilterOptions {
  size_t min_question_chars = 10;  // code points, after cleaning
  size_t min_answer_chars = 10;
};

inline constexpr std::string_view kDropEmptyQuestion = "empty_question";
inline constexpr std::string_view kDropEmptyAnswer = "empty_answer";
inline constexpr std::string_view kDropShortQuestion = "question_too_short";
inline constexpr std::string_view kDropShortAnswer = "answer_too_short";
inline constexpr std::string_view kDropAutoReply = "auto_reply";
inline constexpr std::string_view kDropDuplicateTicket = "closed_as_duplicate";
inline constexpr std::string_view kDropSameText = "answer_equals_question";

// Returns the reason to drop the pair, or an empty view to keep it. Checked in
// this order: empty question/answer, auto-reply (either side), closed as
// duplicate (answer), answer == question (ignoring case and spacing), too
// short.
std::string_view QualityProblem(std::string_view question, std::string_view answer,
                                const FilterOptions& options = {});

// "Out of office", "This is an automated message", "Automatische Antwort", ...
bool IsAutoReply(std::string_view text);
// "Closed as duplicate", "duplicate of #123", "merged into", ...
bool IsDuplicateClosure(std::string_view answer);
// The same on text already lower-cased (AsciiLowerCopy) and trimmed.
bool IsAutoReplyLower(std::string_view lower);
bool IsDuplicateClosureLower(std::string_view lower);

}  // namespace deskbot::dataset
