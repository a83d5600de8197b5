#include "connectors/http/retry.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <string>

namespace http {

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, double random01) {
  double base = static_cast<double>(policy.initial_delay.count()) *
                std::pow(policy.multiplier, std::max(0, attempt - 1));
  base = std::min(base, static_cast<double>(policy.max_delay.count()));
  double jitter = std::clamp(policy.jitter, 0.0, 1.0);
  double factor = 1.0 - jitter + 2.0 * jitter * std::clamp(random01, 0.0, 1.0);
  double ms = std::min(base * factor, static_cast<double>(policy.max_delay.count()));
  return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, ms)));
}

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

// The three forms RFC 9110 5.6.7 asks recipients to accept.
std::optional<long long> ParseHttpDate(std::string_view value) {
  std::string s = Trim(value);
  static const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
      "%a %b %d %H:%M:%S %Y",       // asctime
  };
  for (const char* format : kFormats) {
    std::tm tm{};
    const char* end = strptime(s.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') return timegm(&tm);
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now) {
  std::string v = Trim(value);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (v.size() > 9) return std::chrono::milliseconds(std::chrono::hours(24 * 365));  // absurd: "a long time"
    return std::chrono::seconds(std::stoll(v));
  }
  auto when = ParseHttpDate(v);
  if (!when) return std::nullopt;
  auto delta = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(*when)) - now;
  if (delta.count() < 0) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(delta);
}

bool IsIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

bool IsRetryableStatus(int status) {
  if (status == 429) return true;
  return status >= 500 && status <= 599 && status != 501 && status != 505;
}

}  // namespace http
