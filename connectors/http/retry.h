// When and how long the HTTP client waits before trying a request again.
//
// Kept apart from the client so the arithmetic (backoff, jitter, Retry-After)
// can be tested without a network.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace http {

struct RetryPolicy {
  int max_attempts = 4;                               // 1 = no retries
  std::chrono::milliseconds initial_delay{250};       // before the 2nd attempt
  double multiplier = 2.0;                            // growth per attempt
  std::chrono::milliseconds max_delay{30000};         // cap on one wait
  double jitter = 0.25;                               // +-fraction, spreads herds
};

// The wait before attempt `attempt + 1` after `attempt` (1-based) failed:
// initial * multiplier^(attempt-1), capped at max_delay, then scaled by a
// factor in [1 - jitter, 1 + jitter] picked by `random01` in [0, 1).
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, double random01);

// A Retry-After header value: delay-seconds ("120") or an HTTP date
// ("Wed, 21 Oct 2015 07:28:00 GMT", also the obsolete RFC 850 and asctime
// forms). A date in the past gives 0. nullopt when unparseable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now);

// An HTTP date (IMF-fixdate, RFC 850 or asctime form) as UTC seconds.
std::optional<long long> ParseHttpDate(std::string_view value);

// GET, HEAD, PUT, DELETE, OPTIONS, TRACE: repeating them has the same effect
// (RFC 9110 9.2.2), so they may be retried after a failure mid-request.
bool IsIdempotent(std::string_view method);

// 429 and 5xx except 501 (not implemented) and 505 (version not supported).
bool IsRetryableStatus(int status);

}  // namespace http
