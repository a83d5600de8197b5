// A fake Bot Framework for tests: everything a Teams bot talks to, served
// over real HTTP on 127.0.0.1 with the project's HTTP server.
//
//   GET  /v1/.well-known/openidconfiguration   OpenID metadata (jwks_uri -> below)
//   GET  /v1/.well-known/keys                  JWK set of the test signing keys
//   POST /botframework.com/oauth2/v2.0/token   client-credentials token endpoint
//   POST|PUT /smba/v3/conversations/{id}/activities[/{activityId}]
//                                              the Connector: records sends
//
// Signing keys are RSA pairs generated at test time with OpenSSL; the fake
// mints activity JWTs with them (good ones and every kind of bad one).
// The unit tests (tests/unit/teams) and the end-to-end tests of the Teams
// adapter (tests/integration/teams) link it: target teams_fake, defined by
// teams_fake.cmake next to this file.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

struct evp_pkey_st;

namespace teams::testing {

// An RSA key pair with a key id.
class TestKeyPair {
 public:
  static TestKeyPair Generate(std::string kid, int bits = 2048);
  const std::string& kid() const { return kid_; }
  // The public half as a JWK object (JSON text), with Bot Framework endorsements.
  std::string PublicJwk(const std::vector<std::string>& endorsements = {"msteams"}) const;
  // RSASSA-PKCS1-v1_5 signature of `input` with SHA-256/384/512 by alg name.
  std::string Sign(std::string_view input, std::string_view alg = "RS256") const;

 private:
  std::string kid_;
  std::shared_ptr<evp_pkey_st> key_;
};

// Claims of a token the fake mints.
struct TokenSpec {
  std::string issuer = "https://api.botframework.com";
  std::string audience;     // the bot's app id
  std::string service_url;  // the `serviceurl` claim
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point expires_at;
  std::string kid;          // header kid; "" = the current signing key's
  std::string alg = "RS256";
};

enum class BadToken {
  kNone,             // a good token
  kForgedSignature,  // signed by a stranger's key under the real kid
  kExpired,          // expired an hour ago
  kWrongAudience,
  kWrongIssuer,
  kWrongServiceUrl,
  kUnknownKid,       // signed by a key the JWK set does not list
};

// One request the Connector endpoint accepted.
struct RecordedActivity {
  std::string method;           // "POST" | "PUT"
  std::string conversation_id;  // percent-decoded
  std::string activity_id;      // reply-to id (POST) or updated id (PUT); "" for a plain send
  std::string body;             // the activity JSON as received
  std::string new_id;           // the id the fake answered with
};

struct FakeOptions {
  std::string app_id = "00000000-aaaa-bbbb-cccc-000000000001";
  std::string app_secret = "fake-secret-value-123";
  std::string kid = "fake-key-1";
  std::function<std::chrono::system_clock::time_point()> clock;  // default system_clock::now
  int token_lifetime_seconds = 3600;
};

class FakeBotFramework {
 public:
  explicit FakeBotFramework(FakeOptions options = {});
  ~FakeBotFramework();
  FakeBotFramework(const FakeBotFramework&) = delete;
  FakeBotFramework& operator=(const FakeBotFramework&) = delete;

  util::Status Start();
  void Stop();

  const FakeOptions& options() const;
  std::string base_url() const;      // "http://127.0.0.1:<port>/"
  std::string metadata_url() const;
  std::string jwks_url() const;
  std::string token_url() const;
  std::string service_url() const;   // the Connector, with a trailing slash

  // --- signing keys
  // Adds a new key, publishes it and signs with it from now on. The old key
  // stays published unless `drop_old`.
  void RotateKey(std::string new_kid, bool drop_old = false);
  std::string current_kid() const;

  // --- tokens for inbound activities
  std::string MintToken(const TokenSpec& spec) const;
  // A token for an activity from `service_url` (default: this fake's), valid
  // now, or broken the way `bad` says.
  std::string MintActivityToken(BadToken bad = BadToken::kNone, std::string service_url = {}) const;

  // --- delivering activities to a bot, as the Bot Connector does
  struct Delivery {
    int status = 0;
    std::string body;
  };
  // POSTs `activity_json` to the bot's messaging endpoint `bot_url` with a
  // bearer token broken the way `bad` says. The activity's serviceUrl is set
  // to this fake's Connector so the bot's replies land here. Fails only when
  // the bot cannot be reached or the JSON cannot be parsed.
  util::Result<Delivery> DeliverActivity(const std::string& bot_url,
                                         const std::string& activity_json,
                                         BadToken bad = BadToken::kNone) const;

  // --- Connector
  std::vector<RecordedActivity> recorded() const;
  // The next `count` Connector requests fail with `status` (429, 503...)
  // and an optional Retry-After; they are not recorded.
  void FailNext(int status, int count = 1, std::string retry_after = "0");
  // Access tokens issued so far stop being accepted (the Connector answers 401).
  void RevokeIssuedTokens();

  // --- counters
  int metadata_requests() const;
  int jwks_requests() const;
  int token_requests() const;        // all, good or bad credentials
  int connector_requests() const;    // all, including failed ones

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Percent-decodes a URL path segment ("19%3Aabc" -> "19:abc").
std::string PercentDecode(std::string_view text);

}  // namespace teams::testing
