// The local web chat as a ChatConnector: a page served by deskbot itself
// (connectors/webchat/static) where someone asks a question, agents decide on
// suggestions, and the asker sees the approved answer or the notice.
//
// It goes through the same inbox, workflow and outbox as Slack: the page's
// POSTs are stored in the inbox before they are answered (202), and what the
// workflow "posts" to the web chat is stored as chat messages that the page
// polls. Because those messages are stored with their unique outbox id,
// WasDelivered can always tell, so the web chat is exactly-once end to end.
//
// JSON API (all under /api):
//   POST /api/questions                      {text, user?, conversation?, client_id?} -> 202
//   GET  /api/conversations/{id}[?after=N]   questions and messages of one conversation
//   GET  /api/suggestions?state=open|decided|all&agent=ID     (agents only)
//   POST /api/suggestions/{id}/verdict       {agent, action, text?, reason?, client_id?} -> 202
//
// Who is an agent: agents.ids (the workflow refuses and audits anyone else).
// The web chat is meant for localhost and demos, or behind an authenticating
// proxy: an agent is whoever types an agent id. Setting the secret
// webchat.agent_token adds a shared token every agent request must carry
// (header X-Deskbot-Agent-Token).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bot/chat/http_route.h"
#include "bot/core/chat.h"
#include "bot/core/store.h"

namespace deskbot::chat {

struct WebChatOptions {
  // Whether a user id is an agent of the web chat (the service's agents.ids).
  std::function<bool(const std::string& user)> is_agent;
  std::string agent_token;  // "" = none required
};

class WebChat final : public ChatConnector {
 public:
  static constexpr const char* kName = "webchat";
  static constexpr const char* kAgentsConversation = "agents";

  WebChat(Store& store, InboxSink& inbox, WebChatOptions options);

  const std::string& name() const override { return name_; }
  util::Result<Inbound> Decode(const InboxEvent& event) const override;
  util::Result<std::string> PostSuggestion(const OutboundContext& ctx,
                                           const SuggestionPost& post) override;
  util::Status UpdateSuggestion(const OutboundContext& ctx, const SuggestionUpdate& update) override;
  util::Result<std::string> PostAnswer(const OutboundContext& ctx, const ChatPost& post) override;
  util::Result<std::string> PostNotice(const OutboundContext& ctx, const ChatPost& post) override;
  util::Result<std::string> PostRefusal(const OutboundContext& ctx, const ChatPost& post) override;
  util::Result<DeliveryCheck> WasDelivered(const OutboxRow& row) override;

  // The page and the JSON API, for the service to serve.
  std::vector<HttpRoute> Routes();

 private:
  util::Result<std::string> Keep(const OutboundContext& ctx, const std::string& conversation,
                                  const std::string& thread, const std::string& kind,
                                  const std::string& text, std::int64_t suggestion_id);
  bool AgentTokenOk(const http::server::Request& request) const;

  void Ask(const http::server::Request& request, Respond respond);
  void Decide(const http::server::Request& request, Respond respond);
  void Conversation(const http::server::Request& request, Respond respond);
  void Suggestions(const http::server::Request& request, Respond respond);
  void Page(const http::server::Request& request, Respond respond);

  deskbot::Store& store_;
  InboxSink& inbox_;
  WebChatOptions options_;
  std::string name_ = kName;
};

}  // namespace deskbot::chat
