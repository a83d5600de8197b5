// Bot Framework activities as Teams sends them to a bot's messaging endpoint.
//
// ParseActivity reads the JSON body of one inbound activity (message, invoke,
// conversationUpdate, messageReaction, ...) into plain structs. Only what a
// bot acts on is extracted; `value` payloads are kept as JSON text and, for
// convenience, as a flat map of their top-level scalar fields.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

namespace teams {

enum class ConversationType { kUnknown, kPersonal, kGroupChat, kChannel };

struct ChannelAccount {
  std::string id;             // "29:..." for users, "28:<app id>" for bots
  std::string name;
  std::string aad_object_id;  // the stable Entra (Azure AD) user id; use it for permissions
};

struct ConversationAccount {
  std::string id;  // channel threads: "19:...@thread.tacv2;messageid=<root>"
  ConversationType type = ConversationType::kUnknown;
  std::string type_name;  // as sent: "personal", "groupChat", "channel"
  bool is_group = false;
  std::string tenant_id;
  std::string name;
};

// An entities[] item of type "mention".
struct Mention {
  std::string id;    // mentioned.id
  std::string name;  // mentioned.name
  std::string text;  // the markup inside `text`, e.g. "<at>Help Bot</at>"
};

// The `value.action` of an `invoke` named "adaptiveCard/action" (a click on
// an Action.Execute button).
struct ExecuteAction {
  std::string verb;       // may be empty: Action.Execute without a verb
  std::string action_id;  // action.id, when the card gave one
  std::string title;
  std::string data_json = "{}";              // action.data with the card's inputs merged in
  std::map<std::string, std::string> data;   // its top-level scalar fields as text
  std::string trigger;                       // "manual" | "automatic" (refresh)
};

struct Activity {
  std::string type;  // "message", "invoke", "conversationUpdate", ...
  std::string id;    // with conversation.id, the dedupe key
  std::string name;  // invoke name, e.g. "adaptiveCard/action"
  std::string channel_id;   // "msteams"
  std::string service_url;  // where replies go (trust only after authentication)
  std::string timestamp;
  std::string locale;
  ChannelAccount from;
  ChannelAccount recipient;  // the bot
  ConversationAccount conversation;
  std::string tenant_id;         // conversation.tenantId, else channelData.tenant.id
  std::string team_id;           // channelData.team.id (channel conversations)
  std::string teams_channel_id;  // channelData.channel.id (channel conversations)
  std::string text;              // as sent, mention markup included
  std::string text_format;       // "plain", "markdown", "xml"
  std::string reply_to_id;
  std::vector<Mention> mentions;
  // `value`: Action.Submit data merged with the card's inputs for messages,
  // the invoke payload for invokes. "" when absent.
  std::string value_json;
  std::map<std::string, std::string> value;  // top-level scalar fields of `value`
  std::optional<ExecuteAction> execute;      // set for adaptiveCard/action invokes

  bool IsMessage() const { return type == "message"; }
  // Action.Submit arrives as a message with a value and no text: not a question.
  bool IsCardSubmit() const { return IsMessage() && !value_json.empty() && text.empty(); }
  bool IsExecuteAction() const { return execute.has_value(); }
};

// Parses one activity. Malformed JSON, a non-object, a missing `type`, or a
// message/invoke without conversation.id or serviceUrl are InvalidArgument
// errors that say what is wrong (never echoing the body).
util::Result<Activity> ParseActivity(std::string_view json);

// The activity's text with the bot's own mention removed (mentions whose id
// is `bot_id`, or recipient.id when `bot_id` is empty), other mentions
// reduced to the person's name, a few HTML entities decoded and the ends
// trimmed: "<at>Help Bot</at> how do I reset VPN?" -> "how do I reset VPN?".
// Uses the mention entities, never guesses from names.
std::string TextWithoutBotMention(const Activity& activity, std::string_view bot_id = {});

ConversationType ParseConversationType(std::string_view name);

}  // namespace teams
