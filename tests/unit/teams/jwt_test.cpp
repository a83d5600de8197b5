// Base64, JWT splitting, JWK parsing and RSA signature checks.
#include <catch2/catch.hpp>

#include "connectors/teams/base64.h"
#include "connectors/teams/jwt.h"
#include "tests/support/teams/fake_bot_framework.h"

using namespace teams;
using teams::testing::TestKeyPair;

TEST_CASE("base64 and base64url round-trip and refuse bad input", "[teams][jwt]") {
  std::string bytes("\x00\xff\xfe hello \x7f", 11);
  for (size_t n = 0; n <= bytes.size(); ++n) {
    std::string part = bytes.substr(0, n);
    CHECK(Base64Decode(Base64Encode(part)) == part);
    CHECK(Base64UrlDecode(Base64UrlEncode(part)) == part);
  }
  CHECK(Base64Encode("foob") == "Zm9vYg==");
  CHECK(Base64UrlEncode("\xfb\xff") == "-_8");
  CHECK(Base64UrlDecode("Zm9vYg==") == "foob");  // padded base64url is accepted too
  CHECK_FALSE(Base64Decode("Zm9vYg="));          // wrong length
  CHECK_FALSE(Base64Decode("Zm9v!g=="));         // outside the alphabet
  CHECK_FALSE(Base64UrlDecode("Zm9vY"));         // 6 bits cannot end a byte
  CHECK_FALSE(Base64UrlDecode("Zm9vYh"));        // non-zero leftover bits
  CHECK_FALSE(Base64UrlDecode("+/8"));           // standard alphabet in base64url
}

TEST_CASE("ParseJwt splits a compact JWS and explains what is wrong", "[teams][jwt]") {
  std::string header = Base64UrlEncode(R"({"alg":"RS256","kid":"k1"})");
  std::string payload = Base64UrlEncode(R"({"aud":"x"})");
  auto jwt = ParseJwt(header + "." + payload + "." + Base64UrlEncode("sig"));
  REQUIRE(jwt.ok());
  CHECK(jwt->alg == "RS256");
  CHECK(jwt->kid == "k1");
  CHECK(jwt->signature == "sig");
  CHECK(jwt->signing_input == header + "." + payload);

  auto two_parts = ParseJwt(header + "." + payload);
  CHECK(two_parts.status().code() == util::Status::Code::kUnauthorized);
  CHECK_THAT(two_parts.status().message(), Catch::Contains("three parts"));
  CHECK_THAT(ParseJwt(header + "." + payload + ".a.b").status().message(),
             Catch::Contains("three parts"));
  CHECK_THAT(ParseJwt("!!." + payload + ".c2ln").status().message(), Catch::Contains("header"));
  CHECK_THAT(ParseJwt(header + "." + Base64UrlEncode("[1]") + ".c2ln").status().message(),
             Catch::Contains("payload is not a JSON object"));
  CHECK_THAT(ParseJwt(Base64UrlEncode("{}") + "." + payload + ".c2ln").status().message(),
             Catch::Contains("no alg"));
  CHECK_THAT(ParseJwt(header + "." + payload + ".").status().message(),
             Catch::Contains("signature"));
  CHECK_THAT(ParseJwt(std::string(20000, 'a')).status().message(), Catch::Contains("too long"));
}

TEST_CASE("RSA keys from a JWK set verify RS256/384/512 and refuse other algs", "[teams][jwt]") {
  TestKeyPair pair = TestKeyPair::Generate("k1");
  auto keys = ParseJwks(R"({"keys":[)" + pair.PublicJwk({"msteams", "skype"}) +
                        R"(,{"kty":"EC","kid":"ec","crv":"P-256","x":"AA","y":"AA"}]})");
  REQUIRE(keys.ok());
  REQUIRE(keys->size() == 1);  // the EC key is skipped
  const Jwk& jwk = keys->front();
  CHECK(jwk.kid == "k1");
  CHECK(jwk.key.bits() == 2048);
  CHECK(jwk.endorsements == std::vector<std::string>{"msteams", "skype"});

  for (const char* alg : {"RS256", "RS384", "RS512"}) {
    std::string sig = pair.Sign("payload", alg);
    CHECK(jwk.key.Verify(alg, "payload", sig).ok());
    CHECK_FALSE(jwk.key.Verify(alg, "payloaD", sig).ok());
  }
  std::string sig = pair.Sign("payload");
  auto hs = jwk.key.Verify("HS256", "payload", sig);
  CHECK(hs.code() == util::Status::Code::kUnauthorized);
  CHECK_THAT(hs.message(), Catch::Contains("algorithm not allowed"));
  CHECK_FALSE(jwk.key.Verify("none", "payload", "").ok());
  CHECK_FALSE(jwk.key.Verify("RS384", "payload", sig).ok());  // right key, wrong hash
}

TEST_CASE("ParseJwks refuses broken or empty key sets and short keys", "[teams][jwt]") {
  CHECK_FALSE(ParseJwks("not json").ok());
  CHECK_FALSE(ParseJwks(R"({"keys":{}})").ok());
  CHECK_THAT(ParseJwks(R"({"keys":[]})").status().message(), Catch::Contains("no RSA signing keys"));
  CHECK_THAT(ParseJwks(R"({"keys":[{"kty":"RSA","kid":"a"}]})").status().message(),
             Catch::Contains("no n/e"));
  CHECK_THAT(ParseJwks(R"({"keys":[{"kty":"RSA","kid":"a","n":5,"e":"AQAB"}]})").status().message(),
             Catch::Contains("no n/e"));
  TestKeyPair small = TestKeyPair::Generate("small", 1024);
  auto short_key = ParseJwks(R"({"keys":[)" + small.PublicJwk() + "]}");
  CHECK_THAT(short_key.status().message(), Catch::Contains("shorter than 2048"));
}
