#include "connectors/slack/signing.h"

#include <charconv>
#include <chrono>
#include <mutex>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

namespace slack {

namespace {

// "v0=" and the MAC in lower-case hex, as Slack writes X-Slack-Signature.
std::string SignatureText(const unsigned char* mac, size_t len) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "v0=";
  for (size_t i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

}  // namespace

int64_t SystemUnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string ComputeSignature(std::string_view signing_secret, std::string_view timestamp,
                             std::string_view raw_body) {
  std::string base;
  base.reserve(4 + timestamp.size() + raw_body.size());
  base.append("v0:").append(timestamp).append(":").append(raw_body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), signing_secret.data(), static_cast<int>(signing_secret.size()),
       reinterpret_cast<const unsigned char*>(base.data()), base.size(), mac, &mac_len);
  return SignatureText(mac, mac_len);
}


// The verifier's HMAC, keyed once: every Events API delivery is verified on
// the ack path, and a one-shot HMAC() looks the algorithm up, allocates a
// context and runs the key schedule each time. Here a verification borrows an
// already keyed context from a small pool (a context serves one thread at a
// time; the HTTP threads verify concurrently), re-initialises it with the
// same key and hashes the base string piece by piece, without copying the
// body into it.
class SignatureVerifier::KeyedMac {
 public:
  explicit KeyedMac(std::string_view secret) {
    EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (hmac == nullptr) return;
    keyed_ = EVP_MAC_CTX_new(hmac);
    EVP_MAC_free(hmac);  // the context holds its own reference
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (keyed_ != nullptr &&
        EVP_MAC_init(keyed_, reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     params) != 1) {
      EVP_MAC_CTX_free(keyed_);
      keyed_ = nullptr;
    }
  }
  ~KeyedMac() {
    for (EVP_MAC_CTX* c : idle_) EVP_MAC_CTX_free(c);
    EVP_MAC_CTX_free(keyed_);
  }
  KeyedMac(const KeyedMac&) = delete;
  KeyedMac& operator=(const KeyedMac&) = delete;

  // The "v0=<hex>" signature of v0:<timestamp>:<body>; "" if OpenSSL failed.
  std::string Sign(std::string_view timestamp, std::string_view body) {
    EVP_MAC_CTX* ctx = Borrow();
    if (ctx == nullptr) return {};
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t mac_len = 0;
    const bool ok = EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&  // same key again
                    Update(ctx, "v0:") && Update(ctx, timestamp) && Update(ctx, ":") &&
                    Update(ctx, body) && EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) == 1;
    Return(ctx);
    return ok ? SignatureText(mac, mac_len) : std::string();
  }

 private:
  static bool Update(EVP_MAC_CTX* ctx, std::string_view piece) {
    return EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(piece.data()), piece.size()) == 1;
  }
  EVP_MAC_CTX* Borrow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        EVP_MAC_CTX* c = idle_.back();
        idle_.pop_back();
        return c;
      }
    }
    return keyed_ == nullptr ? nullptr : EVP_MAC_CTX_dup(keyed_);
  }
  void Return(EVP_MAC_CTX* c) {
    std::lock_guard<std::mutex> lock(mu_);
    idle_.push_back(c);
  }

  EVP_MAC_CTX* keyed_ = nullptr;  // never used directly: the pool's contexts are copies
  std::mutex mu_;
  std::vector<EVP_MAC_CTX*> idle_;
};

SignatureVerifier::SignatureVerifier(std::string signing_secret, UnixClock now)
    : secret_(std::move(signing_secret)),
      now_(std::move(now)),
      mac_(std::make_shared<KeyedMac>(secret_)) {}

util::Status SignatureVerifier::Verify(std::string_view timestamp_header,
                                       std::string_view signature_header,
                                       std::string_view raw_body) const {
  if (secret_.empty()) return util::Status::Unauthorized("slack signature: no signing secret configured");
  if (timestamp_header.empty()) {
    return util::Status::Unauthorized("slack signature: missing X-Slack-Request-Timestamp");
  }
  if (signature_header.empty()) {
    return util::Status::Unauthorized("slack signature: missing X-Slack-Signature");
  }
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp_header.data(),
                                   timestamp_header.data() + timestamp_header.size(), ts);
  if (ec != std::errc() || end != timestamp_header.data() + timestamp_header.size()) {
    return util::Status::Unauthorized("slack signature: timestamp is not a number");
  }
  int64_t skew = now_() - ts;
  if (skew > kMaxSkewSeconds || skew < -kMaxSkewSeconds) {
    return util::Status::Unauthorized("slack signature: timestamp outside the 5-minute window (" +
                                      std::to_string(skew) + " s off)");
  }
  std::string expected = mac_->Sign(timestamp_header, raw_body);
  if (expected.empty()) return util::Status::Internal("slack signature: HMAC-SHA256 unavailable");
  // Constant time, so the comparison leaks nothing about how much matched.
  if (signature_header.size() != expected.size() ||
      CRYPTO_memcmp(signature_header.data(), expected.data(), expected.size()) != 0) {
    return util::Status::Unauthorized("slack signature: mismatch");
  }
  return util::Status::OK();
}

}  // namespace slack
