#include "connectors/slack/blocks.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

namespace slack {

using json = nlohmann::json;
using util::Result;
using util::Status;

namespace {

bool IsContinuationByte(unsigned char c) { return (c & 0xC0) == 0x80; }

// Byte offset just past the first `n` code points of `text` (or its size).
size_t OffsetOfChar(std::string_view text, size_t n) {
  size_t i = 0;
  while (i < text.size() && n > 0) {
    ++i;
    while (i < text.size() && IsContinuationByte(static_cast<unsigned char>(text[i]))) ++i;
    --n;
  }
  return i;
}

// Where to cut `text` so at most `max_chars` code points stay: at a paragraph,
// line or word break in the last fifth (or last 20 bytes) if there is one, never inside a UTF-8
// sequence or an HTML entity.
size_t BreakPoint(std::string_view text, size_t max_chars) {
  size_t cut = OffsetOfChar(text, max_chars);
  if (cut >= text.size()) return text.size();
  size_t window = std::min(cut, std::max<size_t>(20, cut / 5));
  size_t floor = cut > window ? cut - window : 0;
  for (std::string_view sep : {"\n\n", "\n", " "}) {
    if (cut < sep.size()) continue;
    size_t at = text.rfind(sep, cut - sep.size());
    if (at != std::string_view::npos && at > floor) return at;
  }
  size_t amp = text.rfind('&', cut - 1);
  if (amp != std::string_view::npos && cut - amp < 8 &&
      text.find(';', amp) >= cut) {
    return amp;  // "&amp;" would be cut in half
  }
  return cut;
}

std::string TrimRight(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

std::string TrimLeft(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return std::string(s.substr(i));
}

json PlainText(std::string_view text) {
  return {{"type", "plain_text"}, {"text", std::string(text)}, {"emoji", true}};
}

json Mrkdwn(std::string_view text) { return {{"type", "mrkdwn"}, {"text", std::string(text)}}; }

json Section(std::string_view mrkdwn) { return {{"type", "section"}, {"text", Mrkdwn(mrkdwn)}}; }

// The answer as one or more sections, the first starting with `lead`.
json AnswerSections(std::string_view lead, std::string_view answer) {
  json blocks = json::array();
  std::string rest = EscapeMrkdwn(answer);
  if (rest.empty()) rest = "_(empty)_";
  std::string prefix(lead);
  for (size_t n = 0; n < kMaxAnswerSections && !rest.empty(); ++n) {
    size_t budget = kMaxSectionText - CountChars(prefix);
    bool last = n + 1 == kMaxAnswerSections;
    if (CountChars(rest) <= budget) {
      blocks.push_back(Section(prefix + rest));
      break;
    }
    if (last) {
      blocks.push_back(Section(prefix + TruncateText(rest, budget, "\xE2\x80\xA6 _(truncated)_")));
      break;
    }
    size_t cut = BreakPoint(rest, budget);
    blocks.push_back(Section(prefix + TrimRight(rest.substr(0, cut))));
    rest = TrimLeft(std::string_view(rest).substr(cut));
    prefix.clear();
  }
  return blocks;
}

std::string SourcesLine(const std::vector<SourceLink>& sources) {
  if (sources.empty()) return "";
  std::string line = "Sources: ";
  size_t shown = 0;
  for (const auto& s : sources) {
    std::string label = EscapeMrkdwn(s.label);
    for (char& c : label) {
      if (c == '|') c = '/';  // '|' would end a link's URL part
    }
    std::string item = s.url.empty() ? label : "<" + EscapeMrkdwn(s.url) + "|" + label + ">";
    if (CountChars(line) + CountChars(item) > 1800) break;  // leave room in the context
    line += (shown ? ", " : "") + item;
    ++shown;
  }
  if (shown < sources.size()) line += " and " + std::to_string(sources.size() - shown) + " more";
  return line;
}

std::string ConfidenceText(double c) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "confidence %.2f", c);
  return buf;
}

json Button(const char* action_id, const char* label, const std::string& value, const char* style) {
  json b = {{"type", "button"}, {"action_id", action_id}, {"text", PlainText(label)}, {"value", value}};
  if (style) b["style"] = style;
  return b;
}

bool LooksLikeSlackId(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string IsoTime(int64_t unix_time) {
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

Status CheckSuggestionId(std::string_view id) {
  if (id.empty()) return Status::InvalidArgument("slack blocks: empty suggestion id");
  if (id.size() > kMaxButtonValue) {
    return Status::InvalidArgument("slack blocks: suggestion id longer than " +
                                   std::to_string(kMaxButtonValue) + " bytes");
  }
  return Status::OK();
}

}  // namespace

std::string EscapeMrkdwn(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

size_t CountChars(std::string_view utf8) {
  size_t n = 0;
  for (unsigned char c : utf8) {
    if (!IsContinuationByte(c)) ++n;
  }
  return n;
}

std::string TruncateText(std::string_view text, size_t max_chars, std::string_view ellipsis) {
  if (CountChars(text) <= max_chars) return std::string(text);
  size_t room = CountChars(ellipsis) < max_chars ? max_chars - CountChars(ellipsis) : 0;
  std::string kept = TrimRight(std::string(text.substr(0, BreakPoint(text, room))));
  return kept + std::string(ellipsis);
}

Result<BlockMessage> SuggestionMessage(const Suggestion& s) {
  DESK_RETURN_IF_ERROR(CheckSuggestionId(s.id));
  json blocks = AnswerSections("*" + EscapeMrkdwn(s.heading) + "*\n", s.answer);
  std::string context = ConfidenceText(s.confidence);
  if (std::string src = SourcesLine(s.sources); !src.empty()) context = src + "  \xE2\x80\xA2  " + context;
  blocks.push_back({{"type", "context"}, {"elements", json::array({Mrkdwn(context)})}});
  blocks.push_back({{"type", "actions"},
                    {"block_id", "suggestion_actions"},
                    {"elements", json::array({Button(kApproveAction, "Approve", s.id, "primary"),
                                              Button(kEditAction, "Edit", s.id, nullptr),
                                              Button(kRejectAction, "Reject", s.id, "danger")})}});
  BlockMessage m;
  // The fallback text shows in notifications, where <!channel> would ping too.
  m.text = EscapeMrkdwn(s.heading) + " (" + ConfidenceText(s.confidence) +
           "): " + TruncateText(EscapeMrkdwn(s.answer), 150);
  m.blocks_json = blocks.dump();
  return m;
}

Result<BlockMessage> DecidedMessage(const Suggestion& s, const Decision& d) {
  DESK_RETURN_IF_ERROR(CheckSuggestionId(s.id));
  if (!LooksLikeSlackId(d.user_id)) {
    return Status::InvalidArgument("slack blocks: decision user id is not a Slack id");
  }
  const std::string& text = d.final_text.empty() ? s.answer : d.final_text;
  json blocks = AnswerSections("*" + EscapeMrkdwn(s.heading) + "*\n", text);
  std::string when = "<!date^" + std::to_string(d.unix_time) +
                     "^{date_short_pretty} at {time}|" + IsoTime(d.unix_time) + ">";
  std::string line = EscapeMrkdwn(d.verb) + " by <@" + d.user_id + "> at " + when;
  json elements = json::array({Mrkdwn(line)});
  if (!d.note.empty()) elements.push_back(Mrkdwn(TruncateText(EscapeMrkdwn(d.note), 1000)));
  std::string context = SourcesLine(s.sources);
  if (!context.empty()) elements.push_back(Mrkdwn(context));
  blocks.push_back({{"type", "context"}, {"elements", elements}});
  BlockMessage m;
  m.text = EscapeMrkdwn(d.verb) + " by <@" + d.user_id + ">: " + TruncateText(EscapeMrkdwn(text), 150);
  m.blocks_json = blocks.dump();
  return m;
}

Result<std::string> EditModal(std::string_view suggestion_id, std::string_view text) {
  if (suggestion_id.empty() || suggestion_id.size() > kMaxPrivateMetadata) {
    return Status::InvalidArgument("slack blocks: suggestion id must be 1.." +
                                   std::to_string(kMaxPrivateMetadata) + " bytes");
  }
  json input = {{"type", "plain_text_input"},
                {"action_id", kEditInputAction},
                {"multiline", true},
                {"max_length", kMaxTextInput}};
  // plain_text: no escaping; Slack refuses an initial_value over max_length.
  if (!text.empty()) input["initial_value"] = TruncateText(text, kMaxTextInput);
  json view = {{"type", "modal"},
               {"callback_id", kEditModalCallback},
               {"private_metadata", std::string(suggestion_id)},
               {"title", PlainText("Edit answer")},
               {"submit", PlainText("Send")},
               {"close", PlainText("Cancel")},
               {"blocks", json::array({{{"type", "input"},
                                        {"block_id", kEditInputBlock},
                                        {"label", PlainText("Answer")},
                                        {"element", input}}})}};
  return view.dump();
}

Result<std::string> RejectReasonModal(std::string_view suggestion_id) {
  if (suggestion_id.empty() || suggestion_id.size() > kMaxPrivateMetadata) {
    return Status::InvalidArgument("slack blocks: suggestion id must be 1.." +
                                   std::to_string(kMaxPrivateMetadata) + " bytes");
  }
  json input = {{"type", "plain_text_input"},
                {"action_id", kRejectInputAction},
                {"multiline", true},
                {"max_length", kMaxTextInput},
                {"placeholder", PlainText("What was wrong? (helps the model learn)")}};
  json view = {{"type", "modal"},
               {"callback_id", kRejectModalCallback},
               {"private_metadata", std::string(suggestion_id)},
               {"title", PlainText("Reject answer")},
               {"submit", PlainText("Reject")},
               {"close", PlainText("Cancel")},
               {"blocks", json::array({{{"type", "input"},
                                        {"block_id", kRejectInputBlock},
                                        {"optional", true},
                                        {"label", PlainText("Reason")},
                                        {"element", input}}})}};
  return view.dump();
}

namespace {

Status CheckTextObject(const json& t, size_t max_chars, const std::string& where) {
  if (!t.is_object()) return Status::InvalidArgument(where + ": text must be an object");
  std::string type = t.value("type", "");
  if (type != "mrkdwn" && type != "plain_text") {
    return Status::InvalidArgument(where + ": text type must be mrkdwn or plain_text");
  }
  auto it = t.find("text");
  if (it == t.end() || !it->is_string() || it->get<std::string>().empty()) {
    return Status::InvalidArgument(where + ": text must be a non-empty string");
  }
  if (CountChars(it->get<std::string>()) > max_chars) {
    return Status::InvalidArgument(where + ": text longer than " + std::to_string(max_chars));
  }
  return Status::OK();
}

}  // namespace

Status ValidateBlocks(std::string_view blocks_json, size_t max_blocks) {
  json blocks = json::parse(blocks_json.begin(), blocks_json.end(), nullptr, false);
  if (blocks.is_discarded() || !blocks.is_array()) {
    return Status::InvalidArgument("blocks: not a JSON array");
  }
  if (blocks.empty() || blocks.size() > max_blocks) {
    return Status::InvalidArgument("blocks: must hold 1.." + std::to_string(max_blocks) + " blocks");
  }
  static const std::set<std::string> kTypes = {"section", "context", "actions", "divider", "header",
                                               "image",   "input",   "rich_text", "file",  "video"};
  std::set<std::string> block_ids, action_ids;
  for (size_t i = 0; i < blocks.size(); ++i) {
    const json& b = blocks[i];
    std::string where = "blocks[" + std::to_string(i) + "]";
    if (!b.is_object() || !b.contains("type") || !b["type"].is_string()) {
      return Status::InvalidArgument(where + ": missing type");
    }
    std::string type = b["type"].get<std::string>();
    if (!kTypes.count(type)) return Status::InvalidArgument(where + ": unknown type " + type);
    if (b.contains("block_id")) {
      std::string id = b["block_id"].is_string() ? b["block_id"].get<std::string>() : "";
      if (id.empty() || id.size() > 255 || !block_ids.insert(id).second) {
        return Status::InvalidArgument(where + ": block_id empty, too long or repeated");
      }
    }
    if (type == "section") {
      if (b.contains("text")) {
        DESK_RETURN_IF_ERROR(CheckTextObject(b["text"], kMaxSectionText, where));
      } else if (!b.contains("fields")) {
        return Status::InvalidArgument(where + ": section needs text or fields");
      }
    } else if (type == "header") {
      DESK_RETURN_IF_ERROR(CheckTextObject(b.value("text", json()), 150, where));
    } else if (type == "context" || type == "actions") {
      const json& el = b.contains("elements") ? b["elements"] : json();
      size_t max = type == "context" ? 10 : 25;
      if (!el.is_array() || el.empty() || el.size() > max) {
        return Status::InvalidArgument(where + ": elements must hold 1.." + std::to_string(max));
      }
      for (size_t k = 0; k < el.size(); ++k) {
        std::string ewhere = where + ".elements[" + std::to_string(k) + "]";
        if (type == "context") {
          if (el[k].value("type", "") != "image") {
            DESK_RETURN_IF_ERROR(CheckTextObject(el[k], kMaxSectionText, ewhere));
          }
          continue;
        }
        std::string aid = el[k].value("action_id", "");
        if (aid.empty() || aid.size() > 255 || !action_ids.insert(aid).second) {
          return Status::InvalidArgument(ewhere + ": action_id empty, too long or repeated");
        }
        if (el[k].value("type", "") == "button") {
          DESK_RETURN_IF_ERROR(CheckTextObject(el[k].value("text", json()), 75, ewhere));
          if (el[k].contains("value") &&
              (!el[k]["value"].is_string() || el[k]["value"].get<std::string>().size() > kMaxButtonValue)) {
            return Status::InvalidArgument(ewhere + ": value must be a string of at most 2000");
          }
        }
      }
    }
  }
  return Status::OK();
}

}  // namespace slack
