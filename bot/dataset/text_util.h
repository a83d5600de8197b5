// Small text helpers shared by the dataset pipeline: UTF-8 repair, whitespace
// normalisation, ASCII case helpers, a stable 64-bit hash and JSON escaping.
// Everything here is a linear scan with no regular expressions, because every
// ticket body passes through it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace deskbot::dataset {

// Returns `in` as valid UTF-8 with line ends and odd characters normalised:
// invalid sequences (overlong, surrogate, truncated, > U+10FFFF) become U+FFFD;
// "\r\n" and "\r" become "\n"; NUL and other C0/C1 controls except "\t" and
// "\n" are dropped; zero-width characters and the BOM are dropped; no-break and
// other Unicode spaces become " "; U+2028/U+2029 become "\n".
std::string SanitizeUtf8(std::string_view in);

// True when `s` is valid UTF-8 (no repair needed for JSON output).
bool IsValidUtf8(std::string_view s);

// Collapses runs of spaces/tabs to one space, trims every line, keeps at most
// one blank line between paragraphs, and trims the text.
std::string NormalizeWhitespace(std::string_view in);

inline char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
inline bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); }
inline bool IsAsciiSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
// A byte that belongs to a word: ASCII letters/digits or any non-ASCII byte
// (so accented names and non-Latin scripts count as word characters).
inline bool IsWordByte(char c) { return IsAsciiAlnum(c) || static_cast<unsigned char>(c) >= 0x80; }

std::string AsciiLowerCopy(std::string_view s);
inline bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (AsciiLower(s[i]) != AsciiLower(prefix[i])) return false;
  return true;
}
inline bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && StartsWithIgnoreCase(a, b);
}
bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix);
// Case-insensitive (ASCII) search; npos when absent.
size_t FindIgnoreCase(std::string_view haystack, std::string_view needle, size_t from = 0);
std::string_view TrimView(std::string_view s);

// A fixed list of phrases matched ASCII-case-insensitively, bucketed by first
// byte so that a line is compared only with the phrases that could start it.
// Used for the many phrase lists of the cleaner, filters and redactor.
class PhraseSet {
 public:
  PhraseSet(std::initializer_list<std::string_view> phrases);
  explicit PhraseSet(const std::vector<std::string_view>& phrases);
  // Length of the longest phrase `s` starts with (0: none). With
  // `word_boundary`, the phrase must not be followed by a word byte.
  // `index` (optional) receives the matched phrase's position in the list.
  size_t MatchPrefix(std::string_view s, bool word_boundary = false, int* index = nullptr) const;
  bool Equals(std::string_view s) const;
  // Whether any phrase occurs in `lower`, a text already lower-cased with
  // AsciiLowerCopy (lower-casing once beats a case-insensitive search per
  // phrase).
  bool ContainedInLower(std::string_view lower) const;

 private:
  std::vector<std::string> phrases_;                  // lower-cased
  std::vector<std::uint64_t> bigrams_;                // bit per (first, second) byte pair of a phrase
  size_t shortest_ = 0;
  std::vector<std::uint16_t> bucket_start_, bucket_end_;  // per first byte, indices into order_
  std::vector<std::uint16_t> order_;
};

// Text equality that ignores ASCII case and whitespace differences.
bool SameTextLoosely(std::string_view a, std::string_view b);

// MurmurHash64A: fast, well distributed and stable across runs and builds, so
// splits and dedupe decisions do not change between versions of the binary.
std::uint64_t Hash64(std::string_view data, std::uint64_t seed = 0);
// A 64-bit finaliser (splitmix64): turns a counter or hash into a well-mixed value.
std::uint64_t Mix64(std::uint64_t x);

// Appends `s` as the body of a JSON string (no quotes): escapes '"', '\\' and
// control characters. `s` must be valid UTF-8 (see SanitizeUtf8).
void AppendJsonEscaped(std::string& out, std::string_view s);

// Number of Unicode code points (continuation bytes are not counted).
size_t CountCodePoints(std::string_view s);

}  // namespace deskbot::dataset
