// Redaction of personal data and secrets, ON by default and not optional in
// the pipeline: the only way to get a RedactedPair (the type every exporter
// takes) is Redactor::Redact, so nothing reaches an export file unredacted.
//
// Each value found is replaced by a typed placeholder numbered within one
// pair: the same value gets the same placeholder in the question and in the
// answer ("<EMAIL_1> ... write to <EMAIL_1>"), a different value the next
// number. Placeholders already in a text are respected (numbering continues
// after them), and a text is redacted again until a pass finds nothing new
// (a replacement can expose another value), so redacting twice changes
// nothing.
//
// Kinds and rules (hand-written scanners, no std::regex; see redact_test.cpp):
//   PASSWORD  the value after "password:", "pw=", "passwd =", "pin:",
//             "Passwort:", "mot de passe :", "contraseña:" ..., or after
//             "password is" when the value has a digit/symbol; URL userinfo
//             "scheme://user:PASS@host".
//   SECRET    AWS key ids (AKIA/ASIA...+16), GitHub (ghp_/gho_/ghu_/ghs_/ghr_,
//             github_pat_), Slack (xoxb-/xoxp-/xoxa-/xoxr-/xoxs-), OpenAI
//             (sk-...), Stripe (sk_live_...), Google (AIza...), GitLab (glpat-),
//             JWTs (eyJ...x.y.z), the token after "Bearer"/"Basic", values of
//             "api_key=", "token:", "secret=", "client_secret:", PEM private
//             key blocks, and long high-entropy strings: >= 32 hex characters
//             with letters and digits, or >= 32 base64/base64url characters with
//             upper+lower+digit, a segment of >= 16 alphanumerics and Shannon
//             entropy >= 4.0 bits/char.
//   EMAIL     local@domain.tld (TLD of >= 2 letters).
//   CARD      13-19 digits, optionally grouped by single spaces/dashes,
//             that pass the Luhn check (and are not one repeated digit).
//             Luhn failures are left alone.
//   IP        dotted IPv4 with octets <= 255 (not part of a longer dotted
//             number, not after "version"/"v"), IPv6 accepted by inet_pton
//             with "::" or 8 groups (so times and MAC addresses are not IPs).
//   PHONE     "+" and 8-15 digits; or 7-15 digits in groups separated by
//             spaces, dashes, dots or "(...)"; not dates (2026-03-02,
//             02/03/2026, 2.3.2026), not dotted version numbers (only 3-3-4
//             or 2-2-2-2(-2) dotted groups count), at most one 1-digit group
//             (first); an ungrouped run of digits only when it has 10-15
//             digits and starts with 0, or follows "phone"/"tel"/"call"/
//             "mobile"/"cell"/"fax"/"whatsapp"/"sms" closely.
//   NAME      the requester's own name: each part of requester_name (>= 2
//             letters, titles like "Mr" skipped) and the local part of their
//             e-mail address, case-insensitive (ASCII) on word boundaries;
//             adjacent parts ("Maria Lopez") become one placeholder. A part
//             that is also a common word ("Will", "May", "Grant") only
//             matches capitalised. All parts of the one requester share
//             <NAME_1>.
// Overlaps are resolved by that order (a password that looks like a phone is
// a PASSWORD).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bot/core/types.h"

namespace deskbot::dataset {

enum class PiiKind { kPassword, kSecret, kEmail, kCard, kIp, kPhone, kName };
inline constexpr size_t kPiiKindCount = 7;
const char* PiiKindName(PiiKind kind);  // "PASSWORD", "SECRET", ...

struct RedactionCounts {
  std::array<std::int64_t, kPiiKindCount> by_kind{};
  std::int64_t& operator[](PiiKind k) { return by_kind[static_cast<size_t>(k)]; }
  std::int64_t operator[](PiiKind k) const { return by_kind[static_cast<size_t>(k)]; }
  std::int64_t total() const;
  void Add(const RedactionCounts& other);
};

// Whose personal data this text is about.
struct Requester {
  std::string name;
  std::string email;
};

// One scope = one pair: the value -> placeholder map shared by its texts.
class RedactionScope {
 public:
  explicit RedactionScope(const Requester& requester = {});
  // Makes numbering continue after placeholders already present in `text`.
  void Reserve(std::string_view text);
  std::string Redact(std::string_view text, RedactionCounts* counts);

 private:
  struct Span {
    size_t begin, end;
    PiiKind kind;
    std::string key;  // normalised value: same key -> same placeholder
  };
  std::string RedactOnce(std::string_view text, RedactionCounts* counts);
  std::string PlaceholderFor(PiiKind kind, const std::string& key);

  std::vector<std::string> name_parts_;  // lower-cased parts of the requester's name
  std::vector<bool> part_needs_capital_;
  std::array<int, kPiiKindCount> next_{};
  std::vector<std::pair<std::string, std::string>> assigned_;  // kind+key -> placeholder
};

// A pair whose texts went through redaction. Only Redactor can make one.
class RedactedPair {
 public:
  const Pair& pair() const { return pair_; }
  const std::string& question() const { return pair_.question; }
  const std::string& answer() const { return pair_.answer; }
  void set_split(Split split) { pair_.split = split; }

 private:
  friend class Redactor;
  explicit RedactedPair(Pair p) : pair_(std::move(p)) {}
  Pair pair_;
};

class RedactedPreferencePair {
 public:
  const PreferencePair& pair() const { return pair_; }

 private:
  friend class Redactor;
  explicit RedactedPreferencePair(PreferencePair p) : pair_(std::move(p)) {}
  PreferencePair pair_;
};

class Redactor {
 public:
  // Question and answer share one scope. `counts` (optional) is incremented.
  static RedactedPair Redact(Pair pair, const Requester& requester, RedactionCounts* counts);
  static RedactedPreferencePair Redact(PreferencePair pair, RedactionCounts* counts);
};

// Exposed for tests.
bool LuhnValid(std::string_view digits);
double ShannonEntropy(std::string_view s);

}  // namespace deskbot::dataset
