// Inbound JWT validation against the fake Bot Framework, over real HTTP.
#include <atomic>
#include <memory>

#include <catch2/catch.hpp>

#include "connectors/http/client.h"
#include "connectors/teams/auth.h"
#include "connectors/teams/base64.h"
#include "tests/support/teams/fake_bot_framework.h"

using namespace teams;
using teams::testing::BadToken;
using teams::testing::FakeBotFramework;
using teams::testing::FakeOptions;
using teams::testing::TokenSpec;
using Code = util::Status::Code;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

// A clock the test moves by hand, shared by the fake and the authenticator.
struct ManualClock {
  std::shared_ptr<std::atomic<int64_t>> now_s =
      std::make_shared<std::atomic<int64_t>>(1767326091);  // 2026-01-02
  std::chrono::system_clock::time_point operator()() const {
    return std::chrono::system_clock::time_point(seconds(now_s->load()));
  }
  void Advance(seconds by) { *now_s += by.count(); }
};

struct Harness {
  ManualClock clock;
  std::unique_ptr<FakeBotFramework> fake;
  std::unique_ptr<http::Client> client;
  std::unique_ptr<BotAuthenticator> auth;

  explicit Harness(AuthOptions options = {}) {
    FakeOptions fake_options;
    fake_options.clock = clock;
    fake = std::make_unique<FakeBotFramework>(fake_options);
    REQUIRE(fake->Start().ok());
    http::ClientOptions client_options;
    client_options.retry.max_attempts = 1;
    auto created = http::Client::Create(client_options);
    REQUIRE(created.ok());
    client = std::move(*created);
    options.app_id = fake->options().app_id;
    options.clock = clock;
    auto keys = std::make_shared<OpenIdKeySource>(fake->metadata_url(), *client, /*allow_http=*/true);
    auth = std::make_unique<BotAuthenticator>(options, keys);
  }

  util::Result<VerifiedToken> Check(const std::string& token, std::string channel = "msteams",
                                    std::string service_url = {}) {
    if (service_url.empty()) service_url = fake->service_url();
    return auth->Authenticate("Bearer " + token, channel, service_url);
  }
};

// The error for `token` is Unauthorized, mentions `reason`, and does not echo
// the token or any of its parts.
void RequireRefused(const util::Result<VerifiedToken>& result, const std::string& token,
                    const std::string& reason) {
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == Code::kUnauthorized);
  CHECK_THAT(result.status().message(), Catch::Contains(reason));
  for (size_t start = 0, dot; start < token.size(); start = dot + 1) {
    dot = token.find('.', start);
    if (dot == std::string::npos) dot = token.size();
    CHECK_THAT(result.status().message(), !Catch::Contains(token.substr(start, dot - start)));
  }
}

}  // namespace

TEST_CASE("a good activity token is accepted and its claims returned", "[teams][auth]") {
  Harness h;
  auto result = h.Check(h.fake->MintActivityToken());
  REQUIRE(result.ok());
  CHECK(result->issuer == "https://api.botframework.com");
  CHECK(result->audience == h.fake->options().app_id);
  CHECK(result->service_url == h.fake->service_url());
  CHECK(result->kid == "fake-key-1");
  CHECK(result->expires_at == h.clock() + hours(1));
  CHECK(h.fake->metadata_requests() == 1);
  CHECK(h.fake->jwks_requests() == 1);

  // Keys are cached: a second token costs no fetch.
  REQUIRE(h.Check(h.fake->MintActivityToken()).ok());
  CHECK(h.fake->jwks_requests() == 1);
  CHECK(h.auth->key_fetches() == 1);
}

TEST_CASE("a forged signature is refused", "[teams][auth]") {
  Harness h;
  std::string token = h.fake->MintActivityToken(BadToken::kForgedSignature);
  RequireRefused(h.Check(token), token, "signature does not verify");

  // A valid token with its payload swapped for another audience fails too.
  std::string good = h.fake->MintActivityToken();
  std::string other = h.fake->MintActivityToken(BadToken::kWrongAudience);
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  size_t o1 = other.find('.'), o2 = other.rfind('.');
  std::string spliced = good.substr(0, d1) + other.substr(o1, o2 - o1) + good.substr(d2);
  RequireRefused(h.Check(spliced), spliced, "signature does not verify");
}

TEST_CASE("expiry and not-before are checked with clock skew", "[teams][auth]") {
  Harness h;
  std::string expired = h.fake->MintActivityToken(BadToken::kExpired);
  RequireRefused(h.Check(expired), expired, "expired");

  // Within the 5-minute skew a just-expired token still passes, beyond it not.
  TokenSpec spec;
  spec.audience = h.fake->options().app_id;
  spec.service_url = h.fake->service_url();
  spec.not_before = h.clock() - hours(1);
  spec.expires_at = h.clock() - minutes(4);
  CHECK(h.Check(h.fake->MintToken(spec)).ok());
  spec.expires_at = h.clock() - minutes(6);
  RequireRefused(h.Check(h.fake->MintToken(spec)), h.fake->MintToken(spec), "expired");

  spec.expires_at = h.clock() + hours(1);
  spec.not_before = h.clock() + minutes(10);
  std::string early = h.fake->MintToken(spec);
  RequireRefused(h.Check(early), early, "not valid yet");
  h.clock.Advance(minutes(6));  // now within skew of nbf
  CHECK(h.Check(early).ok());
}

TEST_CASE("a token for another bot is refused", "[teams][auth]") {
  Harness h;
  std::string token = h.fake->MintActivityToken(BadToken::kWrongAudience);
  RequireRefused(h.Check(token), token, "audience");
}

TEST_CASE("a token from an untrusted issuer is refused", "[teams][auth]") {
  Harness h;
  std::string token = h.fake->MintActivityToken(BadToken::kWrongIssuer);
  RequireRefused(h.Check(token), token, "issuer 'https://evil.example.com' is not trusted");

  // The issuer list is configurable (other clouds, the emulator).
  AuthOptions options;
  options.issuers = {"https://api.botframework.com", "https://evil.example.com"};
  Harness trusting(options);
  CHECK(trusting.Check(trusting.fake->MintActivityToken(BadToken::kWrongIssuer)).ok());
}

TEST_CASE("the serviceurl claim must match the activity's serviceUrl", "[teams][auth]") {
  Harness h;
  // The token vouches for evil.example.com; the activity claims the real one.
  std::string token = h.fake->MintActivityToken(BadToken::kWrongServiceUrl);
  RequireRefused(h.Check(token), token, "serviceurl claim does not match");
  // A good token replayed with a body naming another serviceUrl.
  std::string good = h.fake->MintActivityToken();
  RequireRefused(h.Check(good, "msteams", "https://evil.example.com/"), good,
                 "serviceurl claim does not match");
  // Trailing-slash differences are differences (string compare, like the SDK).
  std::string url = h.fake->service_url();
  RequireRefused(h.Check(good, "msteams", url.substr(0, url.size() - 1)), good, "serviceurl");
}

TEST_CASE("an unknown kid refetches keys once - then is rate limited", "[teams][auth]") {
  Harness h;
  REQUIRE(h.Check(h.fake->MintActivityToken()).ok());
  REQUIRE(h.fake->jwks_requests() == 1);

  h.clock.Advance(minutes(10));  // past min_refetch_interval
  h.fake->RotateKey("fake-key-2");
  auto rotated = h.Check(h.fake->MintActivityToken());
  REQUIRE(rotated.ok());
  CHECK(rotated->kid == "fake-key-2");
  CHECK(h.fake->jwks_requests() == 2);

  // A kid nobody publishes: one more fetch is allowed only after the interval.
  h.clock.Advance(minutes(10));
  std::string unknown = h.fake->MintActivityToken(BadToken::kUnknownKid);
  RequireRefused(h.Check(unknown), unknown, "unknown signing key id 'unpublished-key'");
  CHECK(h.fake->jwks_requests() == 3);
  RequireRefused(h.Check(unknown), unknown, "unknown signing key id");
  RequireRefused(h.Check(unknown), unknown, "unknown signing key id");
  CHECK(h.fake->jwks_requests() == 3);  // garbage kids cannot hammer the IdP
}

TEST_CASE("keys are refreshed periodically and a failed refresh keeps old keys", "[teams][auth]") {
  AuthOptions options;
  options.key_refresh_interval = hours(24);
  Harness h(options);
  REQUIRE(h.auth->RefreshKeys().ok());
  CHECK(h.fake->jwks_requests() == 1);
  h.clock.Advance(hours(23));
  REQUIRE(h.Check(h.fake->MintActivityToken()).ok());
  CHECK(h.fake->jwks_requests() == 1);
  h.clock.Advance(hours(2));
  REQUIRE(h.Check(h.fake->MintActivityToken()).ok());
  CHECK(h.fake->jwks_requests() == 2);

  // The IdP goes away: stale keys keep validating.
  h.fake->Stop();
  h.clock.Advance(hours(25));
  CHECK(h.Check(h.fake->MintActivityToken()).ok());
  CHECK(h.auth->key_fetches() == 3);
}

TEST_CASE("no reachable key source is Unavailable - not Unauthorized", "[teams][auth]") {
  Harness h;
  std::string token = h.fake->MintActivityToken();
  h.fake->Stop();
  auto result = h.Check(token);
  REQUIRE_FALSE(result.ok());
  CHECK(result.status().code() == Code::kUnavailable);
  CHECK_THAT(result.status().message(), Catch::Contains("signing keys"));
}

TEST_CASE("missing or malformed Authorization headers are refused", "[teams][auth]") {
  Harness h;
  std::string url = h.fake->service_url();
  CHECK_THAT(h.auth->Authenticate("", "msteams", url).status().message(),
             Catch::Contains("no Authorization header"));
  std::string token = h.fake->MintActivityToken();
  auto basic = h.auth->Authenticate("Basic " + token, "msteams", url);
  CHECK_THAT(basic.status().message(), Catch::Contains("not Bearer"));
  CHECK_THAT(basic.status().message(), !Catch::Contains(token));
  CHECK_THAT(h.auth->Authenticate("Bearer ", "msteams", url).status().message(),
             Catch::Contains("empty bearer token"));
  CHECK(h.auth->Authenticate("bearer " + token, "msteams", url).ok());  // scheme is case-insensitive
  CHECK_THAT(h.auth->Authenticate("Bearer abc.def", "msteams", url).status().message(),
             Catch::Contains("three parts"));
}

TEST_CASE("the signing key must be endorsed for the activity's channel", "[teams][auth]") {
  Harness h;
  std::string token = h.fake->MintActivityToken();
  RequireRefused(h.Check(token, "slack"), token, "not endorsed for channel 'slack'");
  CHECK(h.Check(token, "msteams").ok());
}

TEST_CASE("algorithm confusion is refused - RS512 is allowed like in the SDK", "[teams][auth]") {
  Harness h;
  std::string header = Base64UrlEncode(R"({"alg":"none","kid":"fake-key-1"})");
  std::string payload = Base64UrlEncode(R"({"iss":"https://api.botframework.com"})");
  RequireRefused(h.Check(header + "." + payload + ".AAAA"), "", "algorithm not allowed: none");
  std::string hs = Base64UrlEncode(R"({"alg":"HS256","kid":"fake-key-1"})");
  RequireRefused(h.Check(hs + "." + payload + ".AAAA"), "", "algorithm not allowed: HS256");

  TokenSpec spec;
  spec.audience = h.fake->options().app_id;
  spec.service_url = h.fake->service_url();
  spec.not_before = h.clock() - minutes(1);
  spec.expires_at = h.clock() + hours(1);
  spec.alg = "RS512";
  CHECK(h.Check(h.fake->MintToken(spec)).ok());
}

namespace {

// Keys handed over directly, for tokens the fake would never mint.
class StaticKeySource : public KeySource {
 public:
  explicit StaticKeySource(std::vector<Jwk> keys) : keys_(std::move(keys)) {}
  util::Result<std::vector<Jwk>> FetchKeys() override { return keys_; }

 private:
  std::vector<Jwk> keys_;
};

std::string SignedToken(const teams::testing::TestKeyPair& key, const std::string& claims) {
  std::string input = Base64UrlEncode(R"({"alg":"RS256","kid":")" + key.kid() + R"("})") + "." +
                      Base64UrlEncode(claims);
  return input + "." + Base64UrlEncode(key.Sign(input));
}

}  // namespace

TEST_CASE("required claims must be present and well typed", "[teams][auth]") {
  auto key = teams::testing::TestKeyPair::Generate("k1");
  auto jwks = ParseJwks(R"({"keys":[)" + key.PublicJwk() + "]}");
  REQUIRE(jwks.ok());
  AuthOptions options;
  options.app_id = "app";
  options.clock = [] { return std::chrono::system_clock::time_point(seconds(1000)); };
  BotAuthenticator auth(options, std::make_shared<StaticKeySource>(*jwks));
  auto check = [&](const std::string& claims) {
    return auth.Authenticate("Bearer " + SignedToken(key, claims), "msteams", "https://s/");
  };
  const std::string base = R"("iss":"https://api.botframework.com","aud":"app")";
  CHECK(check("{" + base + R"(,"exp":2000,"serviceurl":"https://s/"})").ok());
  CHECK(check("{" + base + R"(,"exp":2000,"nbf":900,"serviceurl":"https://s/"})").ok());
  CHECK(check(R"({"iss":"https://api.botframework.com","aud":["x","app"],"exp":2000,"serviceurl":"https://s/"})").ok());
  CHECK_THAT(check("{" + base + R"(,"serviceurl":"https://s/"})").status().message(),
             Catch::Contains("'exp' is missing"));
  CHECK_THAT(check("{" + base + R"(,"exp":"2000","serviceurl":"https://s/"})").status().message(),
             Catch::Contains("'exp' is not a number"));
  CHECK_THAT(check("{" + base + R"(,"exp":2000,"nbf":"x","serviceurl":"https://s/"})").status().message(),
             Catch::Contains("'nbf' is not a number"));
  CHECK_THAT(check("{" + base + R"(,"exp":2000})").status().message(),
             Catch::Contains("no serviceurl claim"));
  CHECK_THAT(check(R"({"aud":"app","exp":2000,"serviceurl":"https://s/"})").status().message(),
             Catch::Contains("issuer '' is not trusted"));
  CHECK_THAT(check(R"({"iss":"https://api.botframework.com","aud":5,"exp":2000,"serviceurl":"https://s/"})").status().message(),
             Catch::Contains("audience"));
  CHECK(check("{" + base + R"(,"exp":1e300,"serviceurl":"https://s/"})").ok());  // no overflow
}

TEST_CASE("the OpenID key source insists on https outside tests", "[teams][auth]") {
  Harness h;
  OpenIdKeySource production(h.fake->metadata_url(), *h.client);  // allow_http = false
  auto keys = production.FetchKeys();
  CHECK(keys.status().code() == Code::kInvalidArgument);
  CHECK_THAT(keys.status().message(), Catch::Contains("must be https"));
  CHECK(h.fake->metadata_requests() == 0);

  OpenIdKeySource local(h.fake->metadata_url(), *h.client, /*allow_http=*/true);
  auto fetched = local.FetchKeys();
  REQUIRE(fetched.ok());
  CHECK(fetched->size() == 1);
  CHECK(fetched->front().endorsements == std::vector<std::string>{"msteams"});
}
