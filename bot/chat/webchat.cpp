#include "bot/chat/webchat.h"

#include <nlohmann/json.hpp>

#include <chrono>

#include "connectors/webchat/assets.h"
#include "connectors/webchat/wire.h"

namespace deskbot::chat {
namespace {

using http::server::Request;
using http::server::Response;
using nlohmann::json;
using util::Status;

constexpr const char* kTokenHeader = "X-Deskbot-Agent-Token";

Response JsonResponse(int status, const json& body) {
  Response r = Response::Json(status, body.dump() + "\n");
  r.headers.Set("Cache-Control", "no-store");
  r.headers.Set("X-Content-Type-Options", "nosniff");
  return r;
}

Response Error(int status, const std::string& message) {
  return JsonResponse(status, json{{"error", message}});
}

// The HTTP answer for a Status from storing an event.
Response ErrorFor(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument: return Error(400, st.message());
    case Status::Code::kUnavailable: {
      Response r = Error(503, "deskbot is busy or stopping; try again");
      r.headers.Set("Retry-After", "1");
      return r;
    }
    default: return Error(500, "could not store the request");
  }
}

// A path segment or query value, percent-decoded.
std::string Decoded(std::string_view raw) {
  auto pairs = http::server::ParseUrlEncoded(std::string("v=") + std::string(raw));
  if (!pairs.ok() || pairs->empty()) return std::string();
  return pairs->front().second;
}

std::string QueryValue(const Request& r, std::string_view name) {
  auto pairs = http::server::ParseUrlEncoded(r.query);
  if (!pairs.ok()) return std::string();
  for (const auto& [k, v] : *pairs)
    if (k == name) return v;
  return std::string();
}

json SourcesJson(const std::vector<SourceRef>& sources) {
  json arr = json::array();
  for (const SourceRef& s : sources)
    arr.push_back({{"source", s.source},
                   {"ticket", s.ticket_external_id},
                   {"question", s.question},
                   {"score", s.score}});
  return arr;
}

json SuggestionJson(const SuggestionView& v) {
  const SuggestionRecord& s = v.suggestion;
  return {{"id", s.id},
          {"state", SuggestionStateName(s.state)},
          {"text", s.text},
          {"confidence", s.confidence},
          {"model_version", s.model_version},
          {"sources", SourcesJson(s.sources)},
          {"decided_by", s.decided_by},
          {"decided_at", s.decided_at},
          {"final_text", s.final_text},
          {"reason", s.reason},
          {"question",
           {{"id", v.question.id},
            {"text", v.question.text},
            {"asker", v.question.asker},
            {"asked_at", v.question.asked_at}}}};
}

}  // namespace

WebChat::WebChat(deskbot::Store& store, InboxSink& inbox, WebChatOptions options)
    : store_(store), inbox_(inbox), options_(std::move(options)) {}

// --- inbound ----------------------------------------------------------------------

util::Result<Inbound> WebChat::Decode(const InboxEvent& event) const {
  auto e = webchat::DecodeEvent(event.payload);
  if (!e.ok()) return e.status();
  Inbound in;
  if (e->type == webchat::Event::Type::kAsk) {
    in.kind = Inbound::Kind::kQuestion;
    Question& q = in.question;
    q.connector = kName;
    q.conversation = e->conversation;
    q.message_id = e->message_id;
    q.asker = e->user;
    q.text = e->text;
    q.asked_at = e->sent_at;
    q.dedupe_key = QuestionDedupeKey(kName, q.conversation, q.message_id);
    return in;
  }
  const webchat::Decision& d = e->decision;
  auto action = ParseVerdictAction(d.action);
  if (!action) return Status::InvalidArgument("web chat: unknown action '" + d.action + "'");
  in.kind = Inbound::Kind::kVerdict;
  in.verdict.suggestion_id = d.suggestion_id;
  in.verdict.action = *action;
  in.verdict.agent = d.agent;
  in.verdict.edited_text = d.text;
  in.verdict.reason = d.reason;
  // Refusals and notices for this person go to their own feed on the agent page.
  in.verdict.reply_to = ChatTarget{"agent:" + d.agent, "", d.agent, ""};
  return in;
}

// --- outbound: "posting" is storing a message for the page ----------------------------

util::Result<std::string> WebChat::Keep(const OutboundContext& ctx, const std::string& conversation,
                                         const std::string& thread, const std::string& kind,
                                         const std::string& text, std::int64_t suggestion_id) {
  ChatMessage m;
  m.connector = kName;
  m.conversation = conversation;
  m.thread = thread;
  m.kind = kind;
  m.text = text;
  m.outbox_id = ctx.outbox_id;
  m.suggestion_id = suggestion_id;
  auto id = store_.AddChatMessage(m);
  if (!id.ok()) return id.status();
  return std::to_string(*id);
}

util::Result<std::string> WebChat::PostSuggestion(const OutboundContext& ctx,
                                                  const SuggestionPost& post) {
  return Keep(ctx, kAgentsConversation, "", "suggestion", post.text, post.suggestion_id);
}

util::Status WebChat::UpdateSuggestion(const OutboundContext& ctx, const SuggestionUpdate& u) {
  std::string text = std::string(SuggestionStateName(u.state)) + " by " + u.decided_by;
  if (!u.reason.empty()) text += ": " + u.reason;
  return Keep(ctx, kAgentsConversation, u.message_ref, "suggestion_update", text,
               u.suggestion.suggestion_id)
      .status();
}

util::Result<std::string> WebChat::PostAnswer(const OutboundContext& ctx, const ChatPost& p) {
  return Keep(ctx, p.target.conversation, p.target.thread, "answer", p.text, p.suggestion_id);
}

util::Result<std::string> WebChat::PostNotice(const OutboundContext& ctx, const ChatPost& p) {
  return Keep(ctx, p.target.conversation, p.target.thread, "notice", p.text, p.suggestion_id);
}

util::Result<std::string> WebChat::PostRefusal(const OutboundContext& ctx, const ChatPost& p) {
  return Keep(ctx, p.target.conversation, p.target.thread, "refusal", p.text, p.suggestion_id);
}

util::Result<DeliveryCheck> WebChat::WasDelivered(const OutboxRow& row) {
  auto found = store_.FindChatMessageByOutbox(row.id);
  if (!found.ok()) return found.status();
  if (!found->has_value()) return DeliveryCheck{};
  if (row.kind == OutboxKind::kSuggestionUpdate) return DeliveryCheck{true, row.depends_on_ref};
  return DeliveryCheck{true, std::to_string((*found)->id)};
}

// --- HTTP ------------------------------------------------------------------------------

std::vector<HttpRoute> WebChat::Routes() {
  return {
      {"POST", "/api/questions", false, [this](const Request& r, Respond done) { Ask(r, done); }},
      {"GET", "/api/conversations/", true,
       [this](const Request& r, Respond done) { Conversation(r, done); }},
      {"GET", "/api/suggestions", false,
       [this](const Request& r, Respond done) { Suggestions(r, done); }},
      {"POST", "/api/suggestions/", true, [this](const Request& r, Respond done) { Decide(r, done); }},
      {"GET", "/", true, [this](const Request& r, Respond done) { Page(r, done); }},
  };
}

bool WebChat::AgentTokenOk(const Request& request) const {
  if (options_.agent_token.empty()) return true;
  return webchat::ConstantTimeEquals(request.headers.Get(kTokenHeader), options_.agent_token);
}

void WebChat::Ask(const Request& request, Respond respond) {
  auto ask = webchat::ParseAsk(request.body);
  if (!ask.ok()) return respond(Error(400, ask.status().message()));
  webchat::Event e;
  e.type = webchat::Event::Type::kAsk;
  if (!ask->conversation.empty() && ask->conversation.rfind("c-", 0) != 0)
    return respond(Error(400, "question: a conversation id starts with 'c-'"));
  // A first question's retried POST (same client id, no conversation yet)
  // must land in the same conversation, so a new one is named after the
  // page's random client id when there is one.
  if (!ask->conversation.empty()) e.conversation = ask->conversation;
  else if (!ask->client_id.empty()) e.conversation = ("c-" + ask->client_id).substr(0, webchat::kMaxIdBytes);
  else e.conversation = webchat::RandomId("c-");
  e.user = ask->user.empty() ? webchat::RandomId("web-").substr(0, 24) : ask->user;
  e.text = ask->text;
  e.message_id = ask->client_id.empty() ? webchat::RandomId("m-") : ask->client_id;
  e.sent_at = NowMs() / 1000;

  InboxEvent event = ReceivedEvent(kName, "webchat:ask:" + e.conversation + ":" + e.message_id, "question",
                                   webchat::EncodeEvent(e));
  inbox_.SubmitFromAsyncRoute(std::move(event), [respond, conversation = e.conversation,
                                                  message_id = e.message_id](util::Result<bool> stored) {
    if (!stored.ok()) return respond(ErrorFor(stored.status()));
    respond(JsonResponse(202, json{{"conversation", conversation},
                                   {"message_id", message_id},
                                   {"duplicate", !*stored}}));
  });
}

void WebChat::Decide(const Request& request, Respond respond) {
  // /api/suggestions/{id}/verdict
  const std::string_view prefix = "/api/suggestions/";
  std::string_view rest = std::string_view(request.path).substr(prefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || rest.substr(slash) != "/verdict")
    return respond(Error(404, "not found"));
  std::int64_t id = 0;
  for (char c : rest.substr(0, slash)) {
    if (c < '0' || c > '9' || id > (INT64_MAX / 10) - 10) return respond(Error(404, "not found"));
    id = id * 10 + (c - '0');
  }
  if (slash == 0) return respond(Error(404, "not found"));
  if (!AgentTokenOk(request)) return respond(Error(401, "a valid agent token is required"));
  auto decision = webchat::ParseDecision(request.body, id);
  if (!decision.ok()) return respond(Error(400, decision.status().message()));

  webchat::Event e;
  e.type = webchat::Event::Type::kDecision;
  e.decision = *decision;
  InboxEvent event = ReceivedEvent(
      kName,
      "webchat:verdict:" + std::to_string(id) + ":" + decision->agent + ":" +
          (decision->client_id.empty() ? webchat::RandomId("v-") : decision->client_id),
      "verdict", webchat::EncodeEvent(e));
  inbox_.SubmitFromAsyncRoute(std::move(event), [respond, id](util::Result<bool> stored) {
    if (!stored.ok()) return respond(ErrorFor(stored.status()));
    respond(JsonResponse(202, json{{"suggestion", id}, {"status", "accepted"}, {"duplicate", !*stored}}));
  });
}

void WebChat::Conversation(const Request& request, Respond respond) {
  const std::string id = Decoded(std::string_view(request.path).substr(std::string_view("/api/conversations/").size()));
  if (id.empty()) return respond(Error(404, "not found"));
  const bool agent_feed = id.rfind("agent:", 0) == 0;
  if (agent_feed && !AgentTokenOk(request)) return respond(Error(401, "a valid agent token is required"));
  if (!agent_feed && !webchat::IsValidId(id)) return respond(Error(404, "not found"));
  std::int64_t after = 0;
  try {
    const std::string a = QueryValue(request, "after");
    if (!a.empty()) after = std::stoll(a);
  } catch (...) {
    return respond(Error(400, "'after' must be a message id"));
  }
  json questions = json::array();
  if (!agent_feed) {
    auto qs = store_.ListQuestions(kName, id);
    if (!qs.ok()) return respond(Error(500, "could not read the conversation"));
    for (const Question& q : *qs)
      questions.push_back({{"id", q.id}, {"text", q.text}, {"asked_at", q.asked_at}});
  }
  auto messages = store_.ListChatMessages(kName, id, after);
  if (!messages.ok()) return respond(Error(500, "could not read the conversation"));
  json out = json::array();
  for (const ChatMessage& m : *messages)
    out.push_back({{"id", m.id}, {"kind", m.kind}, {"text", m.text}, {"created_ms", m.created_ms},
                   {"suggestion_id", m.suggestion_id}});
  respond(JsonResponse(200, json{{"conversation", id}, {"questions", std::move(questions)},
                                 {"messages", std::move(out)}}));
}

void WebChat::Suggestions(const Request& request, Respond respond) {
  if (!AgentTokenOk(request)) return respond(Error(401, "a valid agent token is required"));
  const std::string agent = QueryValue(request, "agent");
  if (agent.empty() || !options_.is_agent || !options_.is_agent(agent))
    return respond(Error(403, "only agents (agents.ids) can see suggestions"));
  SuggestionFilter filter;
  filter.connector = kName;
  filter.posted_only = true;  // what the outbox has shown to agents
  filter.limit = 200;
  const std::string state = QueryValue(request, "state");
  if (state.empty() || state == "open" || state == "pending") {
    filter.states = {SuggestionState::kPending, SuggestionState::kAbstained};
  } else if (state == "decided") {
    filter.states = {SuggestionState::kApproved, SuggestionState::kEdited, SuggestionState::kRejected};
  } else if (state != "all") {
    auto one = ParseSuggestionState(state);
    if (!one) return respond(Error(400, "'state' must be open, decided, all or a suggestion state"));
    filter.states = {*one};
  }
  auto list = store_.ListSuggestions(filter);
  if (!list.ok()) return respond(Error(500, "could not read suggestions"));
  json arr = json::array();
  for (const SuggestionView& v : *list) arr.push_back(SuggestionJson(v));
  respond(JsonResponse(200, json{{"suggestions", std::move(arr)}}));
}

void WebChat::Page(const Request& request, Respond respond) {
  const webchat::Asset* asset = webchat::FindAsset(request.path);
  if (asset == nullptr) return respond(Response::Text(404, "not found\n"));
  Response r;
  r.status = 200;
  r.body = std::string(asset->body);
  r.headers.Set("Content-Type", std::string(asset->content_type));
  r.headers.Set("Cache-Control", "no-cache");
  r.headers.Set("X-Content-Type-Options", "nosniff");
  r.headers.Set("Content-Security-Policy",
                "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  r.headers.Set("Referrer-Policy", "no-referrer");
  respond(std::move(r));
}

}  // namespace deskbot::chat
