// Slack request signing, version v0: how Slack proves that an HTTP request
// (Events API, interactivity, slash command) came from Slack.
//
//   basestring = "v0:" + X-Slack-Request-Timestamp + ":" + raw body
//   signature  = "v0=" + hex(HMAC-SHA256(signing secret, basestring))
//
// The raw body must be the bytes exactly as received, before any parsing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "connectors/util/status.h"

namespace slack {

// Seconds since the Unix epoch; injectable so tests can use old vectors.
using UnixClock = std::function<int64_t()>;
int64_t SystemUnixNow();

// "v0=<64 hex>" for the given secret, timestamp and body.
std::string ComputeSignature(std::string_view signing_secret, std::string_view timestamp,
                             std::string_view raw_body);

class SignatureVerifier {
 public:
  // Slack's SDKs refuse requests older or newer than five minutes (replays).
  static constexpr int64_t kMaxSkewSeconds = 300;

  explicit SignatureVerifier(std::string signing_secret, UnixClock now = SystemUnixNow);

  // OK when `signature_header` is the v0 signature of `raw_body` at
  // `timestamp_header` and the timestamp is within the window. Otherwise
  // kUnauthorized with a reason (never the secret nor the signatures).
  util::Status Verify(std::string_view timestamp_header, std::string_view signature_header,
                      std::string_view raw_body) const;

 private:
  class KeyedMac;  // HMAC-SHA256 keyed once with the secret (OpenSSL, in the .cpp)

  std::string secret_;
  UnixClock now_;
  std::shared_ptr<KeyedMac> mac_;
};

}  // namespace slack
