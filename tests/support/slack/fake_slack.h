// A fake Slack for tests: the Web API methods a chat bot uses and a Socket
// Mode WebSocket endpoint, on loopback, checking requests the way Slack does.
//
//   slack_fake::FakeSlack slack;
//   REQUIRE(slack.Start().ok());
//   WebApiOptions opt{.base_url = slack.api_base_url(), .bot_token = slack.bot_token()};
//   ... exercise the code under test ...
//   CHECK(slack.calls("chat.postMessage").size() == 1);
//
// Web API (POST {api_base_url}/{method}, JSON or form bodies):
//   chat.postMessage, chat.update, chat.postEphemeral, views.open, auth.test,
//   apps.connections.open. Wrong/missing bearer token -> ok:false invalid_auth /
//   not_authed; the app token only for apps.connections.open and the bot token
//   only for the rest (not_allowed_token_type); channel/ts/user/trigger_id
//   required; blocks checked (invalid_blocks); view checked
//   (invalid_arguments); chat.update only for messages the bot posted
//   (message_not_found). Every call is recorded. Failures can be injected per
//   method: an HTTP status (429 with Retry-After, 500) or an ok:false error.
//
// Socket Mode: apps.connections.open returns ws://127.0.0.1:{port}/link/?ticket=N;
// each ticket works once (like Slack's). A new socket gets `hello`; the test
// then pushes envelopes / disconnect frames and reads back the acks.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

namespace slack_fake {

struct FakeSlackOptions {
  std::string bot_token = "xoxb-fake-bot-token";
  std::string app_token = "xapp-fake-app-token";
  std::string team_id = "T111";
  std::string team = "fake-team";
  std::string bot_user_id = "U0BOT";
  std::string bot_id = "B0BOT";
  std::string app_id = "A111";
  bool send_hello = true;  // greet new sockets with hello
  bool answer_pings = true;  // false: a peer that went silent (pong timeouts)
};

struct RecordedCall {
  std::string method;         // "chat.postMessage"
  std::string authorization;  // the header as received
  std::string content_type;
  std::string body;           // raw request body
  std::string params_json;    // the body as a JSON object (form bodies converted)
  int status = 0;             // HTTP status answered
  std::string response;       // body answered
};

struct RecordedAck {
  uint64_t socket = 0;        // which socket carried it
  std::string envelope_id;
  std::string payload_json;   // "" when the ack had no payload
  std::string raw;
};

class FakeSlack {
 public:
  explicit FakeSlack(FakeSlackOptions options = {});
  ~FakeSlack();
  FakeSlack(const FakeSlack&) = delete;
  FakeSlack& operator=(const FakeSlack&) = delete;

  util::Status Start();
  void Stop();

  const std::string& bot_token() const;
  const std::string& app_token() const;
  std::string api_base_url() const;  // "http://127.0.0.1:{port}/api"

  // ---- Web API
  std::vector<RecordedCall> calls(std::string_view method = {}) const;
  bool WaitForCalls(std::string_view method, size_t n, std::chrono::milliseconds timeout) const;
  // The next call to `method` ("*" = any) answers with this HTTP status and
  // body (and Retry-After when given) instead of its normal answer.
  void FailNextHttp(std::string method, int status, std::string body = "",
                    std::string retry_after = "");
  // The next call to `method` answers HTTP 200 {"ok":false,"error":error}.
  void FailNextWithError(std::string method, std::string error);

  // ---- Socket Mode
  int open_sockets() const;
  uint64_t sockets_accepted() const;  // ever
  int max_open_sockets() const;       // the most open at one time, ever
  std::vector<uint64_t> socket_ids() const;  // open ones, oldest first
  bool WaitForSockets(int n, std::chrono::milliseconds timeout) const;
  // Sends a raw text frame / an envelope (a JSON object with envelope_id) /
  // {"type":"disconnect","reason":reason} on one socket.
  util::Status SendFrame(uint64_t socket, std::string text);
  util::Status SendDisconnect(uint64_t socket, std::string reason);
  // Drops a socket without a close handshake (a network failure).
  void DropSocket(uint64_t socket);
  std::vector<RecordedAck> acks() const;
  bool WaitForAcks(size_t n, std::chrono::milliseconds timeout) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace slack_fake
