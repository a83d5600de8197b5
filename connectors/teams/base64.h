// Base64 (RFC 4648 section 4) and base64url (section 5) for JWTs, JWKs and
// webhook signatures. Decoders are strict: a character outside the alphabet
// or misplaced padding is an error, so a tampered token fails here instead of
// decoding to something "close".
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace teams {

std::string Base64Encode(std::string_view bytes);                  // with '=' padding
std::optional<std::string> Base64Decode(std::string_view text);   // padding required

std::string Base64UrlEncode(std::string_view bytes);               // no padding
// Accepts input with or without '=' padding (JWKs in the wild carry both).
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace teams
