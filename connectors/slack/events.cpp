#include "connectors/slack/events.h"

#include <cctype>
#include <cstring>

#include <nlohmann/json.hpp>
#include <simdjson.h>

namespace slack {

using json = nlohmann::json;
using util::Result;
using util::Status;

namespace {

// Lenient field readers: Slack omits fields or sends null freely, and a
// missing optional field must not fail a whole delivery.
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

int64_t Int(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number()) return static_cast<int64_t>(it->get<double>());
  return 0;
}

bool Bool(const json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  if (it == j.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) return it->get<std::string>() == "true";
  return false;
}

const json& Obj(const json& j, const char* key) {
  static const json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

Result<json> ParseJsonObject(std::string_view text, const char* what) {
  json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(std::string(what) + ": malformed JSON");
  if (!j.is_object()) return Status::InvalidArgument(std::string(what) + ": not a JSON object");
  return j;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> FormDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) {
        return Status::InvalidArgument("form: truncated %-escape at offset " + std::to_string(i));
      }
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("form: bad %-escape at offset " + std::to_string(i));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

StateValues ParseStateValues(const json& values) {
  StateValues out;
  if (!values.is_object()) return out;
  for (const auto& [block_id, actions] : values.items()) {
    if (!actions.is_object()) continue;
    for (const auto& [action_id, v] : actions.items()) {
      StateValue sv;
      sv.type = Str(v, "type");
      sv.value = Str(v, "value");
      sv.selected_value = Str(Obj(v, "selected_option"), "value");
      out[block_id][action_id] = std::move(sv);
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- Forms

Result<std::vector<std::pair<std::string, std::string>>> ParseForm(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view part = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = FormDecode(part.substr(0, eq));
    if (!name.ok()) return name.status();
    std::string value;
    if (eq != std::string_view::npos) {
      auto v = FormDecode(part.substr(eq + 1));
      if (!v.ok()) return v.status();
      value = std::move(*v);
    }
    out.emplace_back(std::move(*name), std::move(value));
  }
  return out;
}

// ---------------------------------------------------------------- Events API

bool EventEnvelope::IsFromBot() const {
  if (!event.bot_id.empty() || event.subtype == "bot_message") return true;
  std::string self = bot_user_id();
  return !self.empty() && (event.user == self || event.edited_user == self);
}

// Events API deliveries are the ack path (every message in every channel the
// app can see arrives here), so they are parsed with simdjson's DOM: it
// validates the whole document like nlohmann does, but builds a flat tape
// instead of a node per value, several times faster for these small objects.
// One parser per thread, reused: its buffers grow to the largest delivery
// seen and are not allocated again.
namespace {

namespace sj = simdjson::dom;
// An object or the error that stands in for one: a lookup in a missing or
// non-object value simply finds nothing, as Slack's optional fields need.
using SjObject = simdjson::simdjson_result<sj::object>;

std::string SjStr(const SjObject& o, std::string_view key) {
  std::string_view v;
  if (o.at_key(key).get_string().get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

int64_t SjInt(const SjObject& o, std::string_view key) {
  sj::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return 0;
  int64_t i;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return i;
  double d;
  if (e.get_double().get(d) == simdjson::SUCCESS) return static_cast<int64_t>(d);
  return 0;
}

bool SjBool(const SjObject& o, std::string_view key) {
  sj::element e;
  if (o.at_key(key).get(e) != simdjson::SUCCESS) return false;
  bool b;
  if (e.get_bool().get(b) == simdjson::SUCCESS) return b;
  std::string_view s;
  return e.get_string().get(s) == simdjson::SUCCESS && s == "true";
}

SjObject SjObj(const SjObject& o, std::string_view key) { return o.at_key(key).get_object(); }

// Parses `text` into the calling thread's parser. The text is copied into a
// padded buffer (simdjson reads up to 64 bytes past the end) that is reused.
simdjson::simdjson_result<sj::element> ParseOnThisThread(std::string_view text) {
  thread_local sj::parser parser;
  thread_local std::string padded;
  if (padded.size() < text.size() + simdjson::SIMDJSON_PADDING)
    padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(padded.data(), text.data(), text.size());
  return parser.parse(padded.data(), text.size(), /*realloc_if_needed=*/false);
}

}  // namespace

Result<EventEnvelope> ParseEventEnvelope(std::string_view text) {
  sj::element root;
  if (ParseOnThisThread(text).get(root) != simdjson::SUCCESS)
    return Status::InvalidArgument("slack event: malformed JSON");
  const SjObject j = root.get_object();
  if (j.error() != simdjson::SUCCESS) return Status::InvalidArgument("slack event: not a JSON object");
  EventEnvelope env;
  env.type_name = SjStr(j, "type");
  env.team_id = SjStr(j, "team_id");
  env.enterprise_id = SjStr(j, "enterprise_id");
  env.api_app_id = SjStr(j, "api_app_id");
  env.event_id = SjStr(j, "event_id");
  env.event_time = SjInt(j, "event_time");
  env.is_ext_shared_channel = SjBool(j, "is_ext_shared_channel");

  if (env.type_name == "url_verification") {
    env.type = EventEnvelope::Type::kUrlVerification;
    env.challenge = SjStr(j, "challenge");
    if (env.challenge.empty()) return Status::InvalidArgument("slack url_verification: no challenge");
    return env;
  }
  if (env.type_name == "app_rate_limited") {
    env.type = EventEnvelope::Type::kAppRateLimited;
    env.minute_rate_limited = SjInt(j, "minute_rate_limited");
    return env;
  }
  if (env.type_name != "event_callback") {
    if (env.type_name.empty()) return Status::InvalidArgument("slack event: no \"type\"");
    return env;  // kOther: a type this code does not know yet
  }
  env.type = EventEnvelope::Type::kEventCallback;
  sj::array auths;
  if (j.at_key("authorizations").get_array().get(auths) == simdjson::SUCCESS) {
    for (sj::element a : auths) {
      const SjObject ao = a.get_object();
      env.authorizations.push_back(
          {SjStr(ao, "user_id"), SjStr(ao, "team_id"), SjStr(ao, "enterprise_id"), SjBool(ao, "is_bot")});
    }
  }
  const SjObject e = SjObj(j, "event");
  if (e.error() != simdjson::SUCCESS)
    return Status::InvalidArgument("slack event_callback: no \"event\" object");
  Event& ev = env.event;
  ev.type = SjStr(e, "type");
  if (ev.type.empty()) return Status::InvalidArgument("slack event_callback: event has no \"type\"");
  ev.subtype = SjStr(e, "subtype");
  ev.user = SjStr(e, "user");
  ev.text = SjStr(e, "text");
  ev.ts = SjStr(e, "ts");
  ev.thread_ts = SjStr(e, "thread_ts");
  ev.event_ts = SjStr(e, "event_ts");
  ev.channel = SjStr(e, "channel");
  ev.channel_type = SjStr(e, "channel_type");
  ev.bot_id = SjStr(e, "bot_id");
  ev.app_id = SjStr(e, "app_id");
  ev.team = SjStr(e, "team");
  ev.client_msg_id = SjStr(e, "client_msg_id");
  ev.parent_user_id = SjStr(e, "parent_user_id");
  ev.deleted_ts = SjStr(e, "deleted_ts");
  if (const SjObject edited = SjObj(e, "message"); edited.error() == simdjson::SUCCESS) {
    ev.edited_user = SjStr(edited, "user");
    ev.edited_text = SjStr(edited, "text");
    ev.edited_ts = SjStr(edited, "ts");
    if (ev.thread_ts.empty()) ev.thread_ts = SjStr(edited, "thread_ts");
    if (ev.bot_id.empty()) ev.bot_id = SjStr(edited, "bot_id");
  }
  ev.previous_text = SjStr(SjObj(e, "previous_message"), "text");
  // Only the types modelled above do without it; serializing every message
  // again would cost more than parsing it did.
  if (ev.type != "message" && ev.type != "app_mention") ev.raw_json = simdjson::minify(e.value_unsafe());
  return env;
}

std::string StripMentions(std::string_view text, std::string_view user_id) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text.substr(i, 2) == "<@") {
      size_t close = text.find('>', i);
      if (close != std::string_view::npos) {
        std::string_view inner = text.substr(i + 2, close - i - 2);
        std::string_view id = inner.substr(0, inner.find('|'));
        if (user_id.empty() || id == user_id) {
          i = close + 1;
          // Collapse the gap the mention leaves ("hi <@U1> there").
          while (i < text.size() && text[i] == ' ' && (out.empty() || out.back() == ' ')) ++i;
          continue;
        }
      }
    }
    out.push_back(text[i++]);
  }
  size_t b = 0, e = out.size();
  while (b < e && std::isspace(static_cast<unsigned char>(out[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(out[e - 1]))) --e;
  return out.substr(b, e - b);
}

// ---------------------------------------------------------------- Interactivity

Result<Interaction> ParseInteraction(std::string_view text) {
  auto parsed = ParseJsonObject(text, "slack interaction");
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  Interaction in;
  in.type_name = Str(j, "type");
  if (in.type_name.empty()) return Status::InvalidArgument("slack interaction: no \"type\"");
  if (in.type_name == "block_actions") in.type = Interaction::Type::kBlockActions;
  else if (in.type_name == "view_submission") in.type = Interaction::Type::kViewSubmission;
  else if (in.type_name == "view_closed") in.type = Interaction::Type::kViewClosed;
  else if (in.type_name == "shortcut") in.type = Interaction::Type::kShortcut;
  else if (in.type_name == "message_action") in.type = Interaction::Type::kMessageAction;

  const json& u = Obj(j, "user");
  in.user = {Str(u, "id"), Str(u, "username"), Str(u, "name"), Str(u, "team_id")};
  if (in.user.id.empty()) return Status::InvalidArgument("slack interaction: no user.id");
  in.team_id = Str(Obj(j, "team"), "id");
  in.enterprise_id = Str(Obj(j, "enterprise"), "id");
  in.api_app_id = Str(j, "api_app_id");
  in.trigger_id = Str(j, "trigger_id");
  in.response_url = Str(j, "response_url");
  in.callback_id = Str(j, "callback_id");

  const json& c = Obj(j, "container");
  in.container = {Str(c, "type"), Str(c, "message_ts"), Str(c, "channel_id"),
                  Str(c, "thread_ts"), Str(c, "view_id"), Bool(c, "is_ephemeral")};
  in.channel_id = Str(Obj(j, "channel"), "id");
  in.channel_name = Str(Obj(j, "channel"), "name");
  if (in.channel_id.empty()) in.channel_id = in.container.channel_id;
  const json& m = Obj(j, "message");
  in.message_ts = Str(m, "ts");
  in.message_thread_ts = Str(m, "thread_ts");
  if (in.message_ts.empty()) in.message_ts = in.container.message_ts;

  const json& actions = Obj(j, "actions");
  if (actions.is_array()) {
    for (const auto& a : actions) {
      Action act;
      act.type = Str(a, "type");
      act.action_id = Str(a, "action_id");
      act.block_id = Str(a, "block_id");
      act.value = Str(a, "value");
      act.selected_value = Str(Obj(a, "selected_option"), "value");
      act.text = Str(Obj(a, "text"), "text");
      act.action_ts = Str(a, "action_ts");
      in.actions.push_back(std::move(act));
    }
  }
  if (in.type == Interaction::Type::kBlockActions && in.actions.empty()) {
    return Status::InvalidArgument("slack block_actions: no actions");
  }
  in.state = ParseStateValues(Obj(Obj(j, "state"), "values"));

  const json& v = Obj(j, "view");
  if (v.is_object()) {
    in.view.id = Str(v, "id");
    in.view.type = Str(v, "type");
    in.view.callback_id = Str(v, "callback_id");
    in.view.private_metadata = Str(v, "private_metadata");
    in.view.hash = Str(v, "hash");
    in.view.state = ParseStateValues(Obj(Obj(v, "state"), "values"));
  } else if (in.type == Interaction::Type::kViewSubmission ||
             in.type == Interaction::Type::kViewClosed) {
    return Status::InvalidArgument("slack " + in.type_name + ": no view");
  }
  in.raw_json = std::string(text);
  return in;
}

Result<Interaction> ParseInteractionForm(std::string_view form_body) {
  auto form = ParseForm(form_body);
  if (!form.ok()) return form.status().WithContext("slack interaction");
  for (const auto& [name, value] : *form) {
    if (name == "payload") return ParseInteraction(value);
  }
  return Status::InvalidArgument("slack interaction: no payload= field in the form body");
}

// ---------------------------------------------------------------- Slash commands

namespace {

template <typename Get>
Result<SlashCommand> BuildSlashCommand(Get get) {
  SlashCommand c;
  c.command = get("command");
  c.text = get("text");
  c.user_id = get("user_id");
  c.user_name = get("user_name");
  c.channel_id = get("channel_id");
  c.channel_name = get("channel_name");
  c.team_id = get("team_id");
  c.team_domain = get("team_domain");
  c.enterprise_id = get("enterprise_id");
  c.api_app_id = get("api_app_id");
  c.response_url = get("response_url");
  c.trigger_id = get("trigger_id");
  c.is_enterprise_install = get("is_enterprise_install") == "true";
  if (c.command.empty()) return Status::InvalidArgument("slack slash command: no command");
  if (c.user_id.empty()) return Status::InvalidArgument("slack slash command: no user_id");
  return c;
}

}  // namespace

Result<SlashCommand> ParseSlashCommandForm(std::string_view form_body) {
  auto form = ParseForm(form_body);
  if (!form.ok()) return form.status().WithContext("slack slash command");
  return BuildSlashCommand([&](const char* key) {
    for (const auto& [name, value] : *form) {
      if (name == key) return value;
    }
    return std::string();
  });
}

Result<SlashCommand> ParseSlashCommand(std::string_view text) {
  auto parsed = ParseJsonObject(text, "slack slash command");
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  return BuildSlashCommand([&](const char* key) {
    const json& v = Obj(j, key);
    if (v.is_boolean()) return std::string(v.get<bool>() ? "true" : "false");
    return Str(j, key);
  });
}

// ---------------------------------------------------------------- Socket Mode

Result<SocketFrame> ParseSocketFrame(std::string_view text) {
  auto parsed = ParseJsonObject(text, "slack socket frame");
  if (!parsed.ok()) return parsed.status();
  const json& j = *parsed;
  SocketFrame f;
  f.type_name = Str(j, "type");
  f.envelope_id = Str(j, "envelope_id");
  if (f.type_name == "hello") {
    f.type = SocketFrame::Type::kHello;
    f.num_connections = static_cast<int>(Int(j, "num_connections"));
    f.approximate_connection_time = Int(Obj(j, "debug_info"), "approximate_connection_time");
    f.app_id = Str(Obj(j, "connection_info"), "app_id");
    return f;
  }
  if (f.type_name == "disconnect") {
    f.type = SocketFrame::Type::kDisconnect;
    f.reason = Str(j, "reason");
    return f;
  }
  if (!f.envelope_id.empty()) {
    f.type = SocketFrame::Type::kEnvelope;
    const json& p = Obj(j, "payload");
    if (!p.is_object()) {
      return Status::InvalidArgument("slack socket envelope " + f.envelope_id + ": no payload object");
    }
    f.payload_json = p.dump();
    f.accepts_response_payload = Bool(j, "accepts_response_payload");
    f.retry_attempt = static_cast<int>(Int(j, "retry_attempt"));
    f.retry_reason = Str(j, "retry_reason");
    return f;
  }
  if (f.type_name.empty()) return Status::InvalidArgument("slack socket frame: no \"type\"");
  return f;
}

Result<std::string> BuildSocketAck(std::string_view envelope_id, std::string_view payload_json) {
  json ack = {{"envelope_id", std::string(envelope_id)}};
  if (!payload_json.empty()) {
    auto payload = ParseJsonObject(payload_json, "slack ack payload");
    if (!payload.ok()) return payload.status();
    ack["payload"] = std::move(*payload);
  }
  return ack.dump();
}

}  // namespace slack
