// Slack as a ChatConnector: questions from app mentions, direct messages,
// messages in configured channels and `/deskbot ask ...`; agents decide with
// the Approve / Edit / Reject buttons of a suggestion posted to their channel.
//
// Inbound (HTTP Events API / interactivity / slash commands, or Socket Mode):
// every delivery is verified (signature, HTTP) by conn_slack_http, stored raw
// in the inbox (event key "slack:<event_id>", or the interaction's trigger id)
// and only then acknowledged. Decode() later says what it means:
//   app_mention, message.im, message in slack.channels -> Question (thread =
//     thread_ts || ts; dedupe key slack/<channel>/<ts>, so the app_mention and
//     the message Slack sends for one post are one question). Bots (ours
//     included) and message subtypes (edits, joins, ...) are ignored.
//   block_actions approve -> Verdict by the clicking user.
//   block_actions edit / reject -> nothing for the workflow: the modal is
//     opened in the delivery path itself (see below); its view_submission
//     -> Verdict (kEdit with the edited text, kReject with the reason).
//   /deskbot ask <text> -> Question; /deskbot status|help -> ChatCommand.
//
// Why the modals are opened in the delivery path: views.open needs the
// interaction's trigger_id, which expires 3 s after the click. A worker may
// run later than that (a backlog, a restart), so the modal is opened right
// after the click is stored, before the ack. A failed views.open is logged;
// the click itself stays stored (and ignored), the agent can click again.
//
// Outbound: the suggestion goes to slack.agents_channel (chat.postMessage,
// Block Kit from conn_slack blocks) and is updated in place (chat.update)
// once decided; answers go to the asker's thread; notices, refusals and
// command replies meant for one user are ephemeral. Messages carry Slack
// message metadata {event_type: deskbot_outbox, event_payload: {outbox_id}}
// so WasDelivered can look for them (conversations.replies/history) after a
// crash. Where Slack cannot be asked (ephemeral messages, an API without the
// method) the row is sent again: at least once, never zero times.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bot/chat/http_route.h"
#include "bot/core/chat.h"
#include "bot/core/config.h"
#include "bot/core/store.h"
#include "connectors/util/status.h"

namespace slack {
class WebApi;
class HttpReceiver;
class SocketModeClient;
class SignatureVerifier;
struct SocketFrame;
struct EventEnvelope;
}  // namespace slack

namespace deskbot::chat {

struct SlackOptions {
  std::string api_url = "https://slack.com/api";  // slack.api_url / DESKBOT_SLACK_API_URL
  std::string bot_token;        // xoxb-: every outbound call (secret slack.bot_token)
  std::string signing_secret;   // HTTP deliveries; "" = no HTTP routes
  std::string app_token;        // xapp-: Socket Mode; "" = no Socket Mode
  std::vector<std::string> channels;  // channels where every message is a question
  std::string agents_channel;   // where suggestions go; "" = ephemeral to each agent
  std::vector<std::string> agent_ids;  // for the ephemeral fallback
  std::string command = "/deskbot";
  int socket_connections = 2;
};

class SlackChat final : public ChatConnector {
 public:
  static constexpr const char* kName = "slack";
  static constexpr const char* kMetadataEventType = "deskbot_outbox";

  // Fails when the HTTP client cannot be set up or nothing is configured to
  // send with (no bot token). `store` is read to fill the edit modal.
  static util::Result<std::unique_ptr<SlackChat>> Create(Store& store, InboxSink& inbox,
                                                         SlackOptions options);
  ~SlackChat() override;

  const std::string& name() const override { return name_; }
  util::Result<Inbound> Decode(const InboxEvent& event) const override;
  util::Result<std::string> PostSuggestion(const OutboundContext& ctx,
                                           const SuggestionPost& post) override;
  util::Status UpdateSuggestion(const OutboundContext& ctx, const SuggestionUpdate& update) override;
  util::Result<std::string> PostAnswer(const OutboundContext& ctx, const ChatPost& post) override;
  util::Result<std::string> PostNotice(const OutboundContext& ctx, const ChatPost& post) override;
  util::Result<std::string> PostRefusal(const OutboundContext& ctx, const ChatPost& post) override;
  util::Result<DeliveryCheck> WasDelivered(const OutboxRow& row) override;

  // POST /slack/events, /slack/interactivity, /slack/commands (empty when no
  // signing secret is configured).
  std::vector<HttpRoute> Routes();
  bool socket_mode() const { return !options_.app_token.empty(); }
  // Socket Mode client, for Service::AddInboundClient.
  util::Status StartSocketMode();
  void StopSocketMode();

  // Stores one delivery (HTTP or Socket Mode) and returns the ack payload
  // once it is stored; opens the edit / reject modal for those buttons.
  util::Result<std::string> Receive(const slack::SocketFrame& frame);

 private:
  // The inbox row for a delivery; *open_modal says it is an Edit / Reject click.
  util::Result<InboxEvent> ToInboxEvent(const slack::SocketFrame& frame, bool* open_modal) const;
  // POST /slack/events without holding an I/O thread: verified and parsed
  // here, answered from the inbox writer's ack (group commit).
  void ReceiveEvents(const http::server::Request& request, Respond respond);

  SlackChat(Store& store, InboxSink& inbox, SlackOptions options);
  util::Result<std::string> Post(const OutboundContext& ctx, const ChatTarget& target,
                                 const std::string& text, const std::string& blocks_json,
                                 bool ephemeral);
  void OpenModal(const std::string& payload_json);

  Store& store_;
  InboxSink& inbox_;
  SlackOptions options_;
  std::string name_ = kName;
  std::unique_ptr<slack::WebApi> api_;
  std::unique_ptr<slack::HttpReceiver> receiver_;
  std::unique_ptr<slack::SignatureVerifier> verifier_;
  std::unique_ptr<slack::SocketModeClient> socket_;
};

// The inbox key of an Events API delivery: "slack:<event time>:<event_id>",
// the time taken from event.event_ts (microseconds, zero-padded so keys sort
// as times do) or else from event_time (seconds). The same for every
// redelivery, over HTTP or Socket Mode, so each event has one inbox row; keys
// that sort by time keep the inbox's unique index growing at its end.
std::string SlackEventKey(const slack::EventEnvelope& envelope, const std::string& event_id);

// The Slack adapter as configured: slack.bot_token plus slack.signing_secret
// (HTTP) and/or slack.app_token (Socket Mode), all secrets (env
// DESKBOT_SLACK_* or *_file); slack.api_url, slack.channels,
// slack.agents_channel, slack.command, slack.socket_connections. Returns null
// when no Slack credentials are configured (Slack stays off); an error when
// they are half configured. `agent_ids` feeds the ephemeral fallback.
util::Result<std::unique_ptr<SlackChat>> SlackFromConfig(const Config& config, Store& store,
                                                         InboxSink& inbox,
                                                         std::vector<std::string> agent_ids);

}  // namespace deskbot::chat
