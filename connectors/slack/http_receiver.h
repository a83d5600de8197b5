// Slack's HTTP deliveries (Events API, interactivity, slash commands) on the
// project's HTTP server, handed to the same handler Socket Mode uses.
//
//   http::server::Router router;
//   slack::HttpReceiver receiver({.signing_secret = secret}, handler);
//   receiver.Register(router);   // POST /slack/events, /slack/interactivity, /slack/commands
//
// For every request: the v0 signature is checked over the raw body (401 if
// bad), url_verification is answered here, and anything else becomes a
// SocketFrame like the one Socket Mode would have delivered (type_name
// "events_api" / "interactive" / "slash_commands", payload_json, retry_attempt
// and retry_reason from X-Slack-Retry-Num / -Reason) and goes to the handler.
// The handler persists it and returns; its reply JSON becomes the 200 body.
// A handler error answers 500 so Slack retries (events) -- nothing is lost.
// Unlike Socket Mode, the handler may run on several server threads at once.
#pragma once

#include <string>

#include "connectors/http/server.h"
#include "connectors/slack/signing.h"
#include "connectors/slack/socket_mode.h"

namespace slack {

struct HttpReceiverOptions {
  std::string signing_secret;
  UnixClock now = SystemUnixNow;  // injectable for tests
  std::string events_path = "/slack/events";
  std::string interactivity_path = "/slack/interactivity";
  std::string commands_path = "/slack/commands";
};

class HttpReceiver {
 public:
  HttpReceiver(HttpReceiverOptions options, EnvelopeHandler handler);

  // Adds the three POST routes. The receiver must outlive the router's use.
  void Register(http::server::Router& router) const;

  http::server::Response HandleEvents(const http::server::Request& r) const;
  http::server::Response HandleInteractivity(const http::server::Request& r) const;
  http::server::Response HandleCommand(const http::server::Request& r) const;

 private:
  // False (and a 401 in *refusal) when the request is not signed by Slack.
  bool Verified(const http::server::Request& r, http::server::Response* refusal) const;
  http::server::Response Deliver(SocketFrame frame) const;

  HttpReceiverOptions options_;
  SignatureVerifier verifier_;
  EnvelopeHandler handler_;
};

}  // namespace slack
