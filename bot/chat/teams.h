// Microsoft Teams as a ChatConnector, in two modes.
//
// Bot mode (an Azure Bot registration: app id + password). Teams POSTs
// activities to /api/messages. Every request's JWT is validated (conn_teams
// BotAuthenticator: signature against the OpenID metadata's keys, issuer,
// audience = app id, expiry with skew, serviceurl claim == the activity's
// serviceUrl); a bad token is answered 401 and nothing is stored. A message
// or invoke is stored raw in the inbox (event key
// "teams:<conversation id>/<activity id>", so a redelivered activity is one
// row and one reply) and answered only from the inbox writer's ack. Other
// activity types (conversationUpdate, typing, reactions) are answered 200
// and not stored. Decode() later says what a stored activity means:
//   message in a channel (bot @mention stripped), group chat or personal
//     chat -> Question (asker = the AAD object id); "help" / "status" alone
//     -> ChatCommand. Card submits (Action.Submit) and bots are ignored.
//   invoke adaptiveCard/action (Action.Execute on the suggestion card)
//     -> Verdict approve / edit (editedText) / reject (rejectReason), by the
//     clicker's AAD object id (the workflow checks it is an agent).
//
// Why the invoke is answered the way it is: Teams wants the invoke's answer
// in the HTTP response of that same POST, within a few seconds, while the
// verdict is applied later by a worker. So the invoke is stored first, and
// the response (only once stored) replaces the card, for the clicker, with
// "<Verb> recorded by <name>"; once the workflow applied it
// UpdateSuggestion PUTs the decided card for everyone. A clicker who is not
// in the configured agents gets the polite refusal as the invoke's message
// instead (the card keeps its buttons); the workflow still decides
// (refuses and audits) and its refusal row is then marked sent without a
// second message. Without agents configured here, refusals are posted as
// replies under the card. A click that cannot apply (the suggestion is
// already decided, an empty edit, approving when the model had no answer) is
// answered with a message saying so and the card keeps its buttons; it is
// stored all the same, and the workflow records it as ignored.
//
// Outbound (Bot Connector REST with a cached client-credentials token,
// retries on 429/5xx): the suggestion card (Adaptive Card, Action.Execute
// Approve / Edit / Reject) goes to teams.agents_conversation; answers,
// notices and command replies go to the question's conversation as replies
// to the question (replyToId), through the serviceUrl of the validated
// activity. Teams has no per-user ephemeral messages for bots, so notices
// are visible to the conversation. WasDelivered cannot ask Teams (no
// history API for bots): after a crash a row may be sent twice, never zero
// times.
//
// Outgoing-webhook mode (tenants that cannot register a bot): POST
// /teams/webhook with `Authorization: HMAC <base64>` over the body, checked
// in constant time against the webhook's security token; a bad signature is
// 401 and stores nothing. The question is stored in the inbox like any
// other (so agents see it and its suggestion), and the answer goes back in
// the synchronous HTTP response, within Teams' 5 s: the model's suggestion,
// labelled as a suggested answer with its confidence and sources, or "an
// agent will follow up" when the model abstains. This mode can never post
// later: an agent's approved or edited answer is recorded (training pair)
// but cannot reach the asker (that outbox row fails with a clear error), and
// a follow-up has to be written in Teams by the agent. With bot mode also
// configured, webhook questions' suggestion cards go to the agents'
// conversation like any other.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bot/chat/http_route.h"
#include "bot/core/chat.h"
#include "bot/core/config.h"
#include "bot/core/interfaces.h"
#include "bot/core/store.h"
#include "connectors/util/status.h"

namespace http {
class Client;
}
namespace teams {
class BotAuthenticator;
class ConnectorClient;
struct Activity;
}  // namespace teams

namespace deskbot::chat {

// Suggests an answer for a webhook question, synchronously (the service's
// current model). Unset: every webhook question gets the follow-up notice.
using TeamsSuggester = std::function<util::Result<Suggestion>(const std::string& question)>;

struct TeamsOptions {
  // --- bot mode (both set: /api/messages is served)
  std::string app_id;              // teams.app_id / DESKBOT_TEAMS_APP_ID
  std::string app_password;        // secret teams.app_password
  std::string token_url;           // "" = the Bot Framework's (multi-tenant)
  std::string tenant_id;           // single-tenant bots: token URL of this tenant
  std::string openid_metadata_url; // "" = the Bot Framework's
  std::string messages_path = "/api/messages";
  // Where suggestion cards go: a channel or chat the bot is installed in,
  // and its serviceUrl ("" = the serviceUrl of the question's activity).
  std::string agents_conversation;
  std::string agents_service_url;
  std::vector<std::string> agent_ids;  // AAD object ids (the invoke's quick refusal)
  bool allow_http = false;         // plain-http metadata / token / serviceUrl: tests only

  // --- outgoing-webhook mode (set: the webhook route is served)
  std::string webhook_secret;      // secret teams.webhook_secret (base64 security token)
  std::string webhook_path = "/teams/webhook";
  TeamsSuggester suggest;
  std::string notice_text =
      "Thanks for your question. An agent will look at it and follow up.";
  std::string refusal_text =
      "Sorry, only help-desk agents can approve, edit or reject suggested answers.";
  std::chrono::milliseconds webhook_budget{3500};  // model time within Teams' 5 s
};

class TeamsChat final : public ChatConnector {
 public:
  static constexpr const char* kName = "teams";

  // Fails when neither mode is configured, bot mode is half configured or
  // has no agents conversation, or the HTTP client cannot be set up.
  // `store` is only read: to answer a click on an already decided or empty
  // suggestion with a message instead of "recorded".
  static util::Result<std::unique_ptr<TeamsChat>> Create(Store& store, InboxSink& inbox,
                                                         TeamsOptions options);
  ~TeamsChat() override;

  const std::string& name() const override { return name_; }
  util::Result<Inbound> Decode(const InboxEvent& event) const override;
  util::Result<std::string> PostSuggestion(const OutboundContext& ctx,
                                           const SuggestionPost& post) override;
  util::Status UpdateSuggestion(const OutboundContext& ctx, const SuggestionUpdate& update) override;
  util::Result<std::string> PostAnswer(const OutboundContext& ctx, const ChatPost& post) override;
  util::Result<std::string> PostNotice(const OutboundContext& ctx, const ChatPost& post) override;
  util::Result<std::string> PostRefusal(const OutboundContext& ctx, const ChatPost& post) override;

  // POST /api/messages (bot mode) and POST /teams/webhook (webhook mode).
  std::vector<HttpRoute> Routes();
  bool bot_mode() const { return connector_ != nullptr; }
  bool webhook_mode() const { return !options_.webhook_secret.empty(); }
  // Bot mode: fetches the Bot Framework signing keys now, so the first
  // activity does not wait for them on an I/O thread. A failure is not fatal
  // (the first activity tries again); the caller logs it.
  util::Status FetchSigningKeys();
  // Set after construction when the model lives in the service (serve).
  void set_suggester(TeamsSuggester suggest) { options_.suggest = std::move(suggest); }

 private:
  TeamsChat(Store& store, InboxSink& inbox, TeamsOptions options);
  void ReceiveActivity(const http::server::Request& request, Respond respond);
  void ReceiveWebhook(const http::server::Request& request, Respond respond);
  std::string InvokeResponse(const teams::Activity& activity) const;
  // Off the I/O threads: the bounded model answer, stored, then sent.
  void AnswerWebhook(const std::string& question, InboxEvent event, Respond respond);
  std::string WebhookAnswer(const std::string& question) const;
  util::Result<std::string> Reply(const ChatTarget& target, const std::string& text);
  void RememberName(const std::string& aad_id, const std::string& name);
  std::string NameOf(const std::string& aad_id) const;

  Store& store_;
  InboxSink& inbox_;
  TeamsOptions options_;
  std::string name_ = kName;
  std::unique_ptr<http::Client> client_;
  std::unique_ptr<teams::BotAuthenticator> auth_;
  std::unique_ptr<teams::ConnectorClient> connector_;
  mutable std::mutex names_mu_;
  std::map<std::string, std::string> names_;  // AAD id -> display name, for cards
};

// The Teams adapter as configured ([teams] / DESKBOT_TEAMS_*): app_id plus
// the secret app_password turn bot mode on, the secret webhook_secret the
// outgoing-webhook route; tenant_id, token_url, openid_metadata_url,
// agents_conversation, agents_service_url, messages_path, webhook_path.
// Agents: the service's (`agent_ids`) plus teams.agents (AAD object ids; serve
// adds them to the workflow's agents as "teams:<id>"). Returns null
// when neither mode is configured (Teams stays off); an error when half
// configured (an app id without a password, or the reverse).
util::Result<std::unique_ptr<TeamsChat>> TeamsFromConfig(const Config& config, Store& store,
                                                         InboxSink& inbox,
                                                         std::vector<std::string> agent_ids);

}  // namespace deskbot::chat
