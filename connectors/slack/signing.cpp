#include "connectors/slack/signing.h"

#include <charconv>
#include <chrono>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace slack {

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
  static const char kHex[] = "0123456789abcdef";
  std::string out = "v0=";
  for (unsigned int i = 0; i < mac_len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xf]);
  }
  return out;
}

SignatureVerifier::SignatureVerifier(std::string signing_secret, UnixClock now)
    : secret_(std::move(signing_secret)), now_(std::move(now)) {}

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
  std::string expected = ComputeSignature(secret_, timestamp_header, raw_body);
  // Constant time, so the comparison leaks nothing about how much matched.
  if (signature_header.size() != expected.size() ||
      CRYPTO_memcmp(signature_header.data(), expected.data(), expected.size()) != 0) {
    return util::Status::Unauthorized("slack signature: mismatch");
  }
  return util::Status::OK();
}

}  // namespace slack
