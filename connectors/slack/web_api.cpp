#include "connectors/slack/web_api.h"

#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

#include "connectors/http/retry.h"

namespace slack {

using json = nlohmann::json;
using util::Result;
using util::Status;

namespace {

std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

Status MakeStatus(Status::Code code, std::string msg) {
  switch (code) {
    case Status::Code::kUnauthorized: return Status::Unauthorized(std::move(msg));
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(msg));
    case Status::Code::kNotFound: return Status::NotFound(std::move(msg));
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
    case Status::Code::kAlreadyExists: return Status::AlreadyExists(std::move(msg));
    case Status::Code::kCorruption: return Status::Corruption(std::move(msg));
    case Status::Code::kInternal: return Status::Internal(std::move(msg));
    default: return Status::IOError(std::move(msg));
  }
}

// Slack's error details (response_metadata.messages, needed/provided scopes)
// help whoever reads the log fix the request; they hold no secrets.
std::string ErrorDetails(const json& body) {
  std::string out;
  if (body.contains("response_metadata") && body["response_metadata"].is_object()) {
    const json& msgs = body["response_metadata"].value("messages", json::array());
    if (msgs.is_array()) {
      for (const auto& m : msgs) {
        if (m.is_string()) out += (out.empty() ? "" : "; ") + m.get<std::string>();
      }
    }
  }
  std::string needed = Str(body, "needed"), provided = Str(body, "provided");
  if (!needed.empty()) out += (out.empty() ? "" : "; ") + ("needed scope " + needed);
  if (!provided.empty()) out += (out.empty() ? "" : "; ") + ("provided " + provided);
  if (out.size() > 500) out = out.substr(0, 500) + "...";
  return out;
}

Status ParseBlocksInto(json& body, const std::string& blocks_json, const char* method) {
  if (blocks_json.empty()) return Status::OK();
  json blocks = json::parse(blocks_json, nullptr, false);
  if (blocks.is_discarded() || !blocks.is_array()) {
    return Status::InvalidArgument(std::string("slack ") + method + ": blocks must be a JSON array");
  }
  body["blocks"] = std::move(blocks);
  return Status::OK();
}

Result<json> ParseOk(const Result<std::string>& body) {
  if (!body.ok()) return body.status();
  return json::parse(*body);  // Call() already checked it parses
}

}  // namespace

Status::Code CodeForSlackError(std::string_view error) {
  static const std::set<std::string_view> kAuth = {
      "not_authed",      "invalid_auth",        "account_inactive", "token_revoked",
      "token_expired",   "missing_scope",       "no_permission",    "not_allowed_token_type",
      "ekm_access_denied", "team_access_not_granted", "org_login_required", "two_factor_setup_required",
      "invalid_token",   "app_missing_action_url"};
  static const std::set<std::string_view> kRetry = {
      "ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable",
      "request_timeout", "team_added_to_org", "accesslimited"};
  static const std::set<std::string_view> kNotFound = {
      "channel_not_found", "message_not_found", "user_not_found", "thread_not_found",
      "not_in_channel", "view_not_found", "unknown_method"};
  if (kAuth.count(error)) return Status::Code::kUnauthorized;
  if (kRetry.count(error)) return Status::Code::kUnavailable;
  if (kNotFound.count(error)) return Status::Code::kNotFound;
  return Status::Code::kInvalidArgument;
}

std::string ErrorCode(const Status& status) {
  if (status.ok()) return "";
  const std::string& m = status.message();
  size_t at = m.find("slack ");
  if (at == std::string::npos) return "";
  size_t colon = m.find(": ", at);
  if (colon == std::string::npos) return "";
  size_t b = colon + 2, e = b;
  while (e < m.size() && (std::islower(static_cast<unsigned char>(m[e])) ||
                          std::isdigit(static_cast<unsigned char>(m[e])) || m[e] == '_'))
    ++e;
  return m.substr(b, e - b);
}

Result<std::unique_ptr<WebApi>> WebApi::Create(WebApiOptions options) {
  auto client = http::Client::Create(options.http);
  if (!client.ok()) return client.status().WithContext("slack");
  auto api = std::make_unique<WebApi>(std::move(options), client->get());
  api->owned_ = std::move(*client);
  return api;
}

WebApi::WebApi(WebApiOptions options, http::Client* client)
    : options_(std::move(options)), client_(client) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
}

WebApi::~WebApi() = default;

Result<std::string> WebApi::Call(std::string_view method_view, std::string_view json_body,
                                 bool use_app_token) {
  const std::string method(method_view);
  const std::string where = "slack " + method;
  const std::string& token = use_app_token ? options_.app_token : options_.bot_token;
  if (token.empty()) {
    return Status::Unauthorized(where + ": not_authed (no " +
                                (use_app_token ? "app" : "bot") + " token configured)");
  }
  http::Request req;
  req.method = "POST";
  req.url = options_.base_url + "/" + method;
  req.headers.Set("Authorization", "Bearer " + token);
  req.headers.Set("Content-Type", "application/json; charset=utf-8");
  req.body = json_body.empty() ? "{}" : std::string(json_body);
  // Slack answers 5xx before acting in nearly every case, so posting again is
  // what its SDKs do too; a rare duplicate beats a lost answer.
  req.retry_non_idempotent = true;
  // We read the status ourselves: 429 and ok:false need Slack's own words.
  req.fail_on_http_error = false;

  auto resp = client_->Send(req);
  if (!resp.ok()) {
    // The client gives up at once on a Retry-After longer than it may wait;
    // that is still Slack's rate limit, so name it the way Slack does.
    if (resp.status().message().find("HTTP 429") != std::string::npos) {
      return Status::Unavailable(where + ": ratelimited (" + resp.status().message() + ")");
    }
    return resp.status().WithContext(where);
  }
  const http::Response& r = *resp;

  if (r.status == 429) {
    std::string msg = where + ": ratelimited (HTTP 429";
    if (auto ra = r.headers.Get("Retry-After")) {
      if (auto wait = http::ParseRetryAfter(*ra, std::chrono::system_clock::now())) {
        msg += ", retry after " + std::to_string((wait->count() + 999) / 1000) + " s";
      }
    }
    return Status::Unavailable(msg + ")");
  }
  json body = json::parse(r.body, nullptr, false);
  if (r.status < 200 || r.status >= 300) {
    std::string error = body.is_object() ? Str(body, "error") : "";
    if (error.empty()) error = "http_" + std::to_string(r.status);
    Status::Code code = r.status >= 500 ? Status::Code::kUnavailable
                        : body.is_object() && !Str(body, "error").empty()
                            ? CodeForSlackError(error)
                            : http::CodeForHttpStatus(r.status);
    return MakeStatus(code, where + ": " + error + " (HTTP " + std::to_string(r.status) + ")");
  }
  if (body.is_discarded() || !body.is_object()) {
    return Status::IOError(where + ": malformed JSON response (HTTP " + std::to_string(r.status) + ")");
  }
  auto ok = body.find("ok");
  if (ok == body.end() || !ok->is_boolean()) {
    return Status::IOError(where + ": response without \"ok\"");
  }
  if (!ok->get<bool>()) {
    std::string error = Str(body, "error");
    if (error.empty()) error = "unknown_error";
    std::string msg = where + ": " + error;
    if (std::string details = ErrorDetails(body); !details.empty()) msg += " (" + details + ")";
    return MakeStatus(CodeForSlackError(error), msg);
  }
  return r.body;
}

Result<PostedMessage> WebApi::PostMessage(const slack::PostMessage& m) {
  if (m.channel.empty()) return Status::InvalidArgument("slack chat.postMessage: channel_not_found (no channel given)");
  if (m.text.empty() && m.blocks_json.empty()) {
    return Status::InvalidArgument("slack chat.postMessage: no_text");
  }
  json body = {{"channel", m.channel}, {"text", m.text},
               {"unfurl_links", m.unfurl}, {"unfurl_media", m.unfurl}};
  DESK_RETURN_IF_ERROR(ParseBlocksInto(body, m.blocks_json, "chat.postMessage"));
  if (!m.thread_ts.empty()) body["thread_ts"] = m.thread_ts;
  if (m.reply_broadcast) body["reply_broadcast"] = true;
  auto r = ParseOk(Call("chat.postMessage", body.dump()));
  if (!r.ok()) return r.status();
  PostedMessage out{Str(*r, "channel"), Str(*r, "ts")};
  if (out.ts.empty()) return Status::IOError("slack chat.postMessage: response without ts");
  return out;
}

Result<PostedMessage> WebApi::Update(const UpdateMessage& m) {
  if (m.channel.empty() || m.ts.empty()) {
    return Status::InvalidArgument("slack chat.update: channel and ts are required");
  }
  json body = {{"channel", m.channel}, {"ts", m.ts}, {"text", m.text}};
  DESK_RETURN_IF_ERROR(ParseBlocksInto(body, m.blocks_json, "chat.update"));
  auto r = ParseOk(Call("chat.update", body.dump()));
  if (!r.ok()) return r.status();
  return PostedMessage{Str(*r, "channel"), Str(*r, "ts")};
}

Result<std::string> WebApi::PostEphemeral(const slack::PostEphemeral& m) {
  if (m.channel.empty() || m.user.empty()) {
    return Status::InvalidArgument("slack chat.postEphemeral: channel and user are required");
  }
  json body = {{"channel", m.channel}, {"user", m.user}, {"text", m.text}};
  DESK_RETURN_IF_ERROR(ParseBlocksInto(body, m.blocks_json, "chat.postEphemeral"));
  if (!m.thread_ts.empty()) body["thread_ts"] = m.thread_ts;
  auto r = ParseOk(Call("chat.postEphemeral", body.dump()));
  if (!r.ok()) return r.status();
  return Str(*r, "message_ts");
}

Result<std::string> WebApi::OpenView(std::string_view trigger_id, std::string_view view_json) {
  if (trigger_id.empty()) return Status::InvalidArgument("slack views.open: trigger_id is required");
  json view = json::parse(view_json.begin(), view_json.end(), nullptr, false);
  if (view.is_discarded() || !view.is_object()) {
    return Status::InvalidArgument("slack views.open: view must be a JSON object");
  }
  json body = {{"trigger_id", std::string(trigger_id)}, {"view", std::move(view)}};
  auto r = ParseOk(Call("views.open", body.dump()));
  if (!r.ok()) return r.status();
  const json& v = r->contains("view") ? (*r)["view"] : json();
  return v.is_object() ? Str(v, "id") : std::string();
}

Result<AuthInfo> WebApi::AuthTest() {
  auto r = ParseOk(Call("auth.test", "{}"));
  if (!r.ok()) return r.status();
  return AuthInfo{Str(*r, "url"),     Str(*r, "team"),    Str(*r, "user"),
                  Str(*r, "team_id"), Str(*r, "user_id"), Str(*r, "bot_id")};
}

Result<std::string> WebApi::OpenConnection() {
  auto r = ParseOk(Call("apps.connections.open", "{}", /*use_app_token=*/true));
  if (!r.ok()) return r.status();
  std::string url = Str(*r, "url");
  if (url.rfind("wss://", 0) != 0 && url.rfind("ws://", 0) != 0) {
    return Status::IOError("slack apps.connections.open: response without a ws(s):// url");
  }
  return url;
}

}  // namespace slack
