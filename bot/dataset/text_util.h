// Small text helpers shared by the dataset pipeline: UTF-8 repair, whitespace
// normalisation, ASCII case helpers, a stable 64-bit hash and JSON escaping.
// Everything here is a linear scan with no regular expressions, because every
// ticket body passes through it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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
bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix);
bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Case-insensitive (ASCII) search; npos when absent.
size_t FindIgnoreCase(std::string_view haystack, std::string_view needle, size_t from = 0);
std::string_view TrimView(std::string_view s);

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
