// Authenticating inbound Bot Framework activities.
//
// Every activity the Bot Connector POSTs carries `Authorization: Bearer <JWT>`.
// The token is an RS256 JWS signed by one of the keys in the Bot Framework's
// JWK set, which is found through an OpenID metadata document:
//
//   metadata URL --GET--> {"jwks_uri": ...} --GET--> {"keys": [...]}
//
// BotAuthenticator checks the signature (key picked by the header's kid), the
// issuer, the audience (the bot's app id), exp/nbf with a clock skew, the
// key's channel endorsements, and that the token's `serviceurl` claim is the
// activity's serviceUrl -- without that last check anyone holding any valid
// Bot Framework token could make the bot send its own bearer token to a host
// of their choosing.
//
// Keys are cached; they are fetched again when they are older than
// key_refresh_interval, and when a token names an unknown kid (rate limited
// by min_refetch_interval so garbage kids cannot make us hammer the IdP).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/teams/jwt.h"
#include "connectors/util/status.h"

namespace http {
class Client;
}

namespace teams {

using Clock = std::function<std::chrono::system_clock::time_point()>;

inline constexpr char kBotFrameworkOpenIdMetadataUrl[] =
    "https://login.botframework.com/v1/.well-known/openidconfiguration";
inline constexpr char kBotFrameworkIssuer[] = "https://api.botframework.com";

// Where signing keys come from. The real one reads OpenID metadata over
// HTTPS; tests may supply keys directly.
class KeySource {
 public:
  virtual ~KeySource() = default;
  virtual util::Result<std::vector<Jwk>> FetchKeys() = 0;
};

// Fetches the metadata document, then its jwks_uri. Both must be https
// unless allow_http is set (tests against a local fake).
class OpenIdKeySource : public KeySource {
 public:
  OpenIdKeySource(std::string metadata_url, http::Client& client, bool allow_http = false);
  util::Result<std::vector<Jwk>> FetchKeys() override;

 private:
  std::string metadata_url_;
  http::Client& client_;
  bool allow_http_;
};

struct AuthOptions {
  std::string app_id;  // the bot's Microsoft App ID: the expected `aud`
  std::vector<std::string> issuers = {kBotFrameworkIssuer};
  std::chrono::seconds clock_skew{300};  // the SDKs allow 5 minutes
  std::chrono::seconds key_refresh_interval{std::chrono::hours(24)};
  std::chrono::seconds min_refetch_interval{std::chrono::minutes(5)};
  Clock clock;  // defaults to system_clock::now
};

// What a valid token vouched for.
struct VerifiedToken {
  std::string issuer;
  std::string audience;
  std::string service_url;
  std::string kid;
  std::chrono::system_clock::time_point expires_at;
};

class BotAuthenticator {
 public:
  BotAuthenticator(AuthOptions options, std::shared_ptr<KeySource> keys);
  ~BotAuthenticator();
  BotAuthenticator(const BotAuthenticator&) = delete;
  BotAuthenticator& operator=(const BotAuthenticator&) = delete;

  // Validates the Authorization header value of an activity whose channelId
  // and serviceUrl are given. Unauthorized with a reason on a bad token
  // (answer 401); Unavailable when no keys could be fetched (answer 5xx so
  // the channel retries). The token never appears in a message.
  // Thread-safe.
  util::Result<VerifiedToken> Authenticate(std::string_view authorization_header,
                                           std::string_view channel_id,
                                           std::string_view service_url);

  // Fetches keys now (e.g. at startup, so the first activity is not slow).
  util::Status RefreshKeys();
  // How many times keys were fetched successfully or not (for tests and logs).
  uint64_t key_fetches() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace teams
