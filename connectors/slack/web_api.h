// The Slack Web API methods a chat bot needs, on the shared HTTP client.
//
//   slack::WebApiOptions opt;
//   opt.bot_token = config.Secret("slack.bot_token");
//   auto api = slack::WebApi::Create(opt);
//   auto posted = (*api)->PostMessage({.channel = "C1", .text = "hi", .thread_ts = ts});
//
// Errors: Slack answers most failures with HTTP 200 and {"ok":false,"error":
// "<code>"}; those come back as a Status whose message is
// "slack <method>: <code>" (see ErrorCode()) and whose code says what to do:
//   kUnauthorized  auth errors (invalid_auth, not_authed, token_revoked,
//                  missing_scope, ...): permanent, alert a human
//   kUnavailable   ratelimited / HTTP 429 (after the client's own waits,
//                  honouring Retry-After), 5xx, internal_error: retry later
//   kNotFound      channel_not_found, message_not_found, ...
//   kInvalidArgument anything else (invalid_blocks, msg_too_long, ...)
// Tokens travel only in the Authorization header and never appear in errors.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/http/client.h"
#include "connectors/util/status.h"

namespace slack {

struct WebApiOptions {
  std::string base_url = "https://slack.com/api";  // tests point this at a local server
  std::string bot_token;  // xoxb-...: every method except apps.connections.open
  std::string app_token;  // xapp-...: apps.connections.open only
  http::ClientOptions http;  // timeouts, retries (429 / 5xx), CA file
};

struct PostMessage {
  std::string channel;
  std::string text;         // fallback / notification text (required by Slack with blocks)
  std::string blocks_json;  // JSON array, optional
  std::string thread_ts;    // reply in this thread
  bool reply_broadcast = false;
  bool unfurl = false;      // link previews off by default: answers cite ticket URLs
};

struct UpdateMessage {
  std::string channel;
  std::string ts;
  std::string text;
  std::string blocks_json;
};

struct PostEphemeral {
  std::string channel;
  std::string user;
  std::string text;
  std::string blocks_json;
  std::string thread_ts;
};

struct PostedMessage {
  std::string channel;
  std::string ts;
};

struct AuthInfo {
  std::string url;
  std::string team;
  std::string user;
  std::string team_id;
  std::string user_id;  // the bot's own user: ignore its messages
  std::string bot_id;
};

class WebApi {
 public:
  // Fails when the HTTP client cannot be set up (bad CA file).
  static util::Result<std::unique_ptr<WebApi>> Create(WebApiOptions options);
  // Uses an existing client (shared with other connectors); it must outlive this.
  WebApi(WebApiOptions options, http::Client* client);
  ~WebApi();

  util::Result<PostedMessage> PostMessage(const slack::PostMessage& m);
  util::Result<PostedMessage> Update(const UpdateMessage& m);
  // Returns message_ts.
  util::Result<std::string> PostEphemeral(const slack::PostEphemeral& m);
  // Opens a modal; `view_json` is a view object. Returns the view id.
  util::Result<std::string> OpenView(std::string_view trigger_id, std::string_view view_json);
  util::Result<AuthInfo> AuthTest();
  // apps.connections.open with the app token: a single-use wss:// URL.
  util::Result<std::string> OpenConnection();

  // Any method with a JSON body (an object). Returns the whole response body
  // when ok is true. `use_app_token` picks the xapp- token.
  util::Result<std::string> Call(std::string_view method, std::string_view json_body,
                                 bool use_app_token = false);

 private:
  WebApiOptions options_;
  std::unique_ptr<http::Client> owned_;
  http::Client* client_;
};

// The Slack error code of a Status returned by WebApi ("invalid_auth",
// "ratelimited", "http_500", ...), or "" for other statuses.
std::string ErrorCode(const util::Status& status);

// The Status code Slack's `error` maps to (see the table above).
util::Status::Code CodeForSlackError(std::string_view error);

}  // namespace slack
