// JSON Web Tokens as the Bot Framework uses them: a compact JWS signed with
// RSA (RS256, RS384, RS512) and JSON Web Keys published in a JWK set.
//
// These are the building blocks; BotAuthenticator (auth.h) puts them
// together with the key cache and the claim rules. OpenSSL is kept out of
// this header: RsaPublicKey holds an opaque EVP_PKEY.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace teams {

// A compact JWS split and decoded, not yet verified.
struct Jwt {
  std::string header_json;    // decoded protected header
  std::string payload_json;   // decoded claims
  std::string signing_input;  // "<b64 header>.<b64 payload>" exactly as received
  std::string signature;      // raw signature bytes
  std::string alg;            // header "alg"
  std::string kid;            // header "kid" ("" when absent)
};

// Splits and decodes "<header>.<payload>.<signature>". Fails on anything
// that is not three base64url parts with JSON object header and payload, or
// a token longer than 16 KiB. Error messages never include the token.
util::Result<Jwt> ParseJwt(std::string_view token);

// An RSA public key built from a JWK's modulus and exponent.
class RsaPublicKey {
 public:
  // `n` and `e` are base64url big-endian integers (RFC 7518 6.3.1). Keys
  // under 2048 bits are refused.
  static util::Result<RsaPublicKey> FromComponents(std::string_view n_b64url,
                                                   std::string_view e_b64url);
  // Verifies `signature` over `input` with RS256/RS384/RS512 (PKCS#1 v1.5).
  // Any other alg (none, HS256, PS256...) is refused: accepting an HMAC alg
  // with a public key as the secret is a classic forgery.
  util::Status Verify(std::string_view alg, std::string_view input,
                      std::string_view signature) const;
  int bits() const;

 private:
  std::shared_ptr<evp_pkey_st> key_;
};

// One signing key from a JWK set.
struct Jwk {
  std::string kid;
  RsaPublicKey key;
  // Bot Framework extension: channels this key may sign for ("msteams"...).
  // Empty when the key does not list any.
  std::vector<std::string> endorsements;
};

// Parses {"keys":[...]}. Keys that are not RSA signing keys (kty != RSA,
// use == "enc") are skipped; an RSA key that fails to parse is an error so a
// broken key set is noticed. An empty result is an error.
util::Result<std::vector<Jwk>> ParseJwks(std::string_view json);

}  // namespace teams
