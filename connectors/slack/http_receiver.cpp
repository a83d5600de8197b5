#include "connectors/slack/http_receiver.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace slack {

using http::server::Request;
using http::server::Response;
using json = nlohmann::json;

namespace {

Response BadRequest(const util::Status& st) { return Response::Text(400, st.message() + "\n"); }

int RetryNum(const Request& r) {
  std::string v = r.headers.Get("X-Slack-Retry-Num");
  int n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

}  // namespace

HttpReceiver::HttpReceiver(HttpReceiverOptions options, EnvelopeHandler handler)
    : options_(std::move(options)),
      verifier_(options_.signing_secret, options_.now),
      handler_(std::move(handler)) {}

void HttpReceiver::Register(http::server::Router& router) const {
  router.Add("POST", options_.events_path, [this](const Request& r) { return HandleEvents(r); });
  router.Add("POST", options_.interactivity_path,
             [this](const Request& r) { return HandleInteractivity(r); });
  router.Add("POST", options_.commands_path, [this](const Request& r) { return HandleCommand(r); });
}

bool HttpReceiver::Verified(const Request& r, Response* refusal) const {
  util::Status st = verifier_.Verify(r.headers.Get("X-Slack-Request-Timestamp"),
                                     r.headers.Get("X-Slack-Signature"), r.body);
  if (st.ok()) return true;
  *refusal = Response::Text(401, "invalid signature\n");
  return false;
}

Response HttpReceiver::Deliver(SocketFrame frame) const {
  util::Result<std::string> reply = util::Status::Internal("handler threw");
  try {
    reply = handler_(frame);
  } catch (const std::exception&) {
  }
  // Not stored: 500 makes Slack deliver again (events retry up to 3 times).
  if (!reply.ok()) return Response::Text(500, "not stored, retry later\n");
  if (reply->empty()) return Response::Text(200, "");
  return Response::Json(200, *reply);
}

Response HttpReceiver::HandleEvents(const Request& r) const {
  Response refusal;
  if (!Verified(r, &refusal)) return refusal;
  auto env = ParseEventEnvelope(r.body);
  if (!env.ok()) return BadRequest(env.status());
  if (env->type == EventEnvelope::Type::kUrlVerification) return Response::Text(200, env->challenge);
  SocketFrame frame;
  frame.type = SocketFrame::Type::kEnvelope;
  frame.type_name = "events_api";
  frame.envelope_id = env->event_id;
  frame.payload_json = r.body;
  frame.retry_attempt = RetryNum(r);
  frame.retry_reason = r.headers.Get("X-Slack-Retry-Reason");
  return Deliver(std::move(frame));
}

Response HttpReceiver::HandleInteractivity(const Request& r) const {
  Response refusal;
  if (!Verified(r, &refusal)) return refusal;
  auto form = ParseForm(r.body);
  if (!form.ok()) return BadRequest(form.status());
  SocketFrame frame;
  for (auto& [name, value] : *form) {
    if (name == "payload") frame.payload_json = std::move(value);
  }
  auto parsed = ParseInteraction(frame.payload_json);
  if (!parsed.ok()) return BadRequest(parsed.status());
  frame.type = SocketFrame::Type::kEnvelope;
  frame.type_name = "interactive";
  frame.accepts_response_payload = true;
  return Deliver(std::move(frame));
}

Response HttpReceiver::HandleCommand(const Request& r) const {
  Response refusal;
  if (!Verified(r, &refusal)) return refusal;
  auto form = ParseForm(r.body);
  if (!form.ok()) return BadRequest(form.status());
  // The same JSON object of strings Socket Mode carries.
  json payload = json::object();
  for (auto& [name, value] : *form) payload[name] = value;
  SocketFrame frame;
  frame.payload_json = payload.dump();
  auto parsed = ParseSlashCommand(frame.payload_json);
  if (!parsed.ok()) return BadRequest(parsed.status());
  frame.type = SocketFrame::Type::kEnvelope;
  frame.type_name = "slash_commands";
  frame.accepts_response_payload = true;
  return Deliver(std::move(frame));
}

}  // namespace slack
