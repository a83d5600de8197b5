#include "bot/dataset/text_util.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace deskbot::dataset {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is invalid.
// Follows RFC 3629 / Unicode table 3-7: no overlongs, no surrogates.
size_t ValidSequenceLength(const unsigned char* s, size_t n, size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  auto cont = [&](size_t k) { return i + k < n && (s[i + k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    unsigned char c1 = s[i + 1];
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    unsigned char c1 = s[i + 1];
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

bool NeedsSanitizing(std::string_view in) {
  for (unsigned char c : in) {
    if (c >= 0x80 || c == '\r' || (c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) return true;
  }
  return false;
}

}  // namespace

bool IsValidUtf8(std::string_view in) {
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) { ++i; continue; }
    size_t len = ValidSequenceLength(s, n, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

std::string SanitizeUtf8(std::string_view in) {
  if (!NeedsSanitizing(in)) return std::string(in);
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c < 0x80) {
      if (c == '\r') {
        out.push_back('\n');
        i += (i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
        continue;
      }
      if ((c >= 0x20 && c != 0x7F) || c == '\n' || c == '\t') out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    size_t len = ValidSequenceLength(s, n, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD for each invalid byte
      ++i;
      continue;
    }
    if (len == 2) {
      unsigned char c1 = s[i + 1];
      if (c == 0xC2 && c1 == 0xA0) { out.push_back(' '); i += 2; continue; }        // NBSP
      if (c == 0xC2 && c1 < 0xA0) { i += 2; continue; }                              // C1 controls
      if (c == 0xC2 && c1 == 0xAD) { i += 2; continue; }                             // soft hyphen
    } else if (len == 3) {
      unsigned char c1 = s[i + 1], c2 = s[i + 2];
      if (c == 0xE2 && c1 == 0x80) {
        if (c2 <= 0x8A || c2 == 0xAF) { out.push_back(' '); i += 3; continue; }     // U+2000..200A, 202F
        if (c2 >= 0x8B && c2 <= 0x8F) { i += 3; continue; }                          // zero-width, LRM/RLM
        if (c2 == 0xA8 || c2 == 0xA9) { out.push_back('\n'); i += 3; continue; }    // line/para separator
      }
      if (c == 0xE2 && c1 == 0x81 && c2 == 0xA0) { i += 3; continue; }               // word joiner
      if (c == 0xE3 && c1 == 0x80 && c2 == 0x80) { out.push_back(' '); i += 3; continue; }  // ideographic space
      if (c == 0xEF && c1 == 0xBB && c2 == 0xBF) { i += 3; continue; }               // BOM / ZWNBSP
    }
    out.append(in.data() + i, len);
    i += len;
  }
  return out;
}

std::string NormalizeWhitespace(std::string_view in) {
  // Writes through a raw pointer into a buffer of the input's size (the
  // output is never longer): this runs several times per message.
  std::string out(in.size(), '\0');
  char* o = out.data();
  char* const begin = o;
  size_t pending_newlines = 0;  // newlines seen since the last text
  bool pending_space = false;
  bool at_line_start = true;
  for (char c : in) {
    if (c == '\n') {
      ++pending_newlines;
      pending_space = false;
      at_line_start = true;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r') {
      if (!at_line_start) pending_space = true;
      continue;
    }
    if (o != begin) {
      if (pending_newlines > 0) {
        *o++ = '\n';
        if (pending_newlines >= 2) *o++ = '\n';
      } else if (pending_space) {
        *o++ = ' ';
      }
    }
    pending_newlines = 0;
    pending_space = false;
    at_line_start = false;
    *o++ = c;
  }
  out.resize(static_cast<size_t>(o - begin));
  return out;
}

std::string AsciiLowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  return StartsWithIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

PhraseSet::PhraseSet(std::initializer_list<std::string_view> phrases)
    : PhraseSet(std::vector<std::string_view>(phrases)) {}

PhraseSet::PhraseSet(const std::vector<std::string_view>& phrases) {
  for (auto p : phrases) phrases_.push_back(AsciiLowerCopy(p));
  bigrams_.assign(65536 / 64, 0);
  shortest_ = phrases_.empty() ? 0 : SIZE_MAX;
  for (const auto& p : phrases_) {
    if (!p.empty()) shortest_ = std::min(shortest_, p.size());
    if (p.size() < 2) continue;
    unsigned key = static_cast<unsigned char>(p[0]) << 8 | static_cast<unsigned char>(p[1]);
    bigrams_[key >> 6] |= std::uint64_t{1} << (key & 63);
  }
  bucket_start_.assign(256, 0);
  bucket_end_.assign(256, 0);
  for (int b = 0; b < 256; ++b) {
    bucket_start_[b] = static_cast<std::uint16_t>(order_.size());
    for (size_t i = 0; i < phrases_.size(); ++i)
      if (!phrases_[i].empty() && static_cast<unsigned char>(phrases_[i][0]) == b)
        order_.push_back(static_cast<std::uint16_t>(i));
    bucket_end_[b] = static_cast<std::uint16_t>(order_.size());
  }
}

size_t PhraseSet::MatchPrefix(std::string_view s, bool word_boundary, int* index) const {
  if (s.empty()) return 0;
  auto b = static_cast<unsigned char>(AsciiLower(s[0]));
  if (shortest_ >= 2) {  // every phrase has two bytes: the bitmap rules most starts out
    if (s.size() < 2) return 0;
    unsigned key = b << 8 | static_cast<unsigned char>(AsciiLower(s[1]));
    if (!(bigrams_[key >> 6] >> (key & 63) & 1)) return 0;
  }
  size_t best = 0;
  for (size_t k = bucket_start_[b]; k < bucket_end_[b]; ++k) {
    const std::string& p = phrases_[order_[k]];
    if (p.size() <= best || !StartsWithIgnoreCase(s, p)) continue;
    if (word_boundary && s.size() > p.size() && IsWordByte(s[p.size()])) continue;
    best = p.size();
    if (index != nullptr) *index = order_[k];
  }
  return best;
}

bool PhraseSet::Equals(std::string_view s) const {
  size_t n = MatchPrefix(s);
  if (n == s.size() && n > 0) return true;
  if (s.empty()) return false;
  // A shorter phrase may be a prefix of a longer equal one: check all.
  auto b = static_cast<unsigned char>(AsciiLower(s[0]));
  for (size_t k = bucket_start_[b]; k < bucket_end_[b]; ++k)
    if (EqualsIgnoreCase(s, phrases_[order_[k]])) return true;
  return false;
}

// One pass over the text: a bitmap of the phrases' first two bytes rules out
// almost every position before any phrase is compared.
bool PhraseSet::ContainedInLower(std::string_view lower) const {
  const size_t n = lower.size();
  if (n < 2) return false;
  const auto* s = reinterpret_cast<const unsigned char*>(lower.data());
  for (size_t i = 0; i + 1 < n; ++i) {
    unsigned key = s[i] << 8 | s[i + 1];
    if (!(bigrams_[key >> 6] >> (key & 63) & 1)) continue;
    for (size_t k = bucket_start_[s[i]]; k < bucket_end_[s[i]]; ++k) {
      const std::string& p = phrases_[order_[k]];
      if (p.size() <= n - i && std::memcmp(s + i, p.data(), p.size()) == 0) return true;
    }
  }
  return false;
}

size_t FindIgnoreCase(std::string_view haystack, std::string_view needle, size_t from) {
  if (needle.empty()) return from <= haystack.size() ? from : std::string_view::npos;
  if (haystack.size() < needle.size()) return std::string_view::npos;
  char first_lower = AsciiLower(needle[0]);
  char first_upper = (first_lower >= 'a' && first_lower <= 'z') ? static_cast<char>(first_lower - 32) : first_lower;
  size_t last = haystack.size() - needle.size();
  for (size_t i = from; i <= last; ++i) {
    char c = haystack[i];
    if (c != first_lower && c != first_upper) continue;
    if (StartsWithIgnoreCase(haystack.substr(i), needle)) return i;
  }
  return std::string_view::npos;
}

std::string_view TrimView(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && IsAsciiSpace(s[b])) ++b;
  while (e > b && IsAsciiSpace(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool SameTextLoosely(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (true) {
    while (i < a.size() && IsAsciiSpace(a[i])) ++i;
    while (j < b.size() && IsAsciiSpace(b[j])) ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (AsciiLower(a[i]) != AsciiLower(b[j])) return false;
    ++i;
    ++j;
  }
}

std::uint64_t Hash64(std::string_view data, std::uint64_t seed) {
  const std::uint64_t m = 0xc6a4a7935bd1e995ULL;
  const int r = 47;
  const size_t len = data.size();
  std::uint64_t h = seed ^ (len * m);
  const char* p = data.data();
  const char* end = p + (len / 8) * 8;
  for (; p != end; p += 8) {
    std::uint64_t k;
    std::memcpy(&k, p, 8);  // little-endian hosts (x86-64, arm64) give stable values
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const auto* tail = reinterpret_cast<const unsigned char*>(p);
  switch (len & 7) {
    case 7: h ^= std::uint64_t(tail[6]) << 48; [[fallthrough]];
    case 6: h ^= std::uint64_t(tail[5]) << 40; [[fallthrough]];
    case 5: h ^= std::uint64_t(tail[4]) << 32; [[fallthrough]];
    case 4: h ^= std::uint64_t(tail[3]) << 24; [[fallthrough]];
    case 3: h ^= std::uint64_t(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= std::uint64_t(tail[1]) << 8; [[fallthrough]];
    case 1: h ^= std::uint64_t(tail[0]); h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

std::uint64_t Mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void AppendJsonEscaped(std::string& out, std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  size_t run_start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
}

size_t CountCodePoints(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace deskbot::dataset
