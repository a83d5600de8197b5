#include "bot/chat/teams.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <thread>

#include "connectors/http/client.h"
#include "connectors/teams/activity.h"
#include "connectors/teams/auth.h"
#include "connectors/teams/cards.h"
#include "connectors/teams/connector.h"
#include "connectors/teams/webhook.h"

namespace deskbot::chat {
namespace {

using http::server::Request;
using http::server::Response;
using nlohmann::json;
using util::Status;

constexpr const char* kActivityKind = "activity";
constexpr const char* kWebhookKind = "webhook";
// The thread of a webhook question says "no serviceUrl: cannot post here".
constexpr const char* kWebhookThread = "webhook";
// A refusal the invoke response already showed (see teams.h).
constexpr const char* kShownInInvoke = "invoke-response";

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return std::string();
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

// A question's Teams thread: "<activity id>|<serviceUrl>" -- the message to
// reply to and where the Connector for its conversation is. The workflow
// only carries Question::thread to the answer, so the serviceUrl (taken from
// the validated activity) rides along in it. Activity ids never hold '|'.
std::string ThreadRef(const std::string& activity_id, const std::string& service_url) {
  return activity_id + "|" + service_url;
}
bool SplitThread(const std::string& thread, std::string* activity_id, std::string* service_url) {
  const auto bar = thread.find('|');
  if (bar == std::string::npos) return false;
  *activity_id = thread.substr(0, bar);
  *service_url = thread.substr(bar + 1);
  return !service_url->empty();
}

// A posted card: where it is, for the in-place update.
std::string CardRef(const std::string& service_url, const std::string& conversation,
                    const std::string& activity_id) {
  return json{{"s", service_url}, {"c", conversation}, {"a", activity_id}}.dump();
}

std::string Who(const teams::ChannelAccount& a) {
  return !a.aad_object_id.empty() ? a.aad_object_id : a.id;
}

std::string Percent(double confidence) {
  const double c = std::fmin(std::fmax(confidence, 0.0), 1.0);
  return std::to_string(static_cast<int>(std::lround(c * 100))) + "%";
}

std::string SourceTitle(const SourceRef& r) { return r.source + " #" + r.ticket_external_id; }

std::int64_t ParseId(const std::string& text) {
  if (text.empty() || text.size() > 15) return 0;
  std::int64_t id = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    id = id * 10 + (c - '0');
  }
  return id;
}

// 200 once stored; 503 (the channel retries) when the store is busy, else 500.
Response NotStored(const Status& st) {
  const bool retry = st.code() == Status::Code::kUnavailable;
  Response r = Response::Text(retry ? 503 : 500, "not stored, retry later\n");
  if (retry) r.headers.Set("Retry-After", "1");
  return r;
}

const char* RecordedName(const std::string& verb) {
  if (verb == teams::kVerbApprove) return "approval recorded";
  if (verb == teams::kVerbEdit) return "edit recorded";
  return "rejection recorded";
}

}  // namespace

// --- construction --------------------------------------------------------------------

TeamsChat::TeamsChat(Store& store, InboxSink& inbox, TeamsOptions options)
    : store_(store), inbox_(inbox), options_(std::move(options)) {}

TeamsChat::~TeamsChat() = default;

util::Result<std::unique_ptr<TeamsChat>> TeamsChat::Create(Store& store, InboxSink& inbox,
                                                           TeamsOptions options) {
  const bool bot = !options.app_id.empty() || !options.app_password.empty();
  if (bot && (options.app_id.empty() || options.app_password.empty()))
    return Status::InvalidArgument(
        "teams: bot mode needs both teams.app_id and the secret teams.app_password "
        "(DESKBOT_TEAMS_APP_ID / DESKBOT_TEAMS_APP_PASSWORD)");
  if (!bot && options.webhook_secret.empty())
    return Status::InvalidArgument(
        "teams: neither a bot (teams.app_id + app_password) nor an outgoing webhook "
        "(teams.webhook_secret) is configured");
  if (bot && options.agents_conversation.empty())
    return Status::InvalidArgument(
        "teams: bot mode needs teams.agents_conversation (the channel or chat where suggestion "
        "cards go; the bot must be installed there)");
  if (!options.webhook_secret.empty()) {
    // A token that is not base64 would refuse every delivery: say so now.
    auto probe = teams::SignOutgoingWebhook("", options.webhook_secret);
    if (!probe.ok()) return Status::InvalidArgument("teams.webhook_secret is not a base64 security token");
  }
  std::unique_ptr<TeamsChat> chat(new TeamsChat(store, inbox, std::move(options)));
  if (!bot) return chat;

  http::ClientOptions http_options;
  http_options.request_timeout = std::chrono::seconds(20);
  http_options.retry.initial_delay = std::chrono::milliseconds(200);
  auto client = http::Client::Create(http_options);
  if (!client.ok()) return client.status().WithContext("teams");
  chat->client_ = std::move(client).value();
  const TeamsOptions& o = chat->options_;

  teams::AuthOptions auth;
  auth.app_id = o.app_id;
  const std::string metadata =
      o.openid_metadata_url.empty() ? teams::kBotFrameworkOpenIdMetadataUrl : o.openid_metadata_url;
  chat->auth_ = std::make_unique<teams::BotAuthenticator>(
      auth, std::make_shared<teams::OpenIdKeySource>(metadata, *chat->client_, o.allow_http));

  teams::ConnectorOptions connector;
  connector.credentials.app_id = o.app_id;
  connector.credentials.app_secret = o.app_password;
  if (!o.token_url.empty())
    connector.credentials.token_url = o.token_url;
  else if (!o.tenant_id.empty())
    connector.credentials.token_url =
        "https://login.microsoftonline.com/" + o.tenant_id + "/oauth2/v2.0/token";
  connector.credentials.allow_http = o.allow_http;
  connector.allow_http_service_url = o.allow_http;
  chat->connector_ = std::make_unique<teams::ConnectorClient>(connector, *chat->client_);
  return chat;
}

util::Status TeamsChat::FetchSigningKeys() {
  return auth_ ? auth_->RefreshKeys() : Status::OK();
}

void TeamsChat::RememberName(const std::string& aad_id, const std::string& name) {
  if (aad_id.empty() || name.empty()) return;
  std::lock_guard<std::mutex> lock(names_mu_);
  if (names_.size() > 10000) names_.clear();  // a cache, not a directory
  names_[aad_id] = name;
}

std::string TeamsChat::NameOf(const std::string& aad_id) const {
  std::lock_guard<std::mutex> lock(names_mu_);
  auto it = names_.find(aad_id);
  return it == names_.end() ? aad_id : it->second;
}

// --- inbound: bot mode ------------------------------------------------------------------

void TeamsChat::ReceiveActivity(const Request& request, Respond respond) {
  // Parsed only to learn channelId and serviceUrl for the token check; nothing
  // from it is trusted or stored before the token is valid.
  auto activity = teams::ParseActivity(request.body);
  if (!activity.ok()) {
    // Without a valid token a malformed body is just another unauthenticated
    // request: 401 if the header is missing, else 400.
    if (request.headers.Get("Authorization").empty()) return respond(Response::Text(401, ""));
    return respond(Response::Text(400, activity.status().message() + "\n"));
  }
  auto verified = auth_->Authenticate(request.headers.Get("Authorization"), activity->channel_id,
                                      activity->service_url);
  if (!verified.ok()) {
    if (verified.status().code() == Status::Code::kUnauthorized) {
      spdlog::warn("teams: refused an activity: {}", verified.status().message());
      return respond(Response::Text(401, ""));
    }
    spdlog::error("teams: cannot check activity tokens: {}", verified.status().ToString());
    return respond(Response::Text(503, ""));
  }
  const bool message = activity->IsMessage();
  const bool execute = activity->IsExecuteAction();
  if (!message && !execute) {
    if (activity->type == "invoke")  // other invokes: an empty 200 says "handled"
      return respond(Response::Json(200, "{}"));
    return respond(Response::Text(200, ""));  // conversationUpdate, typing, ...: nothing to keep
  }
  if (activity->id.empty()) return respond(Response::Text(400, "activity without id\n"));
  RememberName(Who(activity->from), activity->from.name);

  std::string invoke_body;
  if (execute) {
    invoke_body = InvokeResponse(*activity);
    if (invoke_body.empty())
      return respond(Response::Json(
          200, teams::InvokeErrorResponse(400, "BadRequest", "This card action is not deskbot's.")));
  }
  InboxEvent e = ReceivedEvent(kName, "teams:" + activity->conversation.id + "/" + activity->id,
                               kActivityKind, request.body);
  // Answered once the batch holding it is committed.
  inbox_.SubmitFromAsyncRoute(std::move(e), [respond = std::move(respond),
                                              invoke_body](util::Result<bool> stored) {
    if (!stored.ok()) return respond(NotStored(stored.status()));
    if (invoke_body.empty()) return respond(Response::Text(200, ""));
    respond(Response::Json(200, invoke_body));
  });
}

// The body answering an Action.Execute click, "" when it is not one of the
// suggestion card's. See teams.h for why it only says "recorded".
std::string TeamsChat::InvokeResponse(const teams::Activity& a) const {
  const teams::ExecuteAction& x = *a.execute;
  if (x.verb != teams::kVerbApprove && x.verb != teams::kVerbEdit && x.verb != teams::kVerbReject)
    return std::string();
  auto sid = x.data.find(teams::kDataSuggestionId);
  if (sid == x.data.end() || ParseId(sid->second) == 0) return std::string();
  if (!options_.agent_ids.empty() && !Contains(options_.agent_ids, Who(a.from)))
    return teams::InvokeMessageResponse(options_.refusal_text);
  auto field = [&x](const char* name) {
    auto it = x.data.find(name);
    return it == x.data.end() ? std::string() : Trim(it->second);
  };
  // A read, for the answer only: the workflow decides on the stored click.
  if (auto found = store_.GetSuggestion(ParseId(sid->second)); found.ok() && found->has_value()) {
    const SuggestionRecord& s = (*found)->suggestion;
    if (IsDecided(s.state))
      return teams::InvokeMessageResponse(std::string("This suggestion was already ") +
                                          SuggestionStateName(s.state) + " by " + NameOf(s.decided_by) + ".");
    if (x.verb == teams::kVerbApprove && Trim(s.text).empty())
      return teams::InvokeMessageResponse("There is no suggested answer to approve; write one with Edit instead.");
  }
  if (x.verb == teams::kVerbEdit && field(teams::kInputEditedText).empty())
    return teams::InvokeMessageResponse("The edited answer is empty, so nothing was sent.");
  teams::DecidedCardData d;
  d.suggestion_id = sid->second;
  d.decision = RecordedName(x.verb);
  d.decided_by = a.from.name.empty() ? Who(a.from) : a.from.name;
  d.decided_at = std::chrono::system_clock::now();
  if (x.verb == teams::kVerbEdit) d.text = field(teams::kInputEditedText);
  if (x.verb == teams::kVerbReject) d.reason = field(teams::kInputRejectReason);
  return teams::InvokeCardResponse(teams::DecidedCard(d));
}

// --- inbound: outgoing webhook ----------------------------------------------------------

void TeamsChat::ReceiveWebhook(const Request& request, Respond respond) {
  Status signed_ok = teams::VerifyOutgoingWebhook(request.headers.Get("Authorization"), request.body,
                                                  options_.webhook_secret);
  if (!signed_ok.ok()) {
    spdlog::warn("teams webhook: refused a delivery: {}", signed_ok.message());
    return respond(Response::Text(401, ""));
  }
  auto activity = teams::ParseActivity(request.body);
  if (!activity.ok()) return respond(Response::Text(400, activity.status().message() + "\n"));
  const std::string question = teams::TextWithoutBotMention(*activity);
  if (!activity->IsMessage() || activity->id.empty() || question.empty())
    return respond(Response::Json(200, teams::OutgoingWebhookReply("Ask me a question after the @mention.")));

  InboxEvent e = ReceivedEvent(kName, "teams:webhook:" + activity->conversation.id + "/" + activity->id,
                               kWebhookKind, request.body);
  // The model may think for seconds (an LLM backend), so it must not hold an
  // I/O thread: this request is answered from its own thread. The server's
  // shutdown waits for answers in flight (drain_timeout > webhook_budget), so
  // the adapter outlives the thread.
  std::thread([this, question, e = std::move(e), respond = std::move(respond)]() mutable {
    AnswerWebhook(question, std::move(e), std::move(respond));
  }).detach();
}

void TeamsChat::AnswerWebhook(const std::string& question, InboxEvent event, Respond respond) {
  // The model first (bounded), then the store: the answer is sent only once
  // the question is stored, so what the asker saw is on record.
  std::string answer = WebhookAnswer(question);
  inbox_.SubmitFromAsyncRoute(std::move(event), [respond = std::move(respond),
                                                  answer = std::move(answer)](util::Result<bool> stored) {
    if (!stored.ok()) {
      spdlog::error("teams webhook: question not stored: {}", stored.status().ToString());
      // Teams does not redeliver webhook calls: tell the asker to try again.
      return respond(Response::Json(
          200, teams::OutgoingWebhookReply("Sorry, I could not take your question just now. "
                                           "Please ask again in a minute.")));
    }
    respond(Response::Json(200, teams::OutgoingWebhookReply(answer)));
  });
}

// The synchronous answer: the suggestion when the model is confident, else
// the notice. The model gets options_.webhook_budget; a slower one is left
// to finish on its own thread (its result is dropped) and the asker gets the
// notice, because Teams drops answers later than 5 s.
std::string TeamsChat::WebhookAnswer(const std::string& question) const {
  if (!options_.suggest) return options_.notice_text;
  auto promise = std::make_shared<std::promise<util::Result<Suggestion>>>();
  auto future = promise->get_future();
  std::thread([promise, suggest = options_.suggest, question] {
    try {
      promise->set_value(suggest(question));
    } catch (const std::exception& e) {
      promise->set_value(Status::Internal(std::string("model threw: ") + e.what()));
    }
  }).detach();
  if (future.wait_for(options_.webhook_budget) != std::future_status::ready) {
    spdlog::warn("teams webhook: the model took longer than {} ms; answering with the notice",
                 options_.webhook_budget.count());
    return options_.notice_text;
  }
  util::Result<Suggestion> s = future.get();
  if (!s.ok()) {
    spdlog::error("teams webhook: model failed: {}", s.status().ToString());
    return options_.notice_text;
  }
  if (s->abstained || Trim(s->text).empty()) return options_.notice_text;
  std::string text = "**Suggested answer** (confidence " + Percent(s->confidence) +
                     "; not yet reviewed by an agent):\n\n" + s->text;
  if (!s->sources.empty()) {
    text += "\n\nSources:";
    for (const SourceRef& r : s->sources) text += " " + SourceTitle(r) + ";";
    text.pop_back();
  }
  return text;
}

// --- what a stored activity means ----------------------------------------------------------

namespace {

util::Result<Inbound> DecodeMessage(const teams::Activity& a, bool webhook) {
  Inbound in;
  if (a.from.id.rfind("28:", 0) == 0) {
    in.note = "sent by a bot";
    return in;
  }
  if (a.IsCardSubmit()) {
    in.note = "Action.Submit (deskbot's cards use Action.Execute)";
    return in;
  }
  const std::string text = Trim(teams::TextWithoutBotMention(a));
  const std::string asker = Who(a.from);
  if (text.empty() || asker.empty()) {
    in.note = "empty message";
    return in;
  }
  const std::string thread = ThreadRef(a.id, webhook ? kWebhookThread : a.service_url);
  const std::string verb = Lower(text);
  if (!webhook && (verb == "help" || verb == "status")) {
    in.kind = Inbound::Kind::kCommand;
    in.command.name = verb;
    in.command.user = asker;
    in.command.reply_to = ChatTarget{a.conversation.id, thread, asker, ""};
    return in;
  }
  in.kind = Inbound::Kind::kQuestion;
  Question& q = in.question;
  q.connector = TeamsChat::kName;
  q.conversation = a.conversation.id;
  q.thread = thread;
  q.message_id = a.id;
  q.asker = asker;
  q.text = text;
  q.dedupe_key = QuestionDedupeKey(TeamsChat::kName, q.conversation, q.message_id);
  return in;
}

util::Result<Inbound> DecodeExecute(const teams::Activity& a, const std::vector<std::string>& agents) {
  Inbound in;
  const teams::ExecuteAction& x = *a.execute;
  auto action = ParseVerdictAction(x.verb);
  if (!action) {
    in.note = "Action.Execute verb '" + x.verb + "'";
    return in;
  }
  auto field = [&x](const char* name) {
    auto it = x.data.find(name);
    return it == x.data.end() ? std::string() : it->second;
  };
  Verdict& v = in.verdict;
  v.suggestion_id = ParseId(field(teams::kDataSuggestionId));
  if (v.suggestion_id <= 0) return Status::InvalidArgument("teams invoke: bad suggestionId");
  v.action = *action;
  v.agent = Who(a.from);
  if (v.agent.empty()) return Status::InvalidArgument("teams invoke: no user");
  if (v.action == VerdictAction::kEdit) v.edited_text = field(teams::kInputEditedText);
  if (v.action == VerdictAction::kReject) v.reason = Trim(field(teams::kInputRejectReason));
  // Replies about this click go under the card (replyToId is the card's id).
  const bool refusal_shown = !agents.empty() && !Contains(agents, v.agent);
  v.reply_to = ChatTarget{a.conversation.id, ThreadRef(a.reply_to_id, a.service_url), v.agent,
                          refusal_shown ? kShownInInvoke : ""};
  in.kind = Inbound::Kind::kVerdict;
  return in;
}

}  // namespace

util::Result<Inbound> TeamsChat::Decode(const InboxEvent& event) const {
  if (event.kind != kActivityKind && event.kind != kWebhookKind)
    return Status::InvalidArgument("teams: unknown inbox kind '" + event.kind + "'");
  auto a = teams::ParseActivity(event.payload);
  if (!a.ok()) return a.status();
  if (event.kind == kWebhookKind) return DecodeMessage(*a, true);
  if (a->IsExecuteAction()) return DecodeExecute(*a, options_.agent_ids);
  if (a->IsMessage()) return DecodeMessage(*a, false);
  Inbound in;
  in.note = "activity " + a->type;
  return in;
}

// --- outbound ------------------------------------------------------------------------------

util::Result<std::string> TeamsChat::Reply(const ChatTarget& target, const std::string& text) {
  std::string reply_to, service_url;
  if (!SplitThread(target.thread, &reply_to, &service_url))
    return Status::InvalidArgument("teams: message without a Teams thread reference");
  if (service_url == kWebhookThread)
    // Permanent: an outgoing webhook answers once, in its HTTP response.
    return Status::InvalidArgument(
        "teams: an outgoing-webhook conversation cannot be posted to later (no bot registration); "
        "the decision is recorded, reply in Teams by hand");
  if (!connector_) return Status::InvalidArgument("teams: bot mode is not configured");
  teams::OutgoingActivity activity;
  activity.text = text;
  if (reply_to.empty()) return connector_->SendToConversation(service_url, target.conversation, activity);
  return connector_->ReplyToActivity(service_url, target.conversation, reply_to, activity);
}

util::Result<std::string> TeamsChat::PostSuggestion(const OutboundContext&, const SuggestionPost& post) {
  if (!connector_) return std::string("not-posted: webhook mode only");  // stored; no bot to show it
  std::string service_url = options_.agents_service_url;
  if (service_url.empty()) {
    std::string ignored;
    if (!SplitThread(post.question.thread, &ignored, &service_url) || service_url == kWebhookThread)
      return Status::InvalidArgument(
          "teams: no serviceUrl for the agents' conversation (set teams.agents_service_url)");
  }
  teams::SuggestionCardData card;
  card.suggestion_id = std::to_string(post.suggestion_id);
  const std::string asker = NameOf(post.question.asker);
  card.question = asker + " asked: " + post.question.text;
  if (post.question.thread.find("|" + std::string(kWebhookThread)) != std::string::npos)
    // What the asker saw was decided by the webhook's own (time-bounded) call.
    card.question += post.abstained
                         ? "\n(via the outgoing webhook: they were told an agent will follow up; "
                           "deskbot cannot post there, reply in the channel yourself)"
                         : "\n(via the outgoing webhook: they were shown this suggestion unless the "
                           "model was too slow; deskbot cannot post there later)";
  card.text = post.abstained || post.text.empty()
                  ? std::string("(no suggested answer: the model was not confident. Use Edit to write one.)")
                  : post.text;
  card.confidence = post.confidence;
  for (const SourceRef& r : post.sources) card.sources.push_back({SourceTitle(r), ""});
  teams::OutgoingActivity activity;
  activity.text = "Suggested answer for " + asker;
  activity.attachments_json.push_back(teams::AdaptiveCardAttachment(teams::SuggestionCard(card)));
  auto id = connector_->SendToConversation(service_url, options_.agents_conversation, activity);
  if (!id.ok()) return id.status();
  return CardRef(service_url, options_.agents_conversation, *id);
}

util::Status TeamsChat::UpdateSuggestion(const OutboundContext&, const SuggestionUpdate& u) {
  json ref = json::parse(u.message_ref, nullptr, false);
  if (!ref.is_object() || !connector_) return Status::OK();  // nothing was posted to update
  teams::DecidedCardData d;
  d.suggestion_id = std::to_string(u.suggestion.suggestion_id);
  d.decision = SuggestionStateName(u.state);
  d.decided_by = NameOf(u.decided_by);
  d.decided_at = std::chrono::system_clock::now();
  d.text = u.final_text;
  d.reason = u.reason;
  teams::OutgoingActivity activity;
  activity.text = teams::CapitalizeFirst(d.decision) + " by " + d.decided_by;
  activity.attachments_json.push_back(teams::AdaptiveCardAttachment(teams::DecidedCard(d)));
  auto r = connector_->UpdateActivity(ref.value("s", std::string()), ref.value("c", std::string()),
                                      ref.value("a", std::string()), activity);
  return r.status();
}

util::Result<std::string> TeamsChat::PostAnswer(const OutboundContext&, const ChatPost& p) {
  return Reply(p.target, p.text);
}

util::Result<std::string> TeamsChat::PostNotice(const OutboundContext&, const ChatPost& p) {
  std::string reply_to, service_url;
  if (SplitThread(p.target.thread, &reply_to, &service_url) && service_url == kWebhookThread)
    // The webhook's HTTP response already carried the notice (see ReceiveWebhook).
    return std::string("webhook-response");
  return Reply(p.target, p.text);
}

util::Result<std::string> TeamsChat::PostRefusal(const OutboundContext&, const ChatPost& p) {
  if (p.target.reply_token == kShownInInvoke) return std::string(kShownInInvoke);
  return Reply(p.target, NameOf(p.target.user) + ": " + p.text);
}

std::vector<HttpRoute> TeamsChat::Routes() {
  std::vector<HttpRoute> routes;
  if (connector_)
    routes.push_back({"POST", options_.messages_path, false,
                      [this](const Request& r, Respond respond) { ReceiveActivity(r, std::move(respond)); }});
  if (webhook_mode())
    routes.push_back({"POST", options_.webhook_path, false,
                      [this](const Request& r, Respond respond) { ReceiveWebhook(r, std::move(respond)); }});
  return routes;
}

util::Result<std::unique_ptr<TeamsChat>> TeamsFromConfig(const Config& config, Store& store,
                                                         InboxSink& inbox,
                                                         std::vector<std::string> agent_ids) {
  TeamsOptions o;
  for (auto [path, out] : {std::pair{"teams.app_password", &o.app_password},
                           std::pair{"teams.webhook_secret", &o.webhook_secret}}) {
    auto secret = config.Secret(path);
    if (!secret.ok()) return secret.status();
    if (secret->has_value()) *out = **secret;
  }
  o.app_id = config.GetString("teams.app_id", "");
  if (o.app_id.empty() && o.app_password.empty() && o.webhook_secret.empty())
    return std::unique_ptr<TeamsChat>();  // Teams is off
  o.tenant_id = config.GetString("teams.tenant_id", "");
  o.token_url = config.GetString("teams.token_url", "");
  o.openid_metadata_url = config.GetString("teams.openid_metadata_url", "");
  o.agents_conversation = config.GetString("teams.agents_conversation", "");
  o.agents_service_url = config.GetString("teams.agents_service_url", "");
  o.messages_path = config.GetString("teams.messages_path", o.messages_path);
  o.webhook_path = config.GetString("teams.webhook_path", o.webhook_path);
  o.notice_text = config.GetString("chat.notice_text", o.notice_text);
  o.refusal_text = config.GetString("chat.refusal_text", o.refusal_text);
  // Plain http only for local fakes; never for a real deployment.
  o.allow_http = config.GetBool("teams.allow_insecure_http", false);
  // The same people the workflow accepts: the service's agents and teams.agents.
  std::vector<std::string> ids = std::move(agent_ids);
  for (const std::string& id : config.GetList("teams.agents")) ids.push_back(id);
  // Agents named for one chat only ("teams:<aad id>") or for any.
  for (std::string& id : ids) {
    if (id.empty()) continue;
    const auto colon = id.find(':');
    if (colon == std::string::npos) o.agent_ids.push_back(id);
    else if (id.compare(0, colon, TeamsChat::kName) == 0) o.agent_ids.push_back(id.substr(colon + 1));
  }
  return TeamsChat::Create(store, inbox, std::move(o));
}

}  // namespace deskbot::chat
