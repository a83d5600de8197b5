#include "bot/sources/iso_time.h"

#include <cctype>
#include <chrono>
#include <string>

namespace deskbot {
namespace {

// Reads exactly `n` digits at s[*i].
bool Digits(std::string_view s, std::size_t* i, int n, int* out) {
  if (*i + static_cast<std::size_t>(n) > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    char c = s[*i + static_cast<std::size_t>(k)];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *i += static_cast<std::size_t>(n);
  *out = v;
  return true;
}

bool Take(std::string_view s, std::size_t* i, char c) {
  if (*i < s.size() && s[*i] == c) {
    ++*i;
    return true;
  }
  return false;
}

}  // namespace

std::optional<UnixSeconds> ParseIsoTime(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  if (s.empty()) return std::nullopt;

  // Unix seconds.
  if (s.find_first_not_of("0123456789") == std::string_view::npos) {
    if (s.size() > 12) return std::nullopt;
    return static_cast<UnixSeconds>(std::stoll(std::string(s)));
  }

  std::size_t i = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!Digits(s, &i, 4, &year) || !Take(s, &i, '-') || !Digits(s, &i, 2, &month) ||
      !Take(s, &i, '-') || !Digits(s, &i, 2, &day))
    return std::nullopt;
  namespace chr = std::chrono;
  chr::year_month_day ymd{chr::year(year), chr::month(static_cast<unsigned>(month)),
                          chr::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;

  int offset_seconds = 0;
  if (i < s.size()) {
    if (!(Take(s, &i, 'T') || Take(s, &i, 't') || Take(s, &i, ' '))) return std::nullopt;
    if (!Digits(s, &i, 2, &hour) || !Take(s, &i, ':') || !Digits(s, &i, 2, &minute))
      return std::nullopt;
    if (Take(s, &i, ':')) {
      if (!Digits(s, &i, 2, &second)) return std::nullopt;
      if (Take(s, &i, '.') || Take(s, &i, ',')) {  // fractions are dropped
        std::size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
        if (i == start) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (Take(s, &i, 'Z') || Take(s, &i, 'z')) {
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      int sign = s[i] == '-' ? -1 : 1;
      ++i;
      int oh = 0, om = 0;
      if (!Digits(s, &i, 2, &oh)) return std::nullopt;
      Take(s, &i, ':');
      if (i < s.size() && !Digits(s, &i, 2, &om)) return std::nullopt;
      if (oh > 23 || om > 59) return std::nullopt;
      offset_seconds = sign * (oh * 3600 + om * 60);
    }
    if (i != s.size()) return std::nullopt;
  }
  auto days = chr::sys_days(ymd).time_since_epoch().count();
  return static_cast<UnixSeconds>(days) * 86400 + hour * 3600 + minute * 60 + second -
         offset_seconds;
}

}  // namespace deskbot
