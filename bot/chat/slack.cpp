#include "bot/chat/slack.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <future>
#include <string_view>

#include "bot/service/outbound.h"
#include "connectors/slack/blocks.h"
#include "connectors/slack/events.h"
#include "connectors/slack/http_receiver.h"
#include "connectors/slack/signing.h"
#include "connectors/slack/socket_mode.h"
#include "connectors/slack/web_api.h"

namespace deskbot::chat {
namespace {

Inbound DecodeEnvelope(const slack::EventEnvelope& env, const SlackOptions& options);

using http::server::Request;
using http::server::Response;
using nlohmann::json;
using util::Status;

constexpr const char* kEventKind = "event";
constexpr const char* kInteractionKind = "interaction";
constexpr const char* kCommandKind = "command";
// How long a delivery waits for its event to be committed before Slack is
// told to retry (Slack itself gives up on an ack after 3 s).
constexpr auto kStoreTimeout = std::chrono::seconds(10);

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return std::string();
  const auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// "C123:1700000000.000100" <-> channel and ts (ts never contains ':').
std::string MessageRef(const std::string& channel, const std::string& ts) { return channel + ":" + ts; }
bool SplitRef(const std::string& ref, std::string* channel, std::string* ts) {
  const auto colon = ref.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == ref.size()) return false;
  *channel = ref.substr(0, colon);
  *ts = ref.substr(colon + 1);
  return true;
}

UnixSeconds TsSeconds(const std::string& ts) {
  return ts.empty() ? 0 : static_cast<UnixSeconds>(std::strtoll(ts.c_str(), nullptr, 10));
}

// The modals' private_metadata: the suggestion and where the click happened,
// so a refusal after the submission can go back to that channel.
std::string ModalMetadata(std::int64_t suggestion_id, const slack::Interaction& i) {
  const std::string channel = !i.container.channel_id.empty() ? i.container.channel_id : i.channel_id;
  return json{{"s", suggestion_id}, {"c", channel}, {"t", i.message_thread_ts}}.dump();
}

std::int64_t ParseId(const std::string& text) {
  std::int64_t id = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    id = id * 10 + (c - '0');
    if (id > (std::int64_t{1} << 53)) return 0;
  }
  return id;
}

std::string StateText(const slack::StateValues& state, const char* block, const char* action) {
  auto b = state.find(block);
  if (b == state.end()) return std::string();
  auto a = b->second.find(action);
  return a == b->second.end() ? std::string() : a->second.value;
}

slack::Suggestion BlocksSuggestion(const SuggestionPost& post) {
  slack::Suggestion s;
  s.id = std::to_string(post.suggestion_id);
  s.answer = post.abstained || post.text.empty()
                 ? std::string("(no suggested answer: the model was not confident. Use Edit to write one.)")
                 : post.text;
  s.confidence = post.confidence;
  for (const SourceRef& r : post.sources)
    s.sources.push_back({r.source + " #" + r.ticket_external_id, ""});
  s.heading = "Suggested answer";
  return s;
}

// The suggestion's blocks with the question (and who asked, where) on top.
util::Result<slack::BlockMessage> SuggestionBlocks(const SuggestionPost& post) {
  auto m = slack::SuggestionMessage(BlocksSuggestion(post));
  if (!m.ok()) return m.status();
  json blocks = json::parse(m->blocks_json);
  const Question& q = post.question;
  std::string asked = "<@" + q.asker + "> asked";
  if (!q.conversation.empty() && q.conversation[0] == 'C') asked += " in <#" + q.conversation + ">";
  asked += ":\n>" + slack::TruncateText(slack::EscapeMrkdwn(q.text), 2800);
  blocks.insert(blocks.begin(), json{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", asked}}}});
  m->blocks_json = blocks.dump();
  return m;
}

json Metadata(const OutboundContext& ctx) {
  return json{{"event_type", SlackChat::kMetadataEventType},
              {"event_payload", {{"outbox_id", ctx.outbox_id}}}};
}

// A delivery whose storage failed: Slack must retry, so no ack.
Status StoreFailed(const Status& st) {
  return st.WithContext("slack delivery not stored");
}

}  // namespace

// --- construction -----------------------------------------------------------------

SlackChat::SlackChat(Store& store, InboxSink& inbox, SlackOptions options)
    : store_(store), inbox_(inbox), options_(std::move(options)) {}

SlackChat::~SlackChat() { StopSocketMode(); }

util::Result<std::unique_ptr<SlackChat>> SlackChat::Create(Store& store, InboxSink& inbox,
                                                           SlackOptions options) {
  if (options.bot_token.empty())
    return Status::InvalidArgument("slack: no bot token (slack.bot_token / DESKBOT_SLACK_BOT_TOKEN)");
  if (options.signing_secret.empty() && options.app_token.empty())
    return Status::InvalidArgument(
        "slack: neither a signing secret (HTTP events) nor an app token (Socket Mode) is configured");
  std::unique_ptr<SlackChat> chat(new SlackChat(store, inbox, std::move(options)));
  slack::WebApiOptions api;
  api.base_url = chat->options_.api_url;
  api.bot_token = chat->options_.bot_token;
  api.app_token = chat->options_.app_token;
  api.http.request_timeout = std::chrono::seconds(20);
  auto created = slack::WebApi::Create(api);
  if (!created.ok()) return created.status().WithContext("slack");
  chat->api_ = std::move(created).value();
  if (!chat->options_.signing_secret.empty()) {
    slack::HttpReceiverOptions r;
    r.signing_secret = chat->options_.signing_secret;
    SlackChat* self = chat.get();
    chat->receiver_ = std::make_unique<slack::HttpReceiver>(
        r, [self](const slack::SocketFrame& f) { return self->Receive(f); });
    chat->verifier_ = std::make_unique<slack::SignatureVerifier>(chat->options_.signing_secret);
  }
  return chat;
}

// --- inbound: storing deliveries ------------------------------------------------

namespace {

// The event's own timestamp ("1767224888.280449", microseconds) as a key
// part that sorts as it counts: ten integer digits, six fraction digits.
// Empty when it is missing or not in that form.
std::string SortableEventTs(std::string_view ts) {
  const std::size_t dot = ts.find('.');
  const std::string_view whole = ts.substr(0, dot);
  const std::string_view fraction = dot == std::string_view::npos ? std::string_view() : ts.substr(dot + 1);
  auto digits = [](std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (whole.empty() || whole.size() > 10 || fraction.size() > 6 || !digits(whole) || !digits(fraction))
    return std::string();
  std::string out(10 - whole.size(), '0');
  out.append(whole).append(".").append(fraction).append(6 - fraction.size(), '0');
  return out;
}

}  // namespace

// Leading with the time makes the inbox's unique index grow at its end, as
// the table does. Keyed by the id alone, Slack's random ids put each event of
// a group commit on a different index page (31-33 against 25-26 us of CPU per
// acknowledged event in the ack benchmark at 16 connections); keyed by the
// event time, whole seconds, a busy second's random ids still spread over
// every page of that second. event_ts has microseconds and increases as
// events happen.
// (Keys stored by older versions were "slack:<id>" or "slack:<event_time>:
// <id>": a retry that spans an upgrade is stored twice, and its question
// still asked once, since questions are unique by channel and message.)
std::string SlackEventKey(const slack::EventEnvelope& envelope, const std::string& event_id) {
  std::string time = SortableEventTs(envelope.event.event_ts);
  if (time.empty() && envelope.event_time > 0) {
    char whole[24];
    std::snprintf(whole, sizeof whole, "%010lld", static_cast<long long>(envelope.event_time));
    time = whole;
  }
  if (time.empty()) return "slack:" + event_id;
  return "slack:" + time + ":" + event_id;
}

util::Result<InboxEvent> SlackChat::ToInboxEvent(const slack::SocketFrame& frame,
                                                  bool* open_modal) const {
  InboxEvent e;
  e.connector = kName;
  e.payload = frame.payload_json;
  e.received_ms = NowMs();
  *open_modal = false;
  if (frame.type_name == "events_api") {
    auto env = slack::ParseEventEnvelope(frame.payload_json);
    if (!env.ok()) return env.status();
    // The event id is the same across Slack's retries and across HTTP and
    // Socket Mode, so every redelivery lands on one inbox row.
    const std::string& id = env->event_id.empty() ? frame.envelope_id : env->event_id;
    if (id.empty()) return Status::InvalidArgument("slack event without event_id");
    e.event_key = SlackEventKey(*env, id);
    e.kind = kEventKind;
    e.needs_processing = DecodeEnvelope(*env, options_).kind != Inbound::Kind::kIgnore;
  } else if (frame.type_name == "interactive") {
    auto i = slack::ParseInteraction(frame.payload_json);
    if (!i.ok()) return i.status();
    // A trigger id is unique per click / submission.
    const std::string& id = !i->trigger_id.empty() ? i->trigger_id : frame.envelope_id;
    if (id.empty()) return Status::InvalidArgument("slack interaction without trigger_id");
    e.event_key = "slack:i:" + id;
    e.kind = kInteractionKind;
    *open_modal = i->type == slack::Interaction::Type::kBlockActions && !i->actions.empty() &&
                  (i->actions[0].action_id == slack::kEditAction ||
                   i->actions[0].action_id == slack::kRejectAction);
  } else if (frame.type_name == "slash_commands") {
    auto c = slack::ParseSlashCommand(frame.payload_json);
    if (!c.ok()) return c.status();
    const std::string& id = !c->trigger_id.empty() ? c->trigger_id : frame.envelope_id;
    if (id.empty()) return Status::InvalidArgument("slack command without trigger_id");
    e.event_key = "slack:c:" + id;
    e.kind = kCommandKind;
  }
  return e;
}

util::Result<std::string> SlackChat::Receive(const slack::SocketFrame& frame) {
  bool open_modal = false;
  auto e = ToInboxEvent(frame, &open_modal);
  if (!e.ok()) return e.status();
  if (e->kind.empty()) return std::string();  // nothing deskbot handles: ack so Slack stops

  auto stored = std::make_shared<std::promise<util::Result<bool>>>();
  auto once = std::make_shared<std::once_flag>();
  std::future<util::Result<bool>> done = stored->get_future();
  inbox_.Submit(std::move(e).value(), [stored, once](util::Result<bool> r) {
    std::call_once(*once, [&] { stored->set_value(std::move(r)); });
  });
  if (done.wait_for(kStoreTimeout) != std::future_status::ready)
    return StoreFailed(Status::Unavailable("the inbox did not answer in time"));
  util::Result<bool> is_new = done.get();
  if (!is_new.ok()) return StoreFailed(is_new.status());
  // A redelivered click already had its modal (its trigger id is spent).
  if (open_modal && *is_new) OpenModal(frame.payload_json);
  return std::string();
}

void SlackChat::ReceiveEvents(const Request& request, Respond respond) {
  Status verified = verifier_->Verify(request.headers.Get("X-Slack-Request-Timestamp"),
                                      request.headers.Get("X-Slack-Signature"), request.body);
  if (!verified.ok()) return respond(Response::Text(401, "invalid signature\n"));
  auto env = slack::ParseEventEnvelope(request.body);
  if (!env.ok()) return respond(Response::Text(400, env.status().message() + "\n"));
  if (env->type == slack::EventEnvelope::Type::kUrlVerification)
    return respond(Response::Text(200, env->challenge));
  if (env->event_id.empty()) return respond(Response::Text(400, "slack event without event_id\n"));
  InboxEvent e = ReceivedEvent(kName, SlackEventKey(*env, env->event_id), kEventKind, request.body);
  // Triage now, on the parse we already have: an event that means nothing to
  // deskbot (most messages in a busy workspace) is stored done, and no worker
  // parses it again.
  e.needs_processing = DecodeEnvelope(*env, options_).kind != Inbound::Kind::kIgnore;
  // Answered once the batch holding it is committed.
  inbox_.SubmitFromAsyncRoute(std::move(e), [respond = std::move(respond)](util::Result<bool> stored) {
    if (stored.ok()) return respond(Response::Text(200, ""));
    const bool retry = stored.status().code() == Status::Code::kUnavailable;
    Response r = Response::Text(retry ? 503 : 500, "not stored, retry later\n");
    if (retry) r.headers.Set("Retry-After", "1");
    respond(std::move(r));
  });
}

void SlackChat::OpenModal(const std::string& payload_json) {
  auto i = slack::ParseInteraction(payload_json);
  if (!i.ok() || i->actions.empty()) return;
  const slack::Action& a = i->actions[0];
  const std::int64_t sid = ParseId(a.value);
  if (sid == 0) return;
  util::Result<std::string> view = Status::Internal("no view");
  if (a.action_id == slack::kEditAction) {
    std::string text;
    if (auto found = store_.GetSuggestion(sid); found.ok() && found->has_value())
      text = (*found)->suggestion.text;
    view = slack::EditModal(ModalMetadata(sid, *i), text);
  } else {
    view = slack::RejectReasonModal(ModalMetadata(sid, *i));
  }
  if (!view.ok()) {
    spdlog::error("slack: cannot build the {} modal: {}", a.action_id, view.status().ToString());
    return;
  }
  auto opened = api_->OpenView(i->trigger_id, *view);
  if (!opened.ok())
    spdlog::warn("slack: views.open for suggestion {} failed: {}", sid, opened.status().ToString());
}

// --- inbound: what a stored delivery means ----------------------------------------

namespace {

// What a parsed Events API delivery means (at receipt, and for the stored one).
Inbound DecodeEnvelope(const slack::EventEnvelope& env, const SlackOptions& options) {
  Inbound in;
  if (env.type != slack::EventEnvelope::Type::kEventCallback) {
    in.note = "not an event_callback";
    return in;
  }
  const slack::Event& ev = env.event;
  if (env.IsFromBot()) {
    in.note = "posted by a bot";
    return in;
  }
  if (!ev.subtype.empty()) {
    in.note = "message subtype " + ev.subtype;
    return in;
  }
  const bool asked = ev.type == "app_mention" ||
                     (ev.type == "message" &&
                      (ev.channel_type == "im" || Contains(options.channels, ev.channel)));
  if (!asked) {
    in.note = "event " + ev.type + " is not a question";
    return in;
  }
  const std::string text = Trim(slack::StripMentions(ev.text, env.bot_user_id()));
  if (text.empty() || ev.user.empty() || ev.channel.empty() || ev.ts.empty()) {
    in.note = "empty message";
    return in;
  }
  in.kind = Inbound::Kind::kQuestion;
  Question& q = in.question;
  q.connector = SlackChat::kName;
  q.conversation = ev.channel;
  q.thread = ev.reply_thread_ts();
  q.message_id = ev.ts;
  q.asker = ev.user;
  q.text = text;
  q.asked_at = env.event_time > 0 ? env.event_time : TsSeconds(ev.ts);
  q.dedupe_key = QuestionDedupeKey(SlackChat::kName, q.conversation, q.message_id);
  return in;
}

util::Result<Inbound> DecodeEvent(const InboxEvent& stored, const SlackOptions& options) {
  auto env = slack::ParseEventEnvelope(stored.payload);
  if (!env.ok()) return env.status();
  return DecodeEnvelope(*env, options);
}

util::Result<Inbound> DecodeInteraction(const InboxEvent& stored) {
  auto i = slack::ParseInteraction(stored.payload);
  if (!i.ok()) return i.status();
  Inbound in;
  Verdict& v = in.verdict;
  v.agent = i->user.id;
  if (i->type == slack::Interaction::Type::kBlockActions) {
    if (i->actions.empty()) {
      in.note = "block_actions without an action";
      return in;
    }
    const slack::Action& a = i->actions[0];
    if (a.action_id != slack::kApproveAction) {
      in.note = "button " + a.action_id + " (a modal was opened for it)";
      return in;
    }
    v.suggestion_id = ParseId(a.value);
    v.action = VerdictAction::kApprove;
    const std::string channel = !i->container.channel_id.empty() ? i->container.channel_id : i->channel_id;
    v.reply_to = ChatTarget{channel, i->message_thread_ts, i->user.id, i->response_url};
  } else if (i->type == slack::Interaction::Type::kViewSubmission) {
    const bool edit = i->view.callback_id == slack::kEditModalCallback;
    if (!edit && i->view.callback_id != slack::kRejectModalCallback) {
      in.note = "view " + i->view.callback_id;
      return in;
    }
    json meta = json::parse(i->view.private_metadata, nullptr, false);
    if (!meta.is_object() || !meta.contains("s") || !meta["s"].is_number_integer())
      return Status::InvalidArgument("slack view_submission: private_metadata is not deskbot's");
    v.suggestion_id = meta["s"].get<std::int64_t>();
    v.reply_to = ChatTarget{meta.value("c", std::string()), meta.value("t", std::string()), i->user.id, ""};
    if (edit) {
      v.action = VerdictAction::kEdit;
      v.edited_text = StateText(i->view.state, slack::kEditInputBlock, slack::kEditInputAction);
    } else {
      v.action = VerdictAction::kReject;
      v.reason = Trim(StateText(i->view.state, slack::kRejectInputBlock, slack::kRejectInputAction));
    }
  } else {
    in.note = "interaction " + i->type_name;
    return in;
  }
  if (v.suggestion_id <= 0) return Status::InvalidArgument("slack interaction: bad suggestion id");
  if (v.agent.empty()) return Status::InvalidArgument("slack interaction: no user");
  in.kind = Inbound::Kind::kVerdict;
  return in;
}

util::Result<Inbound> DecodeCommand(const InboxEvent& stored) {
  auto c = slack::ParseSlashCommand(stored.payload);
  if (!c.ok()) return c.status();
  const std::string text = Trim(c->text);
  const auto space = text.find_first_of(" \t\n");
  std::string verb = text.substr(0, space);
  for (char& ch : verb) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string rest = space == std::string::npos ? std::string() : Trim(text.substr(space));
  Inbound in;
  if (verb == "ask" && !rest.empty()) {
    in.kind = Inbound::Kind::kQuestion;
    Question& q = in.question;
    q.connector = SlackChat::kName;
    q.conversation = c->channel_id;
    q.message_id = "cmd-" + c->trigger_id;  // a slash command has no message ts
    q.asker = c->user_id;
    q.text = rest;
    q.asked_at = stored.received_ms / 1000;
    q.dedupe_key = QuestionDedupeKey(SlackChat::kName, q.conversation, q.message_id);
    return in;
  }
  in.kind = Inbound::Kind::kCommand;
  in.command.name = verb.empty() ? "help" : verb;
  in.command.args = rest;
  in.command.user = c->user_id;
  in.command.reply_to = ChatTarget{c->channel_id, "", c->user_id, c->response_url};
  return in;
}

}  // namespace

util::Result<Inbound> SlackChat::Decode(const InboxEvent& event) const {
  if (event.kind == kEventKind) return DecodeEvent(event, options_);
  if (event.kind == kInteractionKind) return DecodeInteraction(event);
  if (event.kind == kCommandKind) return DecodeCommand(event);
  return Status::InvalidArgument("slack: unknown inbox kind '" + event.kind + "'");
}

// --- outbound -------------------------------------------------------------------------

util::Result<std::string> SlackChat::Post(const OutboundContext& ctx, const ChatTarget& target,
                                          const std::string& text, const std::string& blocks_json,
                                          bool ephemeral) {
  if (target.conversation.empty()) return Status::InvalidArgument("slack: message without a channel");
  json body = {{"channel", target.conversation}, {"text", text}};
  if (!blocks_json.empty()) body["blocks"] = json::parse(blocks_json);
  if (!target.thread.empty()) body["thread_ts"] = target.thread;
  if (ephemeral) {
    if (target.user.empty()) return Status::InvalidArgument("slack: ephemeral message without a user");
    body["user"] = target.user;
    auto r = api_->Call("chat.postEphemeral", body.dump());
    if (!r.ok()) return r.status();
    json j = json::parse(*r, nullptr, false);
    return std::string("ephemeral:") + (j.is_object() ? j.value("message_ts", std::string()) : "");
  }
  body["unfurl_links"] = false;
  body["unfurl_media"] = false;
  body["metadata"] = Metadata(ctx);
  auto r = api_->Call("chat.postMessage", body.dump());
  if (!r.ok()) return r.status();
  json j = json::parse(*r, nullptr, false);
  const std::string ts = j.is_object() ? j.value("ts", std::string()) : std::string();
  if (ts.empty()) return Status::IOError("slack chat.postMessage: response without ts");
  return MessageRef(j.value("channel", target.conversation), ts);
}

util::Result<std::string> SlackChat::PostSuggestion(const OutboundContext& ctx,
                                                    const SuggestionPost& post) {
  auto m = SuggestionBlocks(post);
  if (!m.ok()) return m.status();
  if (!options_.agents_channel.empty())
    return Post(ctx, ChatTarget{options_.agents_channel, "", "", ""}, m->text, m->blocks_json, false);
  // No agents channel: privately to each agent, in the question's channel.
  // Ephemeral messages cannot be updated with chat.update, so such a
  // suggestion keeps its buttons after a decision (a second click is ignored).
  if (options_.agent_ids.empty())
    return Status::InvalidArgument("slack: neither slack.agents_channel nor agents to show suggestions to");
  for (const std::string& agent : options_.agent_ids) {
    auto r = Post(ctx, ChatTarget{post.question.conversation, post.question.thread, agent, ""}, m->text,
                  m->blocks_json, true);
    if (!r.ok()) return r.status();
  }
  return std::string("ephemeral");
}

util::Status SlackChat::UpdateSuggestion(const OutboundContext&, const SuggestionUpdate& u) {
  std::string channel, ts;
  if (!SplitRef(u.message_ref, &channel, &ts)) return Status::OK();  // ephemeral: nothing to update
  slack::Decision d;
  d.verb = u.state == SuggestionState::kApproved ? "Approved"
           : u.state == SuggestionState::kEdited ? "Edited"
                                                  : "Rejected";
  d.user_id = u.decided_by;
  d.unix_time = static_cast<int64_t>(NowMs() / 1000);
  d.final_text = u.final_text;
  d.note = u.reason;
  auto m = slack::DecidedMessage(BlocksSuggestion(u.suggestion), d);
  if (!m.ok()) return m.status();
  auto r = api_->Update({channel, ts, m->text, m->blocks_json});
  return r.status();
}

util::Result<std::string> SlackChat::PostAnswer(const OutboundContext& ctx, const ChatPost& p) {
  ChatTarget to = p.target;
  to.user.clear();  // the answer is for everyone in the thread
  return Post(ctx, to, slack::EscapeMrkdwn(p.text), "", false);
}

util::Result<std::string> SlackChat::PostNotice(const OutboundContext& ctx, const ChatPost& p) {
  return Post(ctx, p.target, slack::EscapeMrkdwn(p.text), "", !p.target.user.empty());
}

util::Result<std::string> SlackChat::PostRefusal(const OutboundContext& ctx, const ChatPost& p) {
  ChatTarget to = p.target;
  if (to.conversation.empty()) to.conversation = to.user;  // no channel known: their DM
  return Post(ctx, to, slack::EscapeMrkdwn(p.text), "", true);
}

util::Result<DeliveryCheck> SlackChat::WasDelivered(const OutboxRow& row) {
  // Where the row's message would be: a thread (conversations.replies) or
  // the agents channel (conversations.history since the row was made).
  std::string channel, thread;
  if (row.kind == OutboxKind::kSuggestionUpdate) {
    return DeliveryCheck{};  // chat.update is idempotent: just update again
  } else if (row.kind == OutboxKind::kSuggestion) {
    if (options_.agents_channel.empty()) return DeliveryCheck{};
    channel = options_.agents_channel;
  } else {
    auto post = service::DecodeChatPost(row.payload);
    if (!post.ok()) return DeliveryCheck{};
    if (!post->target.user.empty() && row.kind != OutboxKind::kAnswer) return DeliveryCheck{};  // ephemeral
    channel = post->target.conversation;
    thread = post->target.thread;
  }
  json body = {{"channel", channel}, {"include_all_metadata", true}, {"limit", 200}};
  const char* method = "conversations.history";
  if (!thread.empty()) {
    body["ts"] = thread;
    method = "conversations.replies";
  } else {
    body["oldest"] = std::to_string(row.created_ms / 1000 - 60);
  }
  auto r = api_->Call(method, body.dump());
  if (!r.ok()) {
    const Status& st = r.status();
    if (st.code() == Status::Code::kUnavailable || st.code() == Status::Code::kIOError) return st;
    // The token lacks the history scope, or the API has no such method:
    // Slack cannot be asked, so the row is sent again.
    spdlog::warn("slack: cannot check outbox row {} ({}); sending it again", row.id, st.ToString());
    return DeliveryCheck{};
  }
  json j = json::parse(*r, nullptr, false);
  if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) return DeliveryCheck{};
  for (const json& m : j["messages"]) {
    if (!m.is_object() || !m.contains("metadata")) continue;
    const json& md = m["metadata"];
    if (!md.is_object() || md.value("event_type", std::string()) != kMetadataEventType) continue;
    const json& p = md.contains("event_payload") ? md["event_payload"] : json();
    if (p.is_object() && p.value("outbox_id", std::int64_t{0}) == row.id)
      return DeliveryCheck{true, MessageRef(channel, m.value("ts", std::string()))};
  }
  return DeliveryCheck{};
}

// --- HTTP and Socket Mode ------------------------------------------------------------

std::vector<HttpRoute> SlackChat::Routes() {
  if (!receiver_) return {};
  slack::HttpReceiver* r = receiver_.get();
  return {
      {"POST", "/slack/events", false,
       [this](const Request& req, Respond respond) { ReceiveEvents(req, std::move(respond)); }},
      {"POST", "/slack/interactivity", false,
       [r](const Request& req, Respond respond) { respond(r->HandleInteractivity(req)); }},
      {"POST", "/slack/commands", false,
       [r](const Request& req, Respond respond) { respond(r->HandleCommand(req)); }},
  };
}

util::Status SlackChat::StartSocketMode() {
  if (options_.app_token.empty()) return Status::OK();
  slack::SocketModeOptions o;
  o.connections = options_.socket_connections;
  slack::WebApi* api = api_.get();
  socket_ = std::make_unique<slack::SocketModeClient>(
      o, [api] { return api->OpenConnection(); },
      [this](const slack::SocketFrame& f) { return Receive(f); });
  return socket_->Start();
}

void SlackChat::StopSocketMode() {
  if (socket_) socket_->Stop();
}

util::Result<std::unique_ptr<SlackChat>> SlackFromConfig(const Config& config, Store& store,
                                                         InboxSink& inbox,
                                                         std::vector<std::string> agent_ids) {
  SlackOptions o;
  for (auto [path, out] : {std::pair{"slack.bot_token", &o.bot_token},
                           std::pair{"slack.signing_secret", &o.signing_secret},
                           std::pair{"slack.app_token", &o.app_token}}) {
    auto secret = config.Secret(path);
    if (!secret.ok()) return secret.status();
    if (secret->has_value()) *out = **secret;
  }
  if (o.bot_token.empty() && o.signing_secret.empty() && o.app_token.empty())
    return std::unique_ptr<SlackChat>();  // Slack is off
  o.api_url = config.GetString("slack.api_url", o.api_url);
  o.channels = config.GetList("slack.channels");
  o.agents_channel = config.GetString("slack.agents_channel", "");
  o.command = config.GetString("slack.command", o.command);
  o.socket_connections = static_cast<int>(config.GetInt("slack.socket_connections", 2));
  // Agents named for one chat only ("slack:U1") or for any ("U1").
  for (std::string& id : agent_ids) {
    const auto colon = id.find(':');
    if (colon == std::string::npos) o.agent_ids.push_back(id);
    else if (id.compare(0, colon, SlackChat::kName) == 0) o.agent_ids.push_back(id.substr(colon + 1));
  }
  return SlackChat::Create(store, inbox, std::move(o));
}

}  // namespace deskbot::chat
