// Parsing what Slack sends: Events API envelopes, interactivity payloads
// (buttons, modals), slash commands and Socket Mode frames.
//
// Every parser takes the raw text and returns a plain struct or a clear
// kInvalidArgument error; nothing here throws. Fields Slack leaves out stay
// empty. `ts` values stay strings (as doubles they lose precision).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

namespace slack {

// ---------------------------------------------------------------- Events API

struct Authorization {
  std::string user_id;  // the app's bot user in this workspace
  std::string team_id;
  std::string enterprise_id;
  bool is_bot = false;
};

// The inner `event` of an event_callback. Covers app_mention and message (with
// its subtypes); other event types keep type, user, ts and raw_json.
struct Event {
  std::string type;           // "app_mention", "message", "reaction_added", ...
  std::string subtype;        // "", "bot_message", "message_changed", "thread_broadcast", ...
  std::string user;
  std::string text;
  std::string ts;
  std::string thread_ts;      // set for thread replies (and parents with replies)
  std::string event_ts;
  std::string channel;
  std::string channel_type;   // "channel", "group", "im", "mpim"
  std::string bot_id;         // set for messages posted by bots (ours included)
  std::string app_id;
  std::string team;
  std::string client_msg_id;
  std::string parent_user_id;
  // message_changed: the edited message; message_deleted: deleted_ts.
  std::string edited_user;
  std::string edited_text;
  std::string edited_ts;
  std::string previous_text;
  std::string deleted_ts;
  std::string raw_json;       // the inner event object as JSON; "" for message and app_mention

  // Where a reply belongs: the thread if there is one, else this message.
  const std::string& reply_thread_ts() const { return thread_ts.empty() ? ts : thread_ts; }
};

struct EventEnvelope {
  enum class Type { kUrlVerification, kEventCallback, kAppRateLimited, kOther };
  Type type = Type::kOther;
  std::string type_name;         // the outer "type" as sent
  std::string challenge;         // url_verification
  std::string team_id;
  std::string enterprise_id;
  std::string api_app_id;
  std::string event_id;          // "Ev..."; the same across Slack's retries
  int64_t event_time = 0;
  int64_t minute_rate_limited = 0;  // app_rate_limited
  bool is_ext_shared_channel = false;
  std::vector<Authorization> authorizations;
  Event event;

  // authorizations[0].user_id: the bot's own user id, to ignore its own posts.
  std::string bot_user_id() const {
    return authorizations.empty() ? std::string() : authorizations[0].user_id;
  }
  // True when the event was posted by a bot or by our own bot user: answering
  // it would make the bot talk to itself.
  bool IsFromBot() const;
};

util::Result<EventEnvelope> ParseEventEnvelope(std::string_view json);

// Removes user mentions (<@U123> or <@U123|name>) -- only `user_id`'s when it
// is given -- and trims the whitespace left around them.
std::string StripMentions(std::string_view text, std::string_view user_id = {});

// ---------------------------------------------------------------- Interactivity

struct User {
  std::string id;
  std::string username;
  std::string name;
  std::string team_id;
};

struct Action {
  std::string type;            // "button", "static_select", ...
  std::string action_id;
  std::string block_id;
  std::string value;           // buttons
  std::string selected_value;  // selects / radio buttons: selected_option.value
  std::string text;            // the button's label
  std::string action_ts;
};

struct StateValue {
  std::string type;            // "plain_text_input", "static_select", ...
  std::string value;           // text inputs (empty if the user left it blank)
  std::string selected_value;  // selects: selected_option.value
};
// state.values[block_id][action_id]
using StateValues = std::map<std::string, std::map<std::string, StateValue>>;

struct Container {
  std::string type;            // "message" or "view"
  std::string message_ts;
  std::string channel_id;
  std::string thread_ts;
  std::string view_id;
  bool is_ephemeral = false;
};

struct View {
  std::string id;
  std::string type;            // "modal"
  std::string callback_id;
  std::string private_metadata;
  std::string hash;
  StateValues state;
};

struct Interaction {
  enum class Type { kBlockActions, kViewSubmission, kViewClosed, kShortcut, kMessageAction, kOther };
  Type type = Type::kOther;
  std::string type_name;
  User user;                   // who clicked: authorise this id, not anything in `value`
  std::string team_id;
  std::string enterprise_id;
  std::string api_app_id;
  std::string trigger_id;      // opens a modal; expires after 3 s
  std::string response_url;    // 30 min, 5 uses
  std::string callback_id;     // shortcuts
  Container container;
  std::string channel_id;
  std::string channel_name;
  std::string message_ts;      // the message the button is on
  std::string message_thread_ts;
  std::vector<Action> actions;
  StateValues state;           // block_actions: inputs in the message
  View view;                   // view_submission / view_closed / actions in a modal
  std::string raw_json;
};

// The JSON payload (Socket Mode carries it as JSON).
util::Result<Interaction> ParseInteraction(std::string_view json);
// An HTTP interactivity body: "payload=<url-encoded JSON>".
util::Result<Interaction> ParseInteractionForm(std::string_view form_body);

// ---------------------------------------------------------------- Slash commands

struct SlashCommand {
  std::string command;         // "/ask"
  std::string text;
  std::string user_id;
  std::string user_name;
  std::string channel_id;
  std::string channel_name;
  std::string team_id;
  std::string team_domain;
  std::string enterprise_id;
  std::string api_app_id;
  std::string response_url;
  std::string trigger_id;
  bool is_enterprise_install = false;
};

// The HTTP body (application/x-www-form-urlencoded).
util::Result<SlashCommand> ParseSlashCommandForm(std::string_view form_body);
// The Socket Mode payload (the same fields as a JSON object of strings).
util::Result<SlashCommand> ParseSlashCommand(std::string_view json);

// ---------------------------------------------------------------- Socket Mode

struct SocketFrame {
  enum class Type { kHello, kDisconnect, kEnvelope, kOther };
  Type type = Type::kOther;
  std::string type_name;       // "hello", "disconnect", "events_api", "interactive", ...
  // hello
  int num_connections = 0;
  int64_t approximate_connection_time = 0;
  std::string app_id;
  // disconnect: "warning", "refresh_requested", "link_disabled", "too_many_websockets"
  std::string reason;
  // envelopes
  std::string envelope_id;
  std::string payload_json;    // the same JSON an HTTP delivery carries
  bool accepts_response_payload = false;
  int retry_attempt = 0;
  std::string retry_reason;
};

util::Result<SocketFrame> ParseSocketFrame(std::string_view json);

// The ack frame for an envelope: {"envelope_id":"..."} plus "payload" when
// `payload_json` is not empty (it must be a JSON object).
util::Result<std::string> BuildSocketAck(std::string_view envelope_id,
                                         std::string_view payload_json = {});

// ---------------------------------------------------------------- Forms

// Decodes application/x-www-form-urlencoded text ('+' is a space).
util::Result<std::vector<std::pair<std::string, std::string>>> ParseForm(std::string_view body);

}  // namespace slack
