// Talking to Teams through the Bot Connector REST API (v3).
//
// TokenProvider gets the bot's access token with the OAuth2 client-credentials
// grant and caches it until shortly before it expires, so many sends cost one
// token request. ConnectorClient sends activities to the `serviceUrl` of a
// conversation: a reply in the thread of a message, a new message, or an
// in-place update of a message the bot sent (e.g. to replace a card).
//
// Both go through the shared http::Client, which retries 429/5xx with backoff
// and Retry-After. Errors name the operation and the Connector's error code;
// the app secret and tokens never appear in them.
//
// Only send to a serviceUrl taken from an authenticated activity (see
// auth.h): the bot's bearer token goes to that host.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "connectors/util/status.h"

namespace http {
class Client;
}

namespace teams {

inline constexpr char kBotFrameworkTokenUrl[] =
    "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";
inline constexpr char kBotFrameworkScope[] = "https://api.botframework.com/.default";

struct CredentialsOptions {
  std::string app_id;
  std::string app_secret;  // a secret: never logged, never in an error
  // Single-tenant bots use https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token.
  std::string token_url = kBotFrameworkTokenUrl;
  std::string scope = kBotFrameworkScope;
  // A cached token is replaced this long before it expires.
  std::chrono::seconds refresh_before_expiry{300};
  std::function<std::chrono::system_clock::time_point()> clock;  // default system_clock::now
  bool allow_http = false;  // plain-http token URL (tests against a local fake)
};

class TokenProvider {
 public:
  TokenProvider(CredentialsOptions options, http::Client& client);
  ~TokenProvider();
  TokenProvider(const TokenProvider&) = delete;
  TokenProvider& operator=(const TokenProvider&) = delete;

  // A valid access token, from the cache or a new token request. Thread-safe;
  // concurrent callers share one request.
  util::Result<std::string> Token();
  // Drops the cached token (after the Connector answered 401 with it).
  void Invalidate();
  // Token requests made so far (for tests and logs).
  uint64_t token_requests() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// An activity the bot sends.
struct OutgoingActivity {
  std::string type = "message";
  std::string text;
  std::string text_format = "markdown";      // "plain", "markdown", "xml"
  std::vector<std::string> attachments_json;  // e.g. AdaptiveCardAttachment(card)
  std::string reply_to_id;                    // set by ReplyToActivity
};

// The JSON body for `activity`. Fails when an attachment is not a JSON
// object (sending the message without its card would lose it silently).
util::Result<std::string> OutgoingActivityJson(const OutgoingActivity& activity);

struct ConnectorOptions {
  CredentialsOptions credentials;
  bool allow_http_service_url = false;  // tests against a local fake only
};

class ConnectorClient {
 public:
  ConnectorClient(ConnectorOptions options, http::Client& client);
  ~ConnectorClient();
  ConnectorClient(const ConnectorClient&) = delete;
  ConnectorClient& operator=(const ConnectorClient&) = delete;

  // POST {serviceUrl}v3/conversations/{conversationId}/activities/{replyToId}:
  // answers in the thread of message `reply_to_id`. Returns the new activity id.
  util::Result<std::string> ReplyToActivity(const std::string& service_url,
                                            const std::string& conversation_id,
                                            const std::string& reply_to_id,
                                            OutgoingActivity activity);
  // POST {serviceUrl}v3/conversations/{conversationId}/activities.
  util::Result<std::string> SendToConversation(const std::string& service_url,
                                               const std::string& conversation_id,
                                               const OutgoingActivity& activity);
  // PUT {serviceUrl}v3/conversations/{conversationId}/activities/{activityId}:
  // replaces a message the bot sent (for everyone). Returns the activity id.
  util::Result<std::string> UpdateActivity(const std::string& service_url,
                                           const std::string& conversation_id,
                                           const std::string& activity_id,
                                           const OutgoingActivity& activity);

  TokenProvider& tokens();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// "{serviceUrl}v3/conversations/{id}/activities[/{activityId}]" with the ids
// percent-encoded and exactly one slash after serviceUrl.
std::string ActivitiesUrl(const std::string& service_url, const std::string& conversation_id,
                          const std::string& activity_id = {});

}  // namespace teams
