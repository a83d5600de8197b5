#include "connectors/teams/auth.h"

#include <algorithm>
#include <cctype>
#include <mutex>

#include <nlohmann/json.hpp>

#include "connectors/http/client.h"
#include "connectors/teams/json_fields.h"

namespace teams {
namespace {

using nlohmann::json;
using internal::Field;
using internal::Str;
using SysTime = std::chrono::system_clock::time_point;

// Attacker-controlled text (a kid, an issuer) made safe to put in an error:
// printable ASCII only, bounded length.
std::string Printable(std::string_view text, size_t max = 80) {
  std::string out;
  for (char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > max) out += "...";
  return out;
}

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(uint8_t(text[i])) != std::tolower(uint8_t(prefix[i]))) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(uint8_t(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(uint8_t(s.back()))) s.remove_suffix(1);
  return s;
}

util::Result<std::string_view> BearerToken(std::string_view header) {
  header = Trim(header);
  if (header.empty()) return util::Status::Unauthorized("auth: no Authorization header");
  bool bearer = StartsWithNoCase(header, "Bearer") &&
                (header.size() == 6 || std::isspace(uint8_t(header[6])));
  if (!bearer) return util::Status::Unauthorized("auth: Authorization scheme is not Bearer");
  std::string_view token = Trim(header.substr(6));
  if (token.empty()) return util::Status::Unauthorized("auth: empty bearer token");
  return token;
}

bool AudienceMatches(const json& aud, const std::string& app_id) {
  if (aud.is_string()) return aud.get<std::string>() == app_id;
  if (aud.is_array()) {
    return std::any_of(aud.begin(), aud.end(), [&](const json& a) {
      return a.is_string() && a.get<std::string>() == app_id;
    });
  }
  return false;
}

util::Result<double> NumericDate(const json& claims, const char* name, bool required) {
  const json& v = Field(claims, name);
  if (v.is_number()) return v.get<double>();
  if (v.is_null() && !required) return -1.0;
  return util::Status::Unauthorized(std::string("jwt: claim '") + name +
                                    (v.is_null() ? "' is missing" : "' is not a number"));
}

bool IsAllowedUrl(const std::string& url, bool allow_http) {
  return StartsWithNoCase(url, "https://") || (allow_http && StartsWithNoCase(url, "http://"));
}

util::Result<std::string> Get(http::Client& client, const std::string& url) {
  http::Request request;
  request.method = "GET";
  request.url = url;
  request.headers.Set("Accept", "application/json");
  auto response = client.Send(request);
  if (!response.ok()) return response.status();
  return std::move(response->body);
}

}  // namespace

OpenIdKeySource::OpenIdKeySource(std::string metadata_url, http::Client& client, bool allow_http)
    : metadata_url_(std::move(metadata_url)), client_(client), allow_http_(allow_http) {}

util::Result<std::vector<Jwk>> OpenIdKeySource::FetchKeys() {
  if (!IsAllowedUrl(metadata_url_, allow_http_)) {
    return util::Status::InvalidArgument("openid metadata: URL must be https");
  }
  auto metadata = Get(client_, metadata_url_);
  if (!metadata.ok()) return metadata.status().WithContext("openid metadata");
  json doc = json::parse(*metadata, nullptr, /*allow_exceptions=*/false);
  std::string jwks_uri = Str(doc, "jwks_uri");
  if (jwks_uri.empty()) {
    return util::Status::InvalidArgument("openid metadata: no jwks_uri in the document");
  }
  if (!IsAllowedUrl(jwks_uri, allow_http_)) {
    return util::Status::InvalidArgument("openid metadata: jwks_uri must be https");
  }
  auto jwks = Get(client_, jwks_uri);
  if (!jwks.ok()) return jwks.status().WithContext("jwks");
  return ParseJwks(*jwks);
}

class BotAuthenticator::Impl {
 public:
  Impl(AuthOptions options, std::shared_ptr<KeySource> source)
      : options_(std::move(options)), source_(std::move(source)) {
    if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
  }

  util::Result<VerifiedToken> Authenticate(std::string_view header, std::string_view channel_id,
                                           std::string_view service_url) {
    if (options_.app_id.empty()) {
      return util::Status::Unauthorized("auth: no app id configured; refusing every token");
    }
    auto token = BearerToken(header);
    if (!token.ok()) return token.status();
    auto jwt = ParseJwt(*token);
    if (!jwt.ok()) return jwt.status();
    if (jwt->alg != "RS256" && jwt->alg != "RS384" && jwt->alg != "RS512") {
      return util::Status::Unauthorized("jwt: algorithm not allowed: " + Printable(jwt->alg));
    }
    if (jwt->kid.empty()) return util::Status::Unauthorized("jwt: header has no kid");
    SysTime now = options_.clock();
    auto key = KeyFor(jwt->kid, now);
    if (!key.ok()) return key.status();
    DESK_RETURN_IF_ERROR(key->key.Verify(jwt->alg, jwt->signing_input, jwt->signature));
    if (!key->endorsements.empty() && !channel_id.empty() &&
        std::find(key->endorsements.begin(), key->endorsements.end(), channel_id) ==
            key->endorsements.end()) {
      return util::Status::Unauthorized("jwt: signing key is not endorsed for channel '" +
                                        Printable(channel_id) + "'");
    }
    return CheckClaims(*jwt, service_url, now);
  }

  util::Status RefreshKeys() {
    std::lock_guard<std::mutex> lock(mu_);
    return FetchLocked(options_.clock());
  }

  uint64_t key_fetches() const {
    std::lock_guard<std::mutex> lock(mu_);
    return fetches_;
  }

 private:
  util::Result<VerifiedToken> CheckClaims(const Jwt& jwt, std::string_view service_url,
                                          SysTime now) const {
    json claims = json::parse(jwt.payload_json, nullptr, /*allow_exceptions=*/false);
    VerifiedToken verified;
    verified.kid = jwt.kid;
    verified.issuer = Str(claims, "iss");
    if (std::find(options_.issuers.begin(), options_.issuers.end(), verified.issuer) ==
        options_.issuers.end()) {
      return util::Status::Unauthorized("jwt: issuer '" + Printable(verified.issuer) +
                                        "' is not trusted");
    }
    if (!AudienceMatches(Field(claims, "aud"), options_.app_id)) {
      return util::Status::Unauthorized("jwt: audience is not this bot's app id");
    }
    verified.audience = options_.app_id;
    auto exp = NumericDate(claims, "exp", /*required=*/true);
    if (!exp.ok()) return exp.status();
    auto nbf = NumericDate(claims, "nbf", /*required=*/false);
    if (!nbf.ok()) return nbf.status();
    double now_s = std::chrono::duration<double>(now.time_since_epoch()).count();
    double skew = double(options_.clock_skew.count());
    if (now_s > *exp + skew) return util::Status::Unauthorized("jwt: token expired");
    if (*nbf >= 0 && now_s + skew < *nbf) {
      return util::Status::Unauthorized("jwt: token not valid yet (nbf)");
    }
    // Clamped so an absurd exp cannot overflow the clock's integer ticks.
    double exp_s = std::min(std::max(*exp, 0.0), 4e9);
    verified.expires_at = SysTime(std::chrono::duration_cast<SysTime::duration>(
        std::chrono::duration<double>(exp_s)));
    verified.service_url = Str(claims, "serviceurl");
    if (verified.service_url.empty()) {
      return util::Status::Unauthorized("jwt: token has no serviceurl claim");
    }
    if (verified.service_url != service_url) {
      return util::Status::Unauthorized("jwt: serviceurl claim does not match the activity's serviceUrl");
    }
    return verified;
  }

  // The key for `kid`, fetching keys when there are none yet, when they are
  // stale, or (rate limited) when the kid is unknown -- keys rotate.
  util::Result<Jwk> KeyFor(const std::string& kid, SysTime now) {
    std::lock_guard<std::mutex> lock(mu_);
    bool stale = have_keys_ && now - fetched_at_ >= options_.key_refresh_interval;
    if (!have_keys_ || (stale && CanRefetchLocked(now))) {
      util::Status st = FetchLocked(now);
      // A failed periodic refresh keeps the old keys working: the IdP being
      // down for a while must not lock every user out.
      if (!st.ok() && !have_keys_) return util::Status::Unavailable(st.message());
    }
    if (const Jwk* key = FindLocked(kid)) return *key;
    if (CanRefetchLocked(now)) {
      util::Status st = FetchLocked(now);
      if (!st.ok()) return util::Status::Unavailable(st.message());
      if (const Jwk* key = FindLocked(kid)) return *key;
    }
    return util::Status::Unauthorized("jwt: unknown signing key id '" + Printable(kid) + "'");
  }

  bool CanRefetchLocked(SysTime now) const {
    return now - last_attempt_ >= options_.min_refetch_interval;
  }

  const Jwk* FindLocked(const std::string& kid) const {
    for (const Jwk& key : keys_) {
      if (key.kid == kid) return &key;
    }
    return nullptr;
  }

  util::Status FetchLocked(SysTime now) {
    ++fetches_;
    last_attempt_ = now;
    auto keys = source_->FetchKeys();
    if (!keys.ok()) return keys.status().WithContext("auth: fetching signing keys");
    keys_ = std::move(*keys);
    have_keys_ = true;
    fetched_at_ = now;
    return util::Status::OK();
  }

  AuthOptions options_;
  std::shared_ptr<KeySource> source_;
  mutable std::mutex mu_;
  std::vector<Jwk> keys_;
  bool have_keys_ = false;
  SysTime fetched_at_{};
  SysTime last_attempt_{};
  uint64_t fetches_ = 0;
};

BotAuthenticator::BotAuthenticator(AuthOptions options, std::shared_ptr<KeySource> keys)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(keys))) {}
BotAuthenticator::~BotAuthenticator() = default;

util::Result<VerifiedToken> BotAuthenticator::Authenticate(std::string_view authorization_header,
                                                           std::string_view channel_id,
                                                           std::string_view service_url) {
  return impl_->Authenticate(authorization_header, channel_id, service_url);
}

util::Status BotAuthenticator::RefreshKeys() { return impl_->RefreshKeys(); }
uint64_t BotAuthenticator::key_fetches() const { return impl_->key_fetches(); }

}  // namespace teams
