#include "bot/dataset/redact.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {

const char* PiiKindName(PiiKind kind) {
  switch (kind) {
    case PiiKind::kPassword: return "PASSWORD";
    case PiiKind::kSecret: return "SECRET";
    case PiiKind::kEmail: return "EMAIL";
    case PiiKind::kCard: return "CARD";
    case PiiKind::kIp: return "IP";
    case PiiKind::kPhone: return "PHONE";
    case PiiKind::kName: return "NAME";
  }
  return "PII";
}

std::int64_t RedactionCounts::total() const {
  std::int64_t t = 0;
  for (auto v : by_kind) t += v;
  return t;
}

void RedactionCounts::Add(const RedactionCounts& other) {
  for (size_t i = 0; i < kPiiKindCount; ++i) by_kind[i] += other.by_kind[i];
}

bool LuhnValid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  size_t n = 0;
  for (size_t i = digits.size(); i > 0; --i) {
    char c = digits[i - 1];
    if (!IsAsciiDigit(c)) continue;
    int d = c - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
    ++n;
  }
  return n > 0 && sum % 10 == 0;
}

double ShannonEntropy(std::string_view s) {
  if (s.empty()) return 0;
  int freq[256] = {};
  for (unsigned char c : s) ++freq[c];
  double h = 0, n = static_cast<double>(s.size());
  for (int f : freq) {
    if (f == 0) continue;
    double p = f / n;
    h -= p * std::log2(p);
  }
  return h;
}

namespace {

struct Found {
  size_t begin, end;
  PiiKind kind;
  std::string key;
  bool keep = false;  // an existing placeholder: occupies text, not replaced
};

// Accepted spans; a later (lower-priority) detector cannot overlap them.
class SpanSet {
 public:
  bool Overlaps(size_t b, size_t e) const {
    for (const auto& s : spans_)
      if (b < s.end && s.begin < e) return true;
    return false;
  }
  bool Add(Found f) {
    if (f.begin >= f.end || Overlaps(f.begin, f.end)) return false;
    spans_.push_back(std::move(f));
    return true;
  }
  std::vector<Found>& spans() { return spans_; }

 private:
  std::vector<Found> spans_;
};

bool BoundaryBefore(std::string_view t, size_t i) { return i == 0 || !IsWordByte(t[i - 1]); }
bool BoundaryAfter(std::string_view t, size_t i) { return i >= t.size() || !IsWordByte(t[i]); }

bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsHex(char c) { return IsAsciiDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// --- existing placeholders ---------------------------------------------------

// "<EMAIL_3>" at t[i]: returns its length and sets kind/number.
size_t PlaceholderAt(std::string_view t, size_t i, PiiKind* kind, int* number) {
  if (t[i] != '<') return 0;
  size_t j = i + 1;
  while (j < t.size() && IsUpper(t[j])) ++j;
  if (j == i + 1 || j >= t.size() || t[j] != '_') return 0;
  std::string_view name = t.substr(i + 1, j - i - 1);
  size_t k = j + 1;
  int n = 0;
  while (k < t.size() && IsAsciiDigit(t[k]) && n < 1000000) n = n * 10 + (t[k++] - '0');
  if (k == j + 1 || k >= t.size() || t[k] != '>') return 0;
  for (size_t x = 0; x < kPiiKindCount; ++x) {
    if (name == PiiKindName(static_cast<PiiKind>(x))) {
      *kind = static_cast<PiiKind>(x);
      *number = n;
      return k + 1 - i;
    }
  }
  return 0;
}

void FindPlaceholders(std::string_view t, SpanSet& spans) {
  for (size_t i = t.find('<'); i != std::string_view::npos; i = t.find('<', i + 1)) {
    PiiKind kind;
    int n;
    if (size_t len = PlaceholderAt(t, i, &kind, &n)) spans.Add({i, i + len, kind, "", true});
  }
}

// --- passwords and labelled secrets -------------------------------------------

struct Label {
  std::string_view word;
  PiiKind kind;
  bool allow_is;  // "password is X"
};
constexpr Label kLabels[] = {
    {"password", PiiKind::kPassword, true},     {"passwort", PiiKind::kPassword, true},
    {"passwd", PiiKind::kPassword, false},      {"passcode", PiiKind::kPassword, true},
    {"passphrase", PiiKind::kPassword, true},   {"pass", PiiKind::kPassword, false},
    {"pwd", PiiKind::kPassword, false},         {"pw", PiiKind::kPassword, false},
    {"pin", PiiKind::kPassword, false},         {"kennwort", PiiKind::kPassword, true},
    {"mot de passe", PiiKind::kPassword, false}, {"contraseña", PiiKind::kPassword, false},
    {"contrasena", PiiKind::kPassword, false},  {"senha", PiiKind::kPassword, false},
    {"wachtwoord", PiiKind::kPassword, false},  {"lösenord", PiiKind::kPassword, false},
    {"hasło", PiiKind::kPassword, false},       {"haslo", PiiKind::kPassword, false},
    {"api_key", PiiKind::kSecret, false},       {"api-key", PiiKind::kSecret, false},
    {"apikey", PiiKind::kSecret, false},        {"api key", PiiKind::kSecret, false},
    {"access_token", PiiKind::kSecret, false},  {"access token", PiiKind::kSecret, false},
    {"auth_token", PiiKind::kSecret, false},    {"refresh_token", PiiKind::kSecret, false},
    {"token", PiiKind::kSecret, false},         {"secret", PiiKind::kSecret, false},
    {"client_secret", PiiKind::kSecret, false}, {"secret_key", PiiKind::kSecret, false},
    {"private_key", PiiKind::kSecret, false},   {"license key", PiiKind::kSecret, false},
};

bool ValueLooksLikeSecret(std::string_view v) {
  // After "password is": "expired"/"wrong" are words, "Hunter2!" is a password.
  bool digit = false, symbol = false, inner_upper = false;
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (IsAsciiDigit(c)) digit = true;
    else if (IsUpper(c) && i > 0) inner_upper = true;
    else if (!IsAsciiAlpha(c) && static_cast<unsigned char>(c) < 0x80) symbol = true;
  }
  return digit || symbol || inner_upper;
}

void FindLabelledValues(std::string_view t, SpanSet& spans) {
  static const PhraseSet kWords = [] {
    std::vector<std::string_view> words;
    for (const Label& l : kLabels) words.push_back(l.word);
    return PhraseSet(words);
  }();
  for (size_t i = 0; i < t.size(); ++i) {
    if (!IsAsciiAlpha(t[i]) || !BoundaryBefore(t, i)) continue;
    int index = -1;
    size_t word_len = kWords.MatchPrefix(t.substr(i), true, &index);
    if (word_len == 0) continue;
    do {  // `break` below: not a value after all, go on scanning
      const Label& label = kLabels[index];
      size_t j = i + word_len;
      while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
      bool via_is = false, via_colon = false;
      if (j < t.size() && (t[j] == ':' || t[j] == '=')) {
        via_colon = t[j] == ':';
        ++j;
      } else if (label.allow_is && StartsWithIgnoreCase(t.substr(j), "is ")) {
        j += 3;
        via_is = true;
      } else {
        break;  // a mention of the word, not a value
      }
      while (j < t.size() && (t[j] == ' ' || t[j] == '\t')) ++j;
      if (j >= t.size() || t[j] == '\n') break;
      size_t vb = j, ve;
      char q = t[j];
      if (q == '"' || q == '\'' || q == '`') {
        size_t close = t.find(q, j + 1);
        size_t nl = t.find('\n', j + 1);
        if (close == std::string_view::npos || (nl != std::string_view::npos && nl < close)) break;
        vb = j + 1;
        ve = close;
      } else {
        ve = j;
        while (ve < t.size() && !IsAsciiSpace(t[ve])) ++ve;
        // Sentence punctuation after the value is not part of it.
        while (ve > vb + 1 && (t[ve - 1] == '.' || t[ve - 1] == ',' || t[ve - 1] == ';' || t[ve - 1] == ')'))
          --ve;
      }
      if (ve <= vb || ve - vb > 200) break;
      std::string_view value = t.substr(vb, ve - vb);
      PiiKind dummy_kind;
      int dummy_n;
      if (PlaceholderAt(t, vb, &dummy_kind, &dummy_n) == value.size()) break;  // already redacted
      if (via_is && !ValueLooksLikeSecret(value)) break;
      // "reset your password: use the portal" is prose, not a value: a plain
      // lower-case word followed by more words on the line.
      if (via_colon && q != '"' && q != '\'' && q != '`' && !ValueLooksLikeSecret(value) && IsLower(value[0])) {
        size_t k = ve;
        while (k < t.size() && (t[k] == ' ' || t[k] == '\t')) ++k;
        if (k < t.size() && t[k] != '\n' && IsAsciiAlpha(t[k])) break;
      }
      spans.Add({vb, ve, label.kind, std::string(value)});
      i = ve;
    } while (false);
  }
}

// "scheme://user:PASSWORD@host".
void FindUrlPasswords(std::string_view t, SpanSet& spans) {
  for (size_t i = t.find("://"); i != std::string_view::npos; i = t.find("://", i + 3)) {
    size_t j = i + 3, colon = std::string_view::npos;
    while (j < t.size() && !IsAsciiSpace(t[j]) && t[j] != '/' && t[j] != '@') {
      if (t[j] == ':' && colon == std::string_view::npos) colon = j;
      ++j;
    }
    if (j < t.size() && t[j] == '@' && colon != std::string_view::npos && j > colon + 1)
      spans.Add({colon + 1, j, PiiKind::kPassword, std::string(t.substr(colon + 1, j - colon - 1))});
  }
}

// --- token formats -----------------------------------------------------------

size_t RunOf(std::string_view t, size_t i, bool (*ok)(char)) {
  size_t j = i;
  while (j < t.size() && ok(t[j])) ++j;
  return j - i;
}
bool UpperOrDigit(char c) { return IsUpper(c) || IsAsciiDigit(c); }
bool Alnum(char c) { return IsAsciiAlnum(c); }
bool AlnumUnderscore(char c) { return IsAsciiAlnum(c) || c == '_'; }
bool AlnumDash(char c) { return IsAsciiAlnum(c) || c == '-'; }
bool Base64Url(char c) { return IsAsciiAlnum(c) || c == '-' || c == '_'; }
bool TokenChar(char c) {
  return IsAsciiAlnum(c) || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}

struct TokenFormat {
  std::string_view prefix;
  bool (*body)(char);
  size_t min_body;
  size_t exact_body;  // 0: any length >= min_body
};
constexpr TokenFormat kTokenFormats[] = {
    {"AKIA", UpperOrDigit, 16, 16}, {"ASIA", UpperOrDigit, 16, 16}, {"AGPA", UpperOrDigit, 16, 16},
    {"AIDA", UpperOrDigit, 16, 16}, {"AROA", UpperOrDigit, 16, 16}, {"ANPA", UpperOrDigit, 16, 16},
    {"ghp_", Alnum, 30, 0},         {"gho_", Alnum, 30, 0},         {"ghu_", Alnum, 30, 0},
    {"ghs_", Alnum, 30, 0},         {"ghr_", Alnum, 30, 0},         {"github_pat_", AlnumUnderscore, 20, 0},
    {"xoxb-", AlnumDash, 10, 0},    {"xoxp-", AlnumDash, 10, 0},    {"xoxa-", AlnumDash, 10, 0},
    {"xoxr-", AlnumDash, 10, 0},    {"xoxs-", AlnumDash, 10, 0},    {"xoxe-", AlnumDash, 10, 0},
    {"xapp-", AlnumDash, 10, 0},    {"sk-", Base64Url, 20, 0},      {"sk_live_", Alnum, 16, 0},
    {"sk_test_", Alnum, 16, 0},     {"rk_live_", Alnum, 16, 0},     {"AIza", Base64Url, 30, 0},
    {"glpat-", Base64Url, 20, 0},   {"npm_", Alnum, 30, 0},         {"pypi-", Base64Url, 40, 0},
};

void FindTokens(std::string_view t, SpanSet& spans) {
  // Bytes that can start a token we know ("AKIA", "ghp_", "xoxb-", "sk-",
  // "eyJ", "Bearer", "-----BEGIN", ...): a table, since this runs on every byte.
  static const auto kStarts = [] {
    std::array<bool, 256> starts{};
    for (unsigned char c : std::string_view("AgxsrnpeBb-")) starts[c] = true;
    return starts;
  }();
  // Every prefix we look for, as a prefilter: most word starts ("see",
  // "restart") fail its two-byte bitmap at once. The real checks below are
  // case-sensitive where the format is.
  static const PhraseSet kPrefixes = [] {
    std::vector<std::string_view> p = {"-----BEGIN", "eyJ", "bearer ", "basic "};
    for (const TokenFormat& f : kTokenFormats) p.push_back(f.prefix);
    return PhraseSet(p);
  }();
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (!kStarts[static_cast<unsigned char>(c)]) continue;
    if (!BoundaryBefore(t, i)) continue;
    std::string_view rest = t.substr(i);
    if (kPrefixes.MatchPrefix(rest) == 0) continue;
    // PEM private keys: the whole block.
    if (c == '-' && rest.starts_with("-----BEGIN") ) {
      size_t line_end = rest.find('\n');
      std::string_view first = rest.substr(0, line_end);
      if (first.find("PRIVATE KEY") != std::string_view::npos) {
        size_t end = rest.find("-----END", 10);
        if (end != std::string_view::npos) {
          size_t close = rest.find("-----", end + 8);
          end = close == std::string_view::npos ? rest.size() : close + 5;
        } else {
          end = rest.size();
        }
        spans.Add({i, i + end, PiiKind::kSecret, std::string(rest.substr(0, end))});
        i += end - 1;
      }
      continue;
    }
    // JWT: three base64url segments, the first an encoded '{"'.
    if (rest.starts_with("eyJ")) {
      size_t a = RunOf(t, i, Base64Url);
      if (a >= 10 && i + a < t.size() && t[i + a] == '.') {
        size_t b = RunOf(t, i + a + 1, Base64Url);
        if (b >= 5 && i + a + 1 + b < t.size() && t[i + a + 1 + b] == '.') {
          size_t e = i + a + 2 + b;
          e += RunOf(t, e, Base64Url);
          spans.Add({i, e, PiiKind::kSecret, std::string(t.substr(i, e - i))});
          i = e - 1;
          continue;
        }
      }
    }
    // "Bearer <token>", "Basic <base64>": the credential after the scheme.
    if (StartsWithIgnoreCase(rest, "bearer ") || StartsWithIgnoreCase(rest, "basic ")) {
      size_t vb = i + (AsciiLower(c) == 'b' && AsciiLower(rest[1]) == 'e' ? 7 : 6);
      while (vb < t.size() && t[vb] == ' ') ++vb;
      size_t len = RunOf(t, vb, TokenChar);
      while (len > 0 && t[vb + len - 1] == '.') --len;  // sentence end
      if (len >= 8) {
        bool has_digit = false;
        for (size_t k = vb; k < vb + len; ++k) has_digit |= IsAsciiDigit(t[k]);
        if (has_digit || len >= 20) {
          spans.Add({vb, vb + len, PiiKind::kSecret, std::string(t.substr(vb, len))});
          i = vb + len - 1;
          continue;
        }
      }
    }
    for (const TokenFormat& f : kTokenFormats) {
      if (!rest.starts_with(f.prefix)) continue;
      size_t body = RunOf(t, i + f.prefix.size(), f.body);
      bool ok = f.exact_body ? body == f.exact_body : body >= f.min_body;
      size_t e = i + f.prefix.size() + body;
      if (ok && BoundaryAfter(t, e)) {
        spans.Add({i, e, PiiKind::kSecret, std::string(t.substr(i, e - i))});
        i = e - 1;
      }
      break;
    }
  }
}

// Long random-looking strings: hex digests, base64 keys.
// Long random-looking strings: hex digests, base64 keys. A run that is a URL
// path ("com/channel/UCUXxf...", "web/20191022031903/https") is judged per
// '/'-separated segment, so the path words around an id are kept.
bool LooksLikeSecret(std::string_view run) {
  if (run.size() < 32) return false;
  bool upper = false, lower = false, digit = false, all_hex = true;
  size_t segment = 0, longest_segment = 0;
  for (char c : run) {
    upper |= IsUpper(c);
    lower |= IsLower(c);
    digit |= IsAsciiDigit(c);
    all_hex &= IsHex(c);
    segment = IsAsciiAlnum(c) ? segment + 1 : 0;
    longest_segment = std::max(longest_segment, segment);
  }
  if (all_hex && digit && (upper || lower)) return ShannonEntropy(run) >= 3.0;
  if (upper && lower && digit && longest_segment >= 16) return ShannonEntropy(run) >= 4.0;
  return false;
}

// A '/'-separated segment that is a plain lower-case word ("com", "channel").
bool IsPathWord(std::string_view seg) {
  if (seg.size() < 2) return false;
  for (char c : seg)
    if (!IsLower(c) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

void FindHighEntropy(std::string_view t, SpanSet& spans) {
  auto run_char = [](char c) { return IsAsciiAlnum(c) || c == '+' || c == '/' || c == '_' || c == '-' || c == '='; };
  size_t i = 0;
  while (i < t.size()) {
    if (!run_char(t[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < t.size() && run_char(t[j])) ++j;
    size_t b = i, e = j;
    i = j;
    while (e > b && t[e - 1] == '=') --e;  // base64 padding
    while (b < e && (t[b] == '/' || t[b] == '-' || t[b] == '_' || t[b] == '+')) ++b;
    if (e - b < 32) continue;
    if (b > 0 && IsWordByte(t[b - 1])) continue;  // non-ASCII glued on
    std::string_view run = t.substr(b, e - b);
    bool path = false;
    if (run.find('/') != std::string_view::npos) {
      for (size_t s0 = 0; s0 <= run.size();) {
        size_t slash = run.find('/', s0);
        if (slash == std::string_view::npos) slash = run.size();
        path |= IsPathWord(run.substr(s0, slash - s0));
        s0 = slash + 1;
      }
    }
    if (!path) {
      if (LooksLikeSecret(run)) spans.Add({b, e, PiiKind::kSecret, std::string(run)});
      continue;
    }
    for (size_t s0 = 0; s0 < run.size();) {
      size_t slash = run.find('/', s0);
      if (slash == std::string_view::npos) slash = run.size();
      std::string_view seg = run.substr(s0, slash - s0);
      if (LooksLikeSecret(seg)) spans.Add({b + s0, b + slash, PiiKind::kSecret, std::string(seg)});
      s0 = slash + 1;
    }
  }
}

// --- e-mail --------------------------------------------------------------------

bool LocalChar(char c) {
  return IsAsciiAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool DomainChar(char c) { return IsAsciiAlnum(c) || c == '.' || c == '-'; }

void FindEmails(std::string_view t, SpanSet& spans) {
  for (size_t at = t.find('@'); at != std::string_view::npos; at = t.find('@', at + 1)) {
    size_t b = at;
    while (b > 0 && LocalChar(t[b - 1])) --b;
    while (b < at && t[b] == '.') ++b;
    if (b == at) continue;
    size_t e = at + 1;
    while (e < t.size() && DomainChar(t[e])) ++e;
    while (e > at + 1 && (t[e - 1] == '.' || t[e - 1] == '-')) --e;
    std::string_view domain = t.substr(at + 1, e - at - 1);
    size_t dot = domain.rfind('.');
    if (domain.empty() || dot == std::string_view::npos || domain[0] == '.' || domain[0] == '-') continue;
    std::string_view tld = domain.substr(dot + 1);
    if (tld.size() < 2) continue;
    bool alpha = true;
    for (char c : tld) alpha &= IsAsciiAlpha(c);
    if (!alpha) continue;
    spans.Add({b, e, PiiKind::kEmail, AsciiLowerCopy(t.substr(b, e - b))});
    at = e - 1;
  }
}

// --- cards -------------------------------------------------------------------

// Whether t[i] lies in a URL ("https://web.archive.org/web/20191022031903/..."):
// the whitespace-delimited token around it has "://" or starts with "www.".
// Archive timestamps and ids in URLs are neither cards nor phone numbers.
bool InsideUrl(std::string_view t, size_t i) {
  size_t b = i;
  while (b > 0 && !IsAsciiSpace(t[b - 1]) && i - b < 512) --b;
  size_t e = i;
  while (e < t.size() && !IsAsciiSpace(t[e]) && e - i < 512) ++e;
  std::string_view token = t.substr(b, e - b);
  return token.find("://") != std::string_view::npos || StartsWithIgnoreCase(token, "www.");
}

void FindCards(std::string_view t, SpanSet& spans) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (!IsAsciiDigit(t[i]) || !BoundaryBefore(t, i)) continue;
    if (i > 0 && (t[i - 1] == '+' || t[i - 1] == '.' || t[i - 1] == '(')) continue;
    // Digits with single space/dash separators; fixed buffers (this runs on
    // every number in every text).
    char digits[20];
    size_t ndigits = 0;
    size_t groups[20] = {0};
    size_t ngroups = 1;
    char sep = 0;
    size_t j = i;
    while (j < t.size() && ndigits <= 19) {
      char c = t[j];
      if (IsAsciiDigit(c)) {
        if (ndigits < sizeof digits) digits[ndigits] = c;
        ++ndigits;
        ++groups[ngroups - 1];
        ++j;
        continue;
      }
      if ((c == ' ' || c == '-') && j + 1 < t.size() && IsAsciiDigit(t[j + 1]) && ngroups < 20) {
        if (sep != 0 && sep != c) break;
        sep = c;
        ++ngroups;
        ++j;
        continue;
      }
      break;
    }
    if (ndigits >= 13 && ndigits <= 19 && BoundaryAfter(t, j) && !InsideUrl(t, i)) {
      std::string_view number(digits, ndigits);
      bool grouping_ok = ngroups == 1 || groups[0] == 4;
      for (size_t g = 1; g < ngroups && grouping_ok; ++g) grouping_ok = groups[g] >= 3;
      bool one_digit = number.find_first_not_of(number[0]) == std::string_view::npos;
      if (grouping_ok && !one_digit && LuhnValid(number)) spans.Add({i, j, PiiKind::kCard, std::string(number)});
    }
    // Continue after this digit run (its first group at least).
    while (i + 1 < t.size() && IsAsciiDigit(t[i + 1])) ++i;
  }
}

// --- IP addresses ----------------------------------------------------------------

bool PrecededByVersionWord(std::string_view t, size_t i) {
  size_t from = i >= 10 ? i - 10 : 0;
  std::string_view before = t.substr(from, i - from);
  while (!before.empty() && before.back() == ' ') before.remove_suffix(1);
  return EndsWithIgnoreCase(before, "version") || EndsWithIgnoreCase(before, "ver.") ||
         EndsWithIgnoreCase(before, "ver") ||
         (!before.empty() && (before.back() == 'v' || before.back() == 'V') &&
          (before.size() == 1 || !IsWordByte(before[before.size() - 2])));
}

// Dotted quads that are no one's address: versions written like one
// ("1.5.0.3": every part a single digit; "1.6.0.06": a leading zero) and
// addresses that are the same on every machine (loopback 127/8, 0.0.0.0,
// netmasks such as 255.255.255.0). Redacting those would only damage the
// answer ("map the name to 127.0.0.1 in /etc/hosts").
bool IsVersionOrNonPersonalIpv4(std::string_view ip) {
  int octet[4] = {0, 0, 0, 0};
  size_t k = 0, len = 0;
  bool single_digits = true, leading_zero = false;
  for (size_t x = 0; x <= ip.size(); ++x) {
    if (x == ip.size() || ip[x] == '.') {
      single_digits &= len == 1;
      ++k;
      len = 0;
      continue;
    }
    if (len == 0 && ip[x] == '0' && x + 1 < ip.size() && ip[x + 1] != '.') leading_zero = true;
    octet[k] = octet[k] * 10 + (ip[x] - '0');
    ++len;
  }
  if (single_digits || leading_zero) return true;
  if (octet[0] == 127 || (octet[0] == 0 && octet[1] == 0 && octet[2] == 0 && octet[3] == 0)) return true;
  auto mask_byte = [](int v) { return v == 0 || v == 128 || v == 192 || v == 224 || v == 240 || v == 248 || v == 252 || v == 254 || v == 255; };
  return octet[0] == 255 && mask_byte(octet[1]) && mask_byte(octet[2]) && mask_byte(octet[3]);
}

void FindIpv4(std::string_view t, SpanSet& spans) {
  for (size_t i = 0; i < t.size(); ++i) {
    if (!IsAsciiDigit(t[i])) continue;
    if (i > 0 && (IsWordByte(t[i - 1]) || t[i - 1] == '.')) {
      while (i + 1 < t.size() && IsAsciiDigit(t[i + 1])) ++i;
      continue;
    }
    size_t j = i;
    int octets = 0;
    bool ok = true;
    while (octets < 4) {
      size_t start = j;
      int value = 0;
      while (j < t.size() && IsAsciiDigit(t[j]) && j - start < 4) value = value * 10 + (t[j++] - '0');
      size_t len = j - start;
      if (len == 0 || len > 3 || value > 255) {
        ok = false;
        break;
      }
      ++octets;
      if (octets < 4) {
        if (j >= t.size() || t[j] != '.') {
          ok = false;
          break;
        }
        ++j;
      }
    }
    if (ok && octets == 4) {
      bool longer = j < t.size() && (IsWordByte(t[j]) || (t[j] == '.' && j + 1 < t.size() && IsAsciiDigit(t[j + 1])));
      // Package versions: "linux-image-2.6.8.1-3", "java-6-sun-1.6.0.06".
      bool package = (i > 0 && t[i - 1] == '-') || (j + 1 < t.size() && t[j] == '-' && IsAsciiDigit(t[j + 1]));
      std::string_view ip = t.substr(i, j - i);
      if (!longer && !package && !PrecededByVersionWord(t, i) && !IsVersionOrNonPersonalIpv4(ip)) {
        spans.Add({i, j, PiiKind::kIp, std::string(ip)});
        i = j - 1;
        continue;
      }
    }
    while (i + 1 < t.size() && (IsAsciiDigit(t[i + 1]) || t[i + 1] == '.')) ++i;
  }
}

void FindIpv6(std::string_view t, SpanSet& spans) {
  auto v6char = [](char c) { return IsHex(c) || c == ':' || c == '.'; };
  size_t i = 0;
  while ((i = t.find(':', i)) != std::string_view::npos) {
    size_t b = i, e = i;
    while (b > 0 && v6char(t[b - 1])) --b;
    while (e < t.size() && v6char(t[e])) ++e;
    i = e + 1;
    while (e > b && t[e - 1] == '.') --e;  // sentence end
    if (e - b < 3 || e - b > 45) continue;
    if (!BoundaryBefore(t, b) || !BoundaryAfter(t, e)) continue;
    if (b > 0 && t[b - 1] == '_') continue;
    std::string cand(t.substr(b, e - b));
    // A trailing single ':' (sentence "address fe80::1:") is punctuation.
    if (cand.size() > 2 && cand.back() == ':' && cand[cand.size() - 2] != ':') cand.pop_back();
    size_t colons = std::count(cand.begin(), cand.end(), ':');
    bool compressed = cand.find("::") != std::string::npos;
    if (colons < 2 || (!compressed && colons != 7)) continue;
    // Needs a digit: "a::b" and "dead::beef" in prose are not addresses.
    if (std::none_of(cand.begin(), cand.end(), [](char c) { return IsAsciiDigit(c); })) continue;
    unsigned char buf[16];
    if (inet_pton(AF_INET6, cand.c_str(), buf) != 1) continue;
    static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char kUnspecified[16] = {};
    if (std::memcmp(buf, kLoopback, 16) == 0 || std::memcmp(buf, kUnspecified, 16) == 0) continue;  // ::1, ::
    spans.Add({b, b + cand.size(), PiiKind::kIp, AsciiLowerCopy(cand)});
  }
}

// --- phone numbers ------------------------------------------------------------

bool PhoneKeywordBefore(std::string_view t, size_t i) {
  static constexpr std::string_view kWords[] = {"phone", "tel", "call", "mobile", "cell", "fax", "whatsapp",
                                                "sms", "ring", "telefon", "téléphone", "handy", "movil", "móvil",
                                                "cellulare", "portable", "ph", "mob", "text me"};
  size_t from = i >= 28 ? i - 28 : 0;
  std::string_view before = t.substr(from, i - from);
  for (auto w : kWords) {
    size_t pos = FindIgnoreCase(before, w);
    while (pos != std::string_view::npos) {
      bool left = pos == 0 || !IsWordByte(before[pos - 1]);
      bool right = pos + w.size() >= before.size() || !IsAsciiAlpha(before[pos + w.size()]);
      if (left && right) return true;
      pos = FindIgnoreCase(before, w, pos + 1);
    }
  }
  return false;
}

bool LooksLikeDate(const size_t* groups, size_t n, char sep) {
  if (n != 3 || !(sep == '-' || sep == '/' || sep == '.')) return false;
  if (groups[0] == 4 && groups[1] <= 2 && groups[2] <= 2) return true;                        // 2026-03-02
  if (groups[0] <= 2 && groups[1] <= 2 && (groups[2] == 4 || groups[2] == 2)) return true;    // 02/03/2026, 2.3.26
  return false;
}

struct PhoneScan {
  size_t end = 0;
  size_t digits = 0;
  size_t groups[24] = {0};
  size_t ngroups = 0;
  char sep = 0;
  bool mixed = false, dots_only = true, parens = false, plus = false;
  bool has_dot = false;      // a '.' among the separators
  bool date_inside = false;  // three groups in a row shaped like a date, one separator
  char seps[24] = {0};       // separator before group k (0: none or only parentheses)
};

// Reads digits and single separators (" ", "-", ".", "/", and parentheses)
// from t[i]; stops at anything else or after 16 digits.
PhoneScan ScanPhone(std::string_view t, size_t i) {
  PhoneScan s;
  s.plus = t[i] == '+';
  size_t j = i + (s.plus ? 1 : 0);
  s.end = j;
  while (j < t.size() && s.digits <= 15) {
    if (IsAsciiDigit(t[j])) {
      if (s.ngroups == 0 || !IsAsciiDigit(t[j - 1])) {
        if (s.ngroups == 24) break;
        s.groups[s.ngroups++] = 0;
      }
      ++s.groups[s.ngroups - 1];
      ++s.digits;
      s.end = ++j;
      continue;
    }
    size_t k = j;
    while (k < t.size() && k - j < 3 &&
           (t[k] == ' ' || t[k] == '-' || t[k] == '.' || t[k] == '/' || t[k] == '(' || t[k] == ')'))
      ++k;
    if (k == j || k >= t.size() || !IsAsciiDigit(t[k])) break;
    size_t plain = 0;
    for (size_t x = j; x < k; ++x) {
      char c = t[x];
      if (c == '(' || c == ')') {
        s.parens = true;
        s.dots_only = false;
        continue;
      }
      ++plain;
      if (c != '.') s.dots_only = false;
      if (s.sep != 0 && c != s.sep) s.mixed = true;
      s.sep = c;
    }
    if (plain > 1) break;  // "1 - 2": a range, not a number
    if (s.ngroups < 24) {
      char sep = 0;
      for (size_t x = j; x < k; ++x)
        if (t[x] != '(' && t[x] != ')') sep = t[x];
      s.seps[s.ngroups] = sep;  // before the group that starts at k
      s.has_dot |= sep == '.';
    }
    j = k;
  }
  for (size_t g = 0; g + 2 < s.ngroups; ++g) {
    char a = s.seps[g + 1], b = s.seps[g + 2];
    if (a == b && (a == '-' || a == '/' || a == '.') && LooksLikeDate(s.groups + g, 3, a)) s.date_inside = true;
  }
  return s;
}

// "+4420...": the digits (and a leading '+') of t[begin, end).
std::string PhoneKey(std::string_view t, size_t begin, size_t end) {
  std::string key;
  for (size_t k = begin; k < end; ++k)
    if (IsAsciiDigit(t[k]) || (k == begin && t[k] == '+')) key.push_back(t[k]);
  return key;
}

bool AcceptPhone(std::string_view t, size_t start, const PhoneScan& s) {
  if (s.digits < 7 || s.digits > 15) return false;
  if (s.end < t.size() &&
      (IsWordByte(t[s.end]) || (t[s.end] == '.' && s.end + 1 < t.size() && IsAsciiDigit(t[s.end + 1]))))
    return false;
  if (s.plus) return s.digits >= 8;
  if (s.ngroups == 1 && !s.parens) {
    // An ungrouped run: a national number with trunk prefix, or one the text
    // calls a phone number.
    return (s.digits >= 10 && t[start] == '0') || PhoneKeywordBefore(t, start);
  }
  if (!s.mixed && LooksLikeDate(s.groups, s.ngroups, s.sep)) return false;
  if (s.mixed && s.has_dot) return false;  // "1909 18563.592": a version, not a number to call
  if (s.mixed && s.date_inside) return false;  // "1645 2008-09-25": a number next to a date
  // Grouped national numbers: the first group is an area/trunk code (<= 5
  // digits), no group longer than 8 ("0151 12345678"); "8-4750000030256" is
  // a reference number.
  if (s.groups[0] > 5) return false;
  for (size_t g = 0; g < s.ngroups; ++g)
    if (s.groups[g] > 8) return false;
  if (s.dots_only) {
    const size_t* g = s.groups;
    bool nanp = s.ngroups == 3 && g[0] == 3 && g[1] == 3 && g[2] == 4;
    bool pairs = s.ngroups == 4 || s.ngroups == 5;
    for (size_t k = 0; k < s.ngroups && pairs; ++k) pairs = g[k] == 2;
    return nanp || pairs;
  }
  if (s.ngroups > 6) return false;
  for (size_t g = 1; g < s.ngroups; ++g)
    if (s.groups[g] < 2) return false;
  return true;
}

void FindPhones(std::string_view t, SpanSet& spans) {
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool plus = c == '+' && i + 1 < t.size() && (IsAsciiDigit(t[i + 1]) || t[i + 1] == '(' || t[i + 1] == ' ');
    bool paren = c == '(' && i + 1 < t.size() && IsAsciiDigit(t[i + 1]);
    if (!plus && !paren && !IsAsciiDigit(c)) continue;
    if (i > 0) {
      char p = t[i - 1];
      if (IsWordByte(p) || p == '.' || p == '/' || p == '#' || p == ':' || p == '$' || p == '@' || p == ',' ||
          p == '-' || p == '_' || p == '=' || p == '+' || p == '<' || p == '%' || p == '^') {
        while (i + 1 < t.size() && IsAsciiDigit(t[i + 1])) ++i;
        continue;
      }
    }
    PhoneScan s = ScanPhone(t, i);
    if (AcceptPhone(t, i, s) && !InsideUrl(t, i)) spans.Add({i, s.end, PiiKind::kPhone, PhoneKey(t, i, s.end)});
    if (s.end > i + 1) i = s.end - 1;
  }
}

// --- the requester's name ---------------------------------------------------

constexpr std::string_view kTitles[] = {"mr", "mrs", "ms", "miss", "dr", "prof", "jr", "sr", "ii", "iii", "iv",
                                        "herr", "frau", "mme", "mlle", "m", "sra", "sr", "von", "van", "de",
                                        "der", "den", "la", "le", "del", "da", "di", "du", "dos", "das", "al", "el",
                                        "bin", "ben", "st"};
constexpr std::string_view kRoleMailboxes[] = {"admin", "support", "info", "help", "helpdesk", "noreply",
                                               "no-reply", "service", "it", "office", "contact", "sales",
                                               "billing", "hr", "team", "mail", "user", "test", "root"};
// Names that are also ordinary words: matched only when capitalised.
constexpr std::string_view kCommonWordNames[] = {
    "will", "may", "june", "april", "august", "rose", "grant", "mark", "bill", "frank", "hope", "joy",
    "faith", "art", "dawn", "summer", "case", "long", "young", "white", "black", "brown", "green", "gray",
    "grey", "little", "king", "price", "cross", "hill", "wood", "stone", "page", "bell", "ward", "west",
    "north", "park", "lane", "love", "rich", "sharp", "best", "short", "strong", "field", "fair", "chase",
    "drew", "gene", "guy", "jack", "max", "miles", "pat", "ray", "sue", "sunny", "don", "rob", "reed",
    "amber", "ivy", "lily", "penny", "ruby", "crystal", "holly", "iris", "sky", "storm", "river", "worth",
    "baker", "cook", "hunter", "porter", "glen", "heath", "rust", "moss", "ash", "bob", "kit", "nick",
    "pete", "tim", "ted", "bud", "new", "an", "man", "so", "do", "ha", "ma", "he", "ye", "mo", "jo",
};

bool IsNameBoundary(std::string_view t, size_t i, bool before) {
  if (before) {
    if (i == 0) return true;
    if (IsWordByte(t[i - 1])) return false;
    return !(t[i - 1] == '\'' && i >= 2 && IsAsciiAlpha(t[i - 2]));
  }
  if (i >= t.size()) return true;
  if (IsWordByte(t[i])) return false;
  return !(t[i] == '\'' && i + 1 < t.size() && IsAsciiAlpha(t[i + 1]));  // "Don't"
}

}  // namespace

RedactionScope::RedactionScope(const Requester& requester) {
  auto add_part = [&](std::string_view part) {
    while (!part.empty() && (part.back() == '.' || part.back() == ',' || part.back() == '\'')) part.remove_suffix(1);
    while (!part.empty() && (part.front() == '(' || part.front() == '"' || part.front() == '\'')) part.remove_prefix(1);
    if (CountCodePoints(part) < 2) return;
    std::string lower = AsciiLowerCopy(part);
    for (auto title : kTitles)
      if (lower == title) return;
    for (const auto& existing : name_parts_)
      if (existing == lower) return;
    bool common = false;
    for (auto w : kCommonWordNames) common |= (lower == w);
    name_parts_.push_back(std::move(lower));
    part_needs_capital_.push_back(common);
  };
  auto add_with_subparts = [&](std::string_view word, const char* separators, size_t min_sub) {
    add_part(word);
    size_t b = 0;
    for (size_t k = 0; k <= word.size(); ++k) {
      if (k == word.size() || std::strchr(separators, word[k]) != nullptr) {
        if (k > b && k - b >= min_sub && k - b < word.size()) add_part(word.substr(b, k - b));
        b = k + 1;
      }
    }
  };
  std::string_view name = requester.name;
  size_t b = 0;
  for (size_t k = 0; k <= name.size(); ++k) {
    if (k == name.size() || IsAsciiSpace(name[k]) || name[k] == ',' || name[k] == '/') {
      if (k > b) add_with_subparts(name.substr(b, k - b), "-", 2);
      b = k + 1;
    }
  }
  size_t at = requester.email.find('@');
  if (at != std::string::npos && at >= 3) {
    std::string_view local = std::string_view(requester.email).substr(0, at);
    std::string lower = AsciiLowerCopy(local);
    bool role = false;
    for (auto r : kRoleMailboxes) role |= (lower == r);
    bool alpha = false;
    for (char c : local) alpha |= IsAsciiAlpha(c);
    if (!role && alpha) add_with_subparts(local, "._-+", 3);
  }
}

void RedactionScope::Reserve(std::string_view text) {
  for (size_t i = text.find('<'); i != std::string_view::npos; i = text.find('<', i + 1)) {
    PiiKind kind;
    int n;
    if (PlaceholderAt(text, i, &kind, &n)) {
      int& next = next_[static_cast<size_t>(kind)];
      if (n > next) next = n;
    }
  }
}

std::string RedactionScope::PlaceholderFor(PiiKind kind, const std::string& key) {
  std::string full_key;
  full_key.reserve(key.size() + 2);
  full_key.push_back(static_cast<char>('0' + static_cast<int>(kind)));
  full_key.push_back('\x1f');
  full_key += key;
  for (const auto& [k, placeholder] : assigned_)
    if (k == full_key) return placeholder;
  int n = ++next_[static_cast<size_t>(kind)];
  std::string placeholder = std::string("<") + PiiKindName(kind) + "_" + std::to_string(n) + ">";
  assigned_.emplace_back(std::move(full_key), placeholder);
  return placeholder;
}

std::string RedactionScope::Redact(std::string_view text, RedactionCounts* counts) {
  // Replacing a value can expose another: "fe80::1fe80::1" is no address,
  // but after the first part is replaced the "::1" behind it stands alone.
  // Passes repeat until nothing new is found, so redacting twice is a no-op.
  std::string out = RedactOnce(text, counts);
  if (out == text) return out;  // nothing found: the common case, one pass
  for (int pass = 0; pass < 4; ++pass) {
    std::string next = RedactOnce(out, counts);
    if (next == out) break;
    out = std::move(next);
  }
  return out;
}

std::string RedactionScope::RedactOnce(std::string_view t, RedactionCounts* counts) {
  SpanSet spans;
  FindPlaceholders(t, spans);
  FindLabelledValues(t, spans);
  FindUrlPasswords(t, spans);
  FindTokens(t, spans);
  FindEmails(t, spans);
  bool has_digit = false;
  for (char c : t) {
    if (IsAsciiDigit(c)) {
      has_digit = true;
      break;
    }
  }
  if (has_digit) {  // cards, IPv4 and phones all need one
    FindCards(t, spans);
    FindIpv4(t, spans);
  }
  FindIpv6(t, spans);
  FindHighEntropy(t, spans);
  if (has_digit) FindPhones(t, spans);
  // The requester's name: every occurrence of every part, adjacent parts merged.
  std::vector<std::pair<size_t, size_t>> names;
  std::string lower;
  if (!name_parts_.empty()) lower = AsciiLowerCopy(t);  // same length as t: positions carry over
  for (size_t p = 0; p < name_parts_.size(); ++p) {
    const std::string& part = name_parts_[p];
    for (size_t pos = lower.find(part); pos != std::string::npos; pos = lower.find(part, pos + 1)) {
      size_t end = pos + part.size();
      if (!IsNameBoundary(t, pos, true) || !IsNameBoundary(t, end, false)) continue;
      if (part_needs_capital_[p] && !IsUpper(t[pos])) continue;
      names.emplace_back(pos, end);
    }
  }
  if (!names.empty()) {
    std::sort(names.begin(), names.end());
    std::vector<std::pair<size_t, size_t>> merged;
    for (const auto& n : names) {
      if (!merged.empty()) {
        auto& last = merged.back();
        if (n.first < last.second) {  // overlapping parts ("anne-marie" and "anne")
          last.second = std::max(last.second, n.second);
          continue;
        }
        std::string_view gap = t.substr(last.second, n.first - last.second);
        if (gap.size() <= 2 && gap.find_first_not_of(" ") == std::string_view::npos) {
          last.second = n.second;
          continue;
        }
      }
      merged.push_back(n);
    }
    for (const auto& [b, e] : merged) spans.Add({b, e, PiiKind::kName, "requester"});
  }

  auto& found = spans.spans();
  bool any = false;
  for (const auto& f : found) any |= !f.keep;
  if (!any) return std::string(t);
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.begin < b.begin; });
  std::string out;
  out.reserve(t.size());
  size_t pos = 0;
  for (const auto& f : found) {
    if (f.keep) continue;
    out.append(t.data() + pos, f.begin - pos);
    out += PlaceholderFor(f.kind, f.key);
    pos = f.end;
    if (counts != nullptr) ++(*counts)[f.kind];
  }
  out.append(t.data() + pos, t.size() - pos);
  return out;
}

RedactedPair Redactor::Redact(Pair pair, const Requester& requester, RedactionCounts* counts) {
  RedactionScope scope(requester);
  scope.Reserve(pair.question);
  scope.Reserve(pair.answer);
  pair.question = scope.Redact(pair.question, counts);
  pair.answer = scope.Redact(pair.answer, counts);
  return RedactedPair(std::move(pair));
}

RedactedPreferencePair Redactor::Redact(PreferencePair pair, RedactionCounts* counts) {
  RedactionScope scope;
  scope.Reserve(pair.question);
  scope.Reserve(pair.preferred);
  scope.Reserve(pair.rejected);
  pair.question = scope.Redact(pair.question, counts);
  pair.preferred = scope.Redact(pair.preferred, counts);
  pair.rejected = scope.Redact(pair.rejected, counts);
  return RedactedPreferencePair(std::move(pair));
}

}  // namespace deskbot::dataset
