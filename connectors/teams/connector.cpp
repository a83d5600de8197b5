#include "connectors/teams/connector.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <nlohmann/json.hpp>

#include "connectors/http/client.h"
#include "connectors/http/url.h"
#include "connectors/teams/json_fields.h"

namespace teams {
namespace {

using nlohmann::json;
using internal::Field;
using internal::Str;
using SysTime = std::chrono::system_clock::time_point;

bool StartsWith(const std::string& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), s.begin(),
      [](char a, char b) { return std::tolower(uint8_t(a)) == std::tolower(uint8_t(b)); });
}

bool AllowedUrl(const std::string& url, bool allow_http) {
  return StartsWith(url, "https://") || (allow_http && StartsWith(url, "http://"));
}

// Keeps an untrusted excerpt (an error description from a server) short and
// on one line.
std::string Excerpt(std::string text, size_t max = 200) {
  if (text.size() > max) text = text.substr(0, max) + "...";
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return text;
}

// A Status whose code follows the HTTP status, as the shared client does.
util::Status StatusFor(int http_status, std::string message) {
  switch (http::CodeForHttpStatus(http_status)) {
    case util::Status::Code::kInvalidArgument: return util::Status::InvalidArgument(std::move(message));
    case util::Status::Code::kUnauthorized: return util::Status::Unauthorized(std::move(message));
    case util::Status::Code::kNotFound: return util::Status::NotFound(std::move(message));
    case util::Status::Code::kAlreadyExists: return util::Status::AlreadyExists(std::move(message));
    case util::Status::Code::kUnavailable: return util::Status::Unavailable(std::move(message));
    default: return util::Status::IOError(std::move(message));
  }
}

// The number in "expires_in": AAD v2 sends a number, v1 a string.
long long ExpiresIn(const json& doc) {
  const json& v = Field(doc, "expires_in");
  if (v.is_number()) return v.get<long long>();
  if (v.is_string()) {
    try {
      return std::stoll(v.get<std::string>());
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

// ---------------------------------------------------------------- tokens

class TokenProvider::Impl {
 public:
  Impl(CredentialsOptions options, http::Client& client)
      : options_(std::move(options)), client_(client) {
    if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
  }

  util::Result<std::string> Token() {
    std::lock_guard<std::mutex> lock(mu_);
    SysTime now = options_.clock();
    if (!token_.empty() && now < refresh_at_) return token_;
    return RequestLocked(now);
  }

  void Invalidate() {
    std::lock_guard<std::mutex> lock(mu_);
    token_.clear();
  }

  uint64_t requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  util::Result<std::string> RequestLocked(SysTime now) {
    if (options_.app_id.empty() || options_.app_secret.empty()) {
      return util::Status::InvalidArgument("teams token: app id or app secret is not configured");
    }
    if (!AllowedUrl(options_.token_url, options_.allow_http)) {
      return util::Status::InvalidArgument("teams token: token URL must be https");
    }
    http::Request request;
    request.method = "POST";
    request.url = options_.token_url;
    request.headers.Set("Content-Type", "application/x-www-form-urlencoded");
    request.headers.Set("Accept", "application/json");
    request.body = http::EncodeQuery({{"grant_type", "client_credentials"},
                                      {"client_id", options_.app_id},
                                      {"client_secret", options_.app_secret},
                                      {"scope", options_.scope}});
    // Asking for a token twice has no side effect worth avoiding.
    request.retry_non_idempotent = true;
    request.fail_on_http_error = false;
    ++requests_;
    auto response = client_.Send(request);
    if (!response.ok()) return response.status().WithContext("teams token");
    json doc = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
    if (response->status < 200 || response->status > 299) {
      // AAD: {"error":"invalid_client","error_description":"AADSTS7000215: ..."}.
      std::string detail = Str(doc, "error");
      std::string description = Str(doc, "error_description");
      if (!description.empty()) detail += ": " + Excerpt(description, 120);
      return StatusFor(response->status, "teams token: HTTP " + std::to_string(response->status) +
                                             (detail.empty() ? "" : " " + detail));
    }
    std::string token = Str(doc, "access_token");
    long long expires_in = ExpiresIn(doc);
    if (token.empty() || expires_in <= 0) {
      return util::Status::IOError("teams token: response has no access_token/expires_in");
    }
    // Refresh early, but never so early that a short-lived token is never reused.
    auto lifetime = std::chrono::seconds(expires_in);
    auto margin = std::min<std::chrono::seconds>(options_.refresh_before_expiry, lifetime / 2);
    token_ = std::move(token);
    refresh_at_ = now + lifetime - margin;
    return token_;
  }

  CredentialsOptions options_;
  http::Client& client_;
  mutable std::mutex mu_;
  std::string token_;
  SysTime refresh_at_{};
  uint64_t requests_ = 0;
};

TokenProvider::TokenProvider(CredentialsOptions options, http::Client& client)
    : impl_(std::make_unique<Impl>(std::move(options), client)) {}
TokenProvider::~TokenProvider() = default;
util::Result<std::string> TokenProvider::Token() { return impl_->Token(); }
void TokenProvider::Invalidate() { impl_->Invalidate(); }
uint64_t TokenProvider::token_requests() const { return impl_->requests(); }

// ---------------------------------------------------------------- activities

util::Result<std::string> OutgoingActivityJson(const OutgoingActivity& a) {
  json body = {{"type", a.type}};
  if (!a.text.empty()) body["text"] = a.text;
  if (!a.text_format.empty()) body["textFormat"] = a.text_format;
  if (!a.reply_to_id.empty()) body["replyToId"] = a.reply_to_id;
  json attachments = json::array();
  for (size_t i = 0; i < a.attachments_json.size(); ++i) {
    json parsed = json::parse(a.attachments_json[i], nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object()) {
      return util::Status::InvalidArgument("activity: attachment " + std::to_string(i) +
                                           " is not a JSON object");
    }
    attachments.push_back(std::move(parsed));
  }
  body["attachments"] = std::move(attachments);
  return internal::Dump(body);
}

std::string ActivitiesUrl(const std::string& service_url, const std::string& conversation_id,
                          const std::string& activity_id) {
  std::string url = service_url;
  if (url.empty() || url.back() != '/') url += '/';
  url += "v3/conversations/" + http::PercentEncode(conversation_id) + "/activities";
  if (!activity_id.empty()) url += "/" + http::PercentEncode(activity_id);
  return url;
}

class ConnectorClient::Impl {
 public:
  Impl(ConnectorOptions options, http::Client& client)
      : options_(std::move(options)), client_(client), tokens_(options_.credentials, client) {}

  util::Result<std::string> Send(const char* what, const std::string& method,
                                 const std::string& service_url, const std::string& conversation_id,
                                 const std::string& activity_id, const OutgoingActivity& activity) {
    std::string context = std::string("teams ") + what;
    if (conversation_id.empty()) {
      return util::Status::InvalidArgument(context + ": empty conversation id");
    }
    if (!AllowedUrl(service_url, options_.allow_http_service_url)) {
      return util::Status::InvalidArgument(context + ": serviceUrl must be https");
    }
    http::Request request;
    request.method = method;
    request.url = ActivitiesUrl(service_url, conversation_id, activity_id);
    request.headers.Set("Content-Type", "application/json; charset=utf-8");
    request.headers.Set("Accept", "application/json");
    auto body = OutgoingActivityJson(activity);
    if (!body.ok()) return body.status().WithContext(context);
    request.body = std::move(*body);
    // Microsoft asks bots to retry throttled and failed sends; a rare
    // duplicate message is better than a lost answer.
    request.retry_non_idempotent = true;
    request.fail_on_http_error = false;

    // One more try with a fresh token if the Connector refuses the cached one.
    for (int attempt = 0;; ++attempt) {
      auto token = tokens_.Token();
      if (!token.ok()) return token.status().WithContext(context);
      request.headers.Set("Authorization", "Bearer " + *token);
      auto response = client_.Send(request);
      if (!response.ok()) return response.status().WithContext(context);
      if (response->status == 401 && attempt == 0) {
        tokens_.Invalidate();
        continue;
      }
      // A PUT answers with the id it updated; keep ours if the body omits it.
      return ResultFrom(context, *response, method == "PUT" ? activity_id : std::string());
    }
  }

  TokenProvider& tokens() { return tokens_; }

 private:
  static util::Result<std::string> ResultFrom(const std::string& context,
                                              const http::Response& response,
                                              const std::string& fallback_id) {
    json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (response.status < 200 || response.status > 299) {
      // {"error":{"code":"ConversationNotFound","message":"..."}}
      const json& error = Field(doc, "error");
      std::string detail = Str(error, "code");
      std::string message = Str(error, "message");
      if (!message.empty()) detail += (detail.empty() ? "" : ": ") + Excerpt(message);
      return StatusFor(response.status, context + ": HTTP " + std::to_string(response.status) +
                                            (detail.empty() ? "" : " " + detail));
    }
    std::string id = Str(doc, "id");
    return id.empty() ? fallback_id : id;
  }

  ConnectorOptions options_;
  http::Client& client_;
  TokenProvider tokens_;
};

ConnectorClient::ConnectorClient(ConnectorOptions options, http::Client& client)
    : impl_(std::make_unique<Impl>(std::move(options), client)) {}
ConnectorClient::~ConnectorClient() = default;

util::Result<std::string> ConnectorClient::ReplyToActivity(const std::string& service_url,
                                                           const std::string& conversation_id,
                                                           const std::string& reply_to_id,
                                                           OutgoingActivity activity) {
  if (reply_to_id.empty()) return util::Status::InvalidArgument("teams reply: empty replyToId");
  activity.reply_to_id = reply_to_id;
  return impl_->Send("reply", "POST", service_url, conversation_id, reply_to_id, activity);
}

util::Result<std::string> ConnectorClient::SendToConversation(const std::string& service_url,
                                                              const std::string& conversation_id,
                                                              const OutgoingActivity& activity) {
  return impl_->Send("send", "POST", service_url, conversation_id, "", activity);
}

util::Result<std::string> ConnectorClient::UpdateActivity(const std::string& service_url,
                                                          const std::string& conversation_id,
                                                          const std::string& activity_id,
                                                          const OutgoingActivity& activity) {
  if (activity_id.empty()) return util::Status::InvalidArgument("teams update: empty activity id");
  return impl_->Send("update", "PUT", service_url, conversation_id, activity_id, activity);
}

TokenProvider& ConnectorClient::tokens() { return impl_->tokens(); }

}  // namespace teams
