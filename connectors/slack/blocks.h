// Block Kit builders for the messages and modals of a suggest-then-review
// flow: a suggested answer with Approve / Edit / Reject buttons, the message
// it becomes once decided, and the modals to edit it or give a reject reason.
//
// Everything user-provided is mrkdwn-escaped (&, <, >) so ticket text cannot
// ping @channel or forge links, and Slack's limits are respected (3000 chars
// per section text, 50 blocks per message, 2000 chars per button value).
// Output is JSON text ready for chat.postMessage / chat.update / views.open.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

namespace slack {

// Slack's limits (docs.slack.dev "Block Kit" reference; marked "check" in
// the protocol notes, so they are constants in one place).
inline constexpr size_t kMaxSectionText = 3000;
inline constexpr size_t kMaxBlocksPerMessage = 50;
inline constexpr size_t kMaxButtonValue = 2000;
inline constexpr size_t kMaxTextInput = 3000;
inline constexpr size_t kMaxPrivateMetadata = 3000;
// How many sections a long answer may span before it is truncated.
inline constexpr size_t kMaxAnswerSections = 5;

// action_id values of the three buttons (route block_actions on these).
inline constexpr char kApproveAction[] = "approve";
inline constexpr char kEditAction[] = "edit";
inline constexpr char kRejectAction[] = "reject";
// callback_id of the modals and block_id/action_id of their inputs, for
// reading view_submission state: state[kEditInputBlock][kEditInputAction].
inline constexpr char kEditModalCallback[] = "suggestion_edit";
inline constexpr char kRejectModalCallback[] = "suggestion_reject";
inline constexpr char kEditInputBlock[] = "answer";
inline constexpr char kEditInputAction[] = "answer_text";
inline constexpr char kRejectInputBlock[] = "reason";
inline constexpr char kRejectInputAction[] = "reason_text";

// &, <, > become &amp; &lt; &gt; (the only escaping Slack mrkdwn needs).
std::string EscapeMrkdwn(std::string_view text);

// Cuts `text` to at most `max_chars` characters (Unicode code points, as
// Slack counts), preferring a paragraph, line or word break near the end and
// never splitting a UTF-8 sequence or an &entity;. Appends `ellipsis` when
// cut (counted in the limit).
std::string TruncateText(std::string_view text, size_t max_chars,
                         std::string_view ellipsis = "\xE2\x80\xA6");

// Number of code points in UTF-8 text.
size_t CountChars(std::string_view utf8);

struct SourceLink {
  std::string label;  // "#42"
  std::string url;    // may be empty: label only
};

struct Suggestion {
  std::string id;         // carried in the buttons' value; looked up server-side
  std::string answer;     // plain text; escaped here
  double confidence = 0;  // 0..1
  std::vector<SourceLink> sources;
  std::string heading = "Suggested answer";
};

struct BlockMessage {
  std::string text;         // notification / fallback text
  std::string blocks_json;  // JSON array of blocks
};

// The suggestion with Approve / Edit / Reject buttons. Fails on an empty id or
// one longer than a button value allows.
util::Result<BlockMessage> SuggestionMessage(const Suggestion& s);

struct Decision {
  std::string verb;        // "Approved", "Edited", "Rejected"
  std::string user_id;     // who decided ("U123")
  int64_t unix_time = 0;   // when
  std::string final_text;  // the answer as sent (empty: the suggestion's answer)
  std::string note;        // e.g. the reject reason (optional)
};

// The suggestion after a decision: the text, "Approved by <@U1> at <date>"
// and no buttons, so nobody decides twice.
util::Result<BlockMessage> DecidedMessage(const Suggestion& s, const Decision& d);

// views.open `view` objects. private_metadata carries the suggestion id.
util::Result<std::string> EditModal(std::string_view suggestion_id, std::string_view text);
util::Result<std::string> RejectReasonModal(std::string_view suggestion_id);

// Checks a blocks array the way Slack would reject it (invalid_blocks):
// an array of 1..50 objects with a known "type", section texts within 3000
// chars, unique action/block ids. For the fake Slack and for self-checks.
util::Status ValidateBlocks(std::string_view blocks_json, size_t max_blocks = kMaxBlocksPerMessage);

}  // namespace slack
