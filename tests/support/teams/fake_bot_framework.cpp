#include "tests/support/teams/fake_bot_framework.h"

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <nlohmann/json.hpp>

#include "connectors/http/client.h"
#include "connectors/http/server.h"
#include "connectors/teams/base64.h"

namespace teams::testing {
namespace {

using nlohmann::json;
using http::server::Request;
using http::server::Response;

const EVP_MD* Digest(std::string_view alg) {
  if (alg == "RS384") return EVP_sha384();
  if (alg == "RS512") return EVP_sha512();
  return EVP_sha256();
}

std::string BigEndian(const EVP_PKEY* key, const char* param) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, param, &bn) != 1) throw std::runtime_error("get_bn_param");
  std::string bytes(size_t(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return bytes;
}

long long Seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string PercentDecode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += char(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// ------------------------------------------------------------------ keys

TestKeyPair TestKeyPair::Generate(std::string kid, int bits) {
  EVP_PKEY* key = EVP_RSA_gen(unsigned(bits));
  if (key == nullptr) throw std::runtime_error("RSA key generation failed");
  TestKeyPair pair;
  pair.kid_ = std::move(kid);
  pair.key_ = std::shared_ptr<evp_pkey_st>(key, EVP_PKEY_free);
  return pair;
}

std::string TestKeyPair::PublicJwk(const std::vector<std::string>& endorsements) const {
  json jwk = {{"kty", "RSA"},
              {"use", "sig"},
              {"kid", kid_},
              {"n", Base64UrlEncode(BigEndian(key_.get(), OSSL_PKEY_PARAM_RSA_N))},
              {"e", Base64UrlEncode(BigEndian(key_.get(), OSSL_PKEY_PARAM_RSA_E))},
              {"endorsements", endorsements}};
  return jwk.dump();
}

std::string TestKeyPair::Sign(std::string_view input, std::string_view alg) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx, nullptr, Digest(alg), nullptr, key_.get()) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
      sig.clear();
    }
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (sig.empty()) throw std::runtime_error("RSA signing failed");
  return sig;
}

// ------------------------------------------------------------------ fake

class FakeBotFramework::Impl {
 public:
  explicit Impl(FakeOptions options) : options_(std::move(options)) {
    if (!options_.clock) options_.clock = [] { return std::chrono::system_clock::now(); };
    keys_.push_back(TestKeyPair::Generate(options_.kid));
    Route();
  }

  util::Status Start() {
    server_ = std::make_unique<http::server::Server>(http::server::ServerOptions{},
                                                     router_.AsHandler());
    DESK_RETURN_IF_ERROR(server_->Start());
    port_ = server_->port();
    return util::Status::OK();
  }
  // Destroys the server rather than only stopping it: that is what reliably
  // closes the listening socket, so clients see "connection refused" at once
  // instead of connecting into a dead backlog.
  void Stop() { server_.reset(); }

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

  void RotateKey(std::string kid, bool drop_old) {
    TestKeyPair key = TestKeyPair::Generate(std::move(kid));
    std::lock_guard<std::mutex> lock(mu_);
    if (drop_old) keys_.clear();
    keys_.push_back(std::move(key));
  }

  std::string current_kid() const {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_.back().kid();
  }

  std::string MintToken(const TokenSpec& spec) const {
    TestKeyPair signer = CurrentKey();
    return MintWith(signer, spec.kid.empty() ? signer.kid() : spec.kid, spec);
  }

  std::string MintActivityToken(BadToken bad, std::string service_url) const {
    auto now = options_.clock();
    TokenSpec spec;
    spec.audience = options_.app_id;
    spec.service_url = service_url.empty() ? base_url() + "smba/" : service_url;
    spec.not_before = now - std::chrono::minutes(5);
    spec.expires_at = now + std::chrono::hours(1);
    switch (bad) {
      case BadToken::kNone: break;
      case BadToken::kForgedSignature: {
        TestKeyPair stranger = TestKeyPair::Generate(current_kid());
        return MintWith(stranger, stranger.kid(), spec);
      }
      case BadToken::kExpired:
        spec.not_before = now - std::chrono::hours(3);
        spec.expires_at = now - std::chrono::hours(1);
        break;
      case BadToken::kWrongAudience: spec.audience = "someone-elses-bot"; break;
      case BadToken::kWrongIssuer: spec.issuer = "https://evil.example.com"; break;
      case BadToken::kWrongServiceUrl: spec.service_url = "https://evil.example.com/"; break;
      case BadToken::kUnknownKid: {
        TestKeyPair unpublished = TestKeyPair::Generate("unpublished-key");
        return MintWith(unpublished, unpublished.kid(), spec);
      }
    }
    return MintToken(spec);
  }

  std::vector<RecordedActivity> recorded() const {
    std::lock_guard<std::mutex> lock(mu_);
    return recorded_;
  }

  void FailNext(int status, int count, std::string retry_after) {
    std::lock_guard<std::mutex> lock(mu_);
    for (int i = 0; i < count; ++i) failures_.push_back({status, retry_after});
  }

  void RevokeIssuedTokens() {
    std::lock_guard<std::mutex> lock(mu_);
    issued_.clear();
  }

  int Count(const int& counter) const {
    std::lock_guard<std::mutex> lock(mu_);
    return counter;
  }

  FakeOptions options_;  // not changed after construction
  int metadata_requests_ = 0, jwks_requests_ = 0, token_requests_ = 0, connector_requests_ = 0;

 private:
  struct Failure {
    int status;
    std::string retry_after;
  };

  TestKeyPair CurrentKey() const {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_.back();
  }

  static std::string MintWith(const TestKeyPair& signer, const std::string& kid,
                              const TokenSpec& spec) {
    json header = {{"alg", spec.alg}, {"kid", kid}, {"typ", "JWT"}, {"x5t", kid}};
    json claims = {{"serviceurl", spec.service_url},
                   {"nbf", Seconds(spec.not_before)},
                   {"exp", Seconds(spec.expires_at)},
                   {"iss", spec.issuer},
                   {"aud", spec.audience}};
    std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump());
    return input + "." + Base64UrlEncode(signer.Sign(input, spec.alg));
  }

  void Route() {
    router_.Add("GET", "/v1/.well-known/openidconfiguration", [this](const Request&) {
      Bump(metadata_requests_);
      json doc = {{"issuer", "https://api.botframework.com"},
                  {"authorization_endpoint", "https://invalid.botframework.com"},
                  {"jwks_uri", base_url() + "v1/.well-known/keys"},
                  {"id_token_signing_alg_values_supported", {"RS256"}},
                  {"token_endpoint_auth_methods_supported", {"private_key_jwt"}}};
      return Response::Json(200, doc.dump());
    });
    router_.Add("GET", "/v1/.well-known/keys", [this](const Request&) {
      std::lock_guard<std::mutex> lock(mu_);
      ++jwks_requests_;
      json keys = json::array();
      for (const TestKeyPair& key : keys_) keys.push_back(json::parse(key.PublicJwk()));
      return Response::Json(200, json{{"keys", keys}}.dump());
    });
    router_.Add("POST", "/botframework.com/oauth2/v2.0/token",
                [this](const Request& r) { return Token(r); });
    router_.AddPrefix("POST", "/smba/v3/conversations/",
                      [this](const Request& r) { return Connector(r); });
    router_.AddPrefix("PUT", "/smba/v3/conversations/",
                      [this](const Request& r) { return Connector(r); });
  }

  void Bump(int& counter) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counter;
  }

  Response Token(const Request& r) {
    Bump(token_requests_);
    auto form = http::server::ParseUrlEncoded(r.body);
    std::map<std::string, std::string> f;
    if (form.ok()) f.insert(form->begin(), form->end());
    if (f["grant_type"] != "client_credentials" ||
        f["scope"] != "https://api.botframework.com/.default") {
      return Response::Json(400, R"({"error":"invalid_request","error_description":"AADSTS900144: bad grant or scope"})");
    }
    if (f["client_id"] != options_.app_id || f["client_secret"] != options_.app_secret) {
      return Response::Json(401, R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]})");
    }
    std::lock_guard<std::mutex> lock(mu_);
    std::string token = "fake-access-token-" + std::to_string(++tokens_issued_);
    issued_.insert(token);
    json doc = {{"token_type", "Bearer"},
                {"expires_in", options_.token_lifetime_seconds},
                {"ext_expires_in", options_.token_lifetime_seconds},
                {"access_token", token}};
    return Response::Json(200, doc.dump());
  }

  Response Connector(const Request& r) {
    std::lock_guard<std::mutex> lock(mu_);
    ++connector_requests_;
    if (!failures_.empty()) {
      Failure failure = failures_.front();
      failures_.pop_front();
      Response response = Response::Json(
          failure.status, R"({"error":{"code":"Throttled","message":"injected failure"}})");
      if (!failure.retry_after.empty()) response.headers.Set("Retry-After", failure.retry_after);
      return response;
    }
    std::string auth = r.headers.Get("Authorization");
    if (auth.rfind("Bearer ", 0) != 0 || issued_.count(auth.substr(7)) == 0) {
      return Response::Json(401, R"({"error":{"code":"Unauthorized","message":"bad token"}})");
    }
    // /smba/v3/conversations/{id}/activities[/{activityId}]
    std::string rest = r.path.substr(std::string("/smba/v3/conversations/").size());
    size_t slash = rest.find("/activities");
    if (slash == std::string::npos) {
      return Response::Json(404, R"({"error":{"code":"NotFound","message":"no such route"}})");
    }
    RecordedActivity rec;
    rec.method = r.method;
    rec.conversation_id = PercentDecode(rest.substr(0, slash));
    std::string tail = rest.substr(slash + std::string("/activities").size());
    if (!tail.empty()) rec.activity_id = PercentDecode(tail.substr(1));
    if (r.method == "PUT" && rec.activity_id.empty()) {
      return Response::Json(400, R"({"error":{"code":"BadArgument","message":"no activity id"}})");
    }
    json body = json::parse(r.body, nullptr, false);
    if (!body.is_object() || !body.contains("type")) {
      return Response::Json(400, R"({"error":{"code":"BadArgument","message":"not an activity"}})");
    }
    rec.body = r.body;
    rec.new_id = r.method == "PUT" ? rec.activity_id : "17000000000" + std::to_string(recorded_.size());
    recorded_.push_back(rec);
    return Response::Json(r.method == "PUT" ? 200 : 201, json{{"id", rec.new_id}}.dump());
  }

  mutable std::mutex mu_;
  std::vector<TestKeyPair> keys_;
  std::vector<RecordedActivity> recorded_;
  std::deque<Failure> failures_;
  std::set<std::string> issued_;
  int tokens_issued_ = 0;
  http::server::Router router_;
  std::unique_ptr<http::server::Server> server_;
  uint16_t port_ = 0;
};

FakeBotFramework::FakeBotFramework(FakeOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeBotFramework::~FakeBotFramework() { impl_->Stop(); }
util::Status FakeBotFramework::Start() { return impl_->Start(); }
void FakeBotFramework::Stop() { impl_->Stop(); }
const FakeOptions& FakeBotFramework::options() const { return impl_->options_; }
std::string FakeBotFramework::base_url() const { return impl_->base_url(); }
std::string FakeBotFramework::metadata_url() const {
  return base_url() + "v1/.well-known/openidconfiguration";
}
std::string FakeBotFramework::jwks_url() const { return base_url() + "v1/.well-known/keys"; }
std::string FakeBotFramework::token_url() const {
  return base_url() + "botframework.com/oauth2/v2.0/token";
}
std::string FakeBotFramework::service_url() const { return base_url() + "smba/"; }
void FakeBotFramework::RotateKey(std::string new_kid, bool drop_old) {
  impl_->RotateKey(std::move(new_kid), drop_old);
}
std::string FakeBotFramework::current_kid() const { return impl_->current_kid(); }
std::string FakeBotFramework::MintToken(const TokenSpec& spec) const { return impl_->MintToken(spec); }
std::string FakeBotFramework::MintActivityToken(BadToken bad, std::string service_url) const {
  return impl_->MintActivityToken(bad, std::move(service_url));
}
util::Result<FakeBotFramework::Delivery> FakeBotFramework::DeliverActivity(
    const std::string& bot_url, const std::string& activity_json, BadToken bad) const {
  json activity = json::parse(activity_json, nullptr, /*allow_exceptions=*/false);
  if (!activity.is_object()) return util::Status::InvalidArgument("fake: activity is not a JSON object");
  activity["serviceUrl"] = service_url();
  http::ClientOptions options;
  options.retry.max_attempts = 1;  // the test sees exactly what the bot answered
  auto client = http::Client::Create(options);
  if (!client.ok()) return client.status();
  http::Request request;
  request.method = "POST";
  request.url = bot_url;
  request.headers.Set("Content-Type", "application/json; charset=utf-8");
  request.headers.Set("Authorization", "Bearer " + MintActivityToken(bad));
  request.body = activity.dump();
  request.fail_on_http_error = false;
  auto response = (*client)->Send(request);
  if (!response.ok()) return response.status();
  return Delivery{response->status, response->body};
}

std::vector<RecordedActivity> FakeBotFramework::recorded() const { return impl_->recorded(); }
void FakeBotFramework::FailNext(int status, int count, std::string retry_after) {
  impl_->FailNext(status, count, std::move(retry_after));
}
void FakeBotFramework::RevokeIssuedTokens() { impl_->RevokeIssuedTokens(); }
int FakeBotFramework::metadata_requests() const { return impl_->Count(impl_->metadata_requests_); }
int FakeBotFramework::jwks_requests() const { return impl_->Count(impl_->jwks_requests_); }
int FakeBotFramework::token_requests() const { return impl_->Count(impl_->token_requests_); }
int FakeBotFramework::connector_requests() const { return impl_->Count(impl_->connector_requests_); }

}  // namespace teams::testing
