#include "connectors/teams/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <nlohmann/json.hpp>

#include "connectors/teams/base64.h"
#include "connectors/teams/json_fields.h"

namespace teams {
namespace {

using nlohmann::json;
using internal::Field;
using internal::Str;

constexpr size_t kMaxTokenBytes = 16 * 1024;

util::Result<json> DecodeJsonPart(std::string_view part, const char* what) {
  auto bytes = Base64UrlDecode(part);
  if (!bytes) return util::Status::Unauthorized(std::string("jwt: ") + what + " is not base64url");
  json value = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) {
    return util::Status::Unauthorized(std::string("jwt: ") + what + " is not a JSON object");
  }
  return value;
}

const EVP_MD* DigestFor(std::string_view alg) {
  if (alg == "RS256") return EVP_sha256();
  if (alg == "RS384") return EVP_sha384();
  if (alg == "RS512") return EVP_sha512();
  return nullptr;
}

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

BnPtr BignumFromBase64Url(std::string_view text) {
  auto bytes = Base64UrlDecode(text);
  if (!bytes || bytes->empty()) return nullptr;
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()),
                         int(bytes->size()), nullptr));
}

}  // namespace

util::Result<Jwt> ParseJwt(std::string_view token) {
  if (token.empty()) return util::Status::Unauthorized("jwt: empty token");
  if (token.size() > kMaxTokenBytes) return util::Status::Unauthorized("jwt: token too long");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return util::Status::Unauthorized("jwt: not a compact JWS (expected three parts)");
  }
  auto header = DecodeJsonPart(token.substr(0, dot1), "header");
  if (!header.ok()) return header.status();
  auto payload = DecodeJsonPart(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!payload.ok()) return payload.status();
  auto signature = Base64UrlDecode(token.substr(dot2 + 1));
  if (!signature || signature->empty()) {
    return util::Status::Unauthorized("jwt: signature is missing or not base64url");
  }
  Jwt jwt;
  jwt.header_json = header->dump();
  jwt.payload_json = payload->dump();
  jwt.signing_input = std::string(token.substr(0, dot2));
  jwt.signature = std::move(*signature);
  jwt.alg = Str(*header, "alg");
  if (jwt.alg.empty()) return util::Status::Unauthorized("jwt: header has no alg");
  jwt.kid = Str(*header, "kid");
  return jwt;
}

util::Result<RsaPublicKey> RsaPublicKey::FromComponents(std::string_view n_b64url,
                                                        std::string_view e_b64url) {
  BnPtr n = BignumFromBase64Url(n_b64url);
  BnPtr e = BignumFromBase64Url(e_b64url);
  if (!n || !e) return util::Status::InvalidArgument("jwk: n or e is not base64url");
  if (BN_num_bits(n.get()) < 2048) {
    return util::Status::InvalidArgument("jwk: RSA key shorter than 2048 bits");
  }
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM* params = nullptr;
  EVP_PKEY_CTX* ctx = nullptr;
  EVP_PKEY* pkey = nullptr;
  bool ok = bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n.get()) &&
            OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e.get()) &&
            (params = OSSL_PARAM_BLD_to_param(bld)) != nullptr &&
            (ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)) != nullptr &&
            EVP_PKEY_fromdata_init(ctx) == 1 &&
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  if (!ok) {
    EVP_PKEY_free(pkey);
    return util::Status::InvalidArgument("jwk: OpenSSL refused the RSA key");
  }
  RsaPublicKey key;
  key.key_ = std::shared_ptr<evp_pkey_st>(pkey, EVP_PKEY_free);
  return key;
}

int RsaPublicKey::bits() const { return key_ ? EVP_PKEY_get_bits(key_.get()) : 0; }

util::Status RsaPublicKey::Verify(std::string_view alg, std::string_view input,
                                  std::string_view signature) const {
  const EVP_MD* md = DigestFor(alg);
  if (md == nullptr) return util::Status::Unauthorized("jwt: algorithm not allowed: " + std::string(alg));
  if (!key_) return util::Status::Internal("jwt: empty key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  int rc = ctx ? EVP_DigestVerifyInit(ctx, nullptr, md, nullptr, key_.get()) : 0;
  if (rc == 1) {
    rc = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                          input.size());
  }
  EVP_MD_CTX_free(ctx);
  if (rc != 1) return util::Status::Unauthorized("jwt: signature does not verify");
  return util::Status::OK();
}

util::Result<std::vector<Jwk>> ParseJwks(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!Field(doc, "keys").is_array()) {
    return util::Status::InvalidArgument("jwks: not a JSON object with a \"keys\" array");
  }
  std::vector<Jwk> keys;
  for (const json& k : doc["keys"]) {
    if (!k.is_object()) return util::Status::InvalidArgument("jwks: a key is not an object");
    if (Str(k, "kty") != "RSA" || Str(k, "use") == "enc") continue;
    std::string kid = Str(k, "kid");
    std::string n = Str(k, "n"), e = Str(k, "e");
    if (n.empty() || e.empty()) {
      return util::Status::InvalidArgument("jwks: key '" + kid + "' has no n/e");
    }
    auto key = RsaPublicKey::FromComponents(n, e);
    if (!key.ok()) return key.status().WithContext("jwks: key '" + kid + "'");
    Jwk jwk{kid, std::move(*key), {}};
    const json& endorsements = Field(k, "endorsements");
    if (endorsements.is_array()) {
      for (const json& channel : endorsements) {
        if (channel.is_string()) jwk.endorsements.push_back(channel.get<std::string>());
      }
    }
    keys.push_back(std::move(jwk));
  }
  if (keys.empty()) return util::Status::InvalidArgument("jwks: no RSA signing keys");
  return keys;
}

}  // namespace teams
