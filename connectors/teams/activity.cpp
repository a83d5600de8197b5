#include "connectors/teams/activity.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "connectors/teams/json_fields.h"

namespace teams {
namespace {

using nlohmann::json;
using internal::Field;
using internal::ScalarText;
using internal::Str;

ChannelAccount ParseAccount(const json& obj) {
  return ChannelAccount{Str(obj, "id"), Str(obj, "name"), Str(obj, "aadObjectId")};
}

std::map<std::string, std::string> ScalarFields(const json& obj) {
  std::map<std::string, std::string> fields;
  if (!obj.is_object()) return fields;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it->is_string() || it->is_number() || it->is_boolean()) {
      fields[it.key()] = ScalarText(*it);
    }
  }
  return fields;
}

std::vector<Mention> ParseMentions(const json& entities) {
  std::vector<Mention> mentions;
  if (!entities.is_array()) return mentions;
  for (const json& e : entities) {
    if (Str(e, "type") != "mention") continue;
    const json& who = Field(e, "mentioned");
    mentions.push_back(Mention{Str(who, "id"), Str(who, "name"), Str(e, "text")});
  }
  return mentions;
}

util::Result<ExecuteAction> ParseExecute(const json& value) {
  const json& action = Field(value, "action");
  if (!action.is_object()) {
    return util::Status::InvalidArgument("activity: adaptiveCard/action invoke has no value.action");
  }
  ExecuteAction execute;
  execute.verb = Str(action, "verb");
  execute.action_id = Str(action, "id");
  execute.title = Str(action, "title");
  const json& data = Field(action, "data");
  if (data.is_object()) {
    execute.data_json = internal::Dump(data);
    execute.data = ScalarFields(data);
  }
  execute.trigger = Str(value, "trigger");
  return execute;
}

void ReplaceAll(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

// Removes every occurrence of `markup`; where that leaves two spaces side by
// side, one goes too ("a <at>B</at> c" -> "a c").
void RemoveAll(std::string& text, std::string_view markup) {
  if (markup.empty()) return;
  for (size_t pos = text.find(markup); pos != std::string::npos; pos = text.find(markup, pos)) {
    text.erase(pos, markup.size());
    if (pos > 0 && pos < text.size() && text[pos - 1] == ' ' && text[pos] == ' ') text.erase(pos, 1);
  }
}

// Inner text of "<at>Name</at>", or the markup itself when it is not that shape.
std::string MentionName(const Mention& m) {
  std::string_view t = m.text;
  if (t.size() >= 9 && t.substr(0, 4) == "<at>" && t.substr(t.size() - 5) == "</at>") {
    return std::string(t.substr(4, t.size() - 9));
  }
  return m.name.empty() ? std::string(t) : m.name;
}

std::string Trim(std::string text) {
  size_t begin = 0, end = text.size();
  while (begin < end && std::isspace(uint8_t(text[begin]))) ++begin;
  while (end > begin && std::isspace(uint8_t(text[end - 1]))) --end;
  return text.substr(begin, end - begin);
}

}  // namespace

ConversationType ParseConversationType(std::string_view name) {
  if (name == "personal") return ConversationType::kPersonal;
  if (name == "groupChat") return ConversationType::kGroupChat;
  if (name == "channel") return ConversationType::kChannel;
  return ConversationType::kUnknown;
}

util::Result<Activity> ParseActivity(std::string_view text) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    // e.what() quotes the bytes around the error; keep the body out of logs.
    return util::Status::InvalidArgument("activity: malformed JSON at byte " +
                                         std::to_string(e.byte));
  }
  if (!doc.is_object()) return util::Status::InvalidArgument("activity: not a JSON object");

  Activity a;
  a.type = Str(doc, "type");
  if (a.type.empty()) return util::Status::InvalidArgument("activity: no type");
  a.id = Str(doc, "id");
  a.name = Str(doc, "name");
  a.channel_id = Str(doc, "channelId");
  a.service_url = Str(doc, "serviceUrl");
  a.timestamp = Str(doc, "timestamp");
  a.locale = Str(doc, "locale");
  a.from = ParseAccount(Field(doc, "from"));
  a.recipient = ParseAccount(Field(doc, "recipient"));

  const json& conv = Field(doc, "conversation");
  a.conversation.id = Str(conv, "id");
  a.conversation.type_name = Str(conv, "conversationType");
  a.conversation.type = ParseConversationType(a.conversation.type_name);
  a.conversation.is_group = Field(conv, "isGroup").is_boolean() && Field(conv, "isGroup").get<bool>();
  a.conversation.tenant_id = Str(conv, "tenantId");
  a.conversation.name = Str(conv, "name");

  const json& channel_data = Field(doc, "channelData");
  a.tenant_id = a.conversation.tenant_id;
  if (a.tenant_id.empty()) a.tenant_id = Str(Field(channel_data, "tenant"), "id");
  a.team_id = Str(Field(channel_data, "team"), "id");
  a.teams_channel_id = Str(Field(channel_data, "channel"), "id");

  a.text = Str(doc, "text");
  a.text_format = Str(doc, "textFormat");
  a.reply_to_id = Str(doc, "replyToId");
  a.mentions = ParseMentions(Field(doc, "entities"));

  const json& value = Field(doc, "value");
  if (!value.is_null()) {
    a.value_json = internal::Dump(value);
    a.value = ScalarFields(value);
  }

  if (a.type == "message" || a.type == "invoke") {
    if (a.conversation.id.empty()) {
      return util::Status::InvalidArgument("activity: " + a.type + " has no conversation.id");
    }
    if (a.service_url.empty()) {
      return util::Status::InvalidArgument("activity: " + a.type + " has no serviceUrl");
    }
  }
  if (a.type == "invoke" && a.name == "adaptiveCard/action") {
    auto execute = ParseExecute(value);
    if (!execute.ok()) return execute.status();
    a.execute = std::move(*execute);
  }
  return a;
}

std::string TextWithoutBotMention(const Activity& activity, std::string_view bot_id) {
  if (bot_id.empty()) bot_id = activity.recipient.id;
  std::string text = activity.text;
  for (const Mention& m : activity.mentions) {
    if (!bot_id.empty() && m.id == bot_id) {
      RemoveAll(text, m.text);
    } else {
      ReplaceAll(text, m.text, MentionName(m));
    }
  }
  ReplaceAll(text, "&nbsp;", " ");
  ReplaceAll(text, "&lt;", "<");
  ReplaceAll(text, "&gt;", ">");
  ReplaceAll(text, "&quot;", "\"");
  ReplaceAll(text, "&#39;", "'");
  ReplaceAll(text, "&amp;", "&");  // last, so "&amp;lt;" stays "&lt;"
  return Trim(std::move(text));
}

}  // namespace teams
