#include "connectors/teams/webhook.h"

#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "connectors/teams/base64.h"
#include "connectors/teams/json_fields.h"

namespace teams {
namespace {

util::Result<std::string> HmacSha256(std::string_view key, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), int(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac,
           &mac_len) == nullptr) {
    return util::Status::Internal("outgoing webhook: HMAC failed");
  }
  return std::string(reinterpret_cast<char*>(mac), mac_len);
}

util::Result<std::string> DecodeKey(std::string_view security_token_b64) {
  auto key = Base64Decode(security_token_b64);
  if (!key || key->empty()) {
    return util::Status::InvalidArgument("outgoing webhook: the security token is not base64");
  }
  return std::move(*key);
}

}  // namespace

util::Result<std::string> SignOutgoingWebhook(std::string_view raw_body,
                                              std::string_view security_token_b64) {
  auto key = DecodeKey(security_token_b64);
  if (!key.ok()) return key.status();
  auto mac = HmacSha256(*key, raw_body);
  if (!mac.ok()) return mac.status();
  return "HMAC " + Base64Encode(*mac);
}

util::Status VerifyOutgoingWebhook(std::string_view header, std::string_view raw_body,
                                   std::string_view security_token_b64) {
  auto key = DecodeKey(security_token_b64);
  if (!key.ok()) return key.status();
  while (!header.empty() && std::isspace(uint8_t(header.front()))) header.remove_prefix(1);
  while (!header.empty() && std::isspace(uint8_t(header.back()))) header.remove_suffix(1);
  if (header.empty()) return util::Status::Unauthorized("outgoing webhook: no Authorization header");
  if (header.size() < 5 || (header.substr(0, 5) != "HMAC " && header.substr(0, 5) != "hmac ")) {
    return util::Status::Unauthorized("outgoing webhook: Authorization scheme is not HMAC");
  }
  auto given = Base64Decode(header.substr(5));
  if (!given) return util::Status::Unauthorized("outgoing webhook: signature is not base64");
  auto expected = HmacSha256(*key, raw_body);
  if (!expected.ok()) return expected.status();
  // The length of an HMAC-SHA256 is public; only the bytes need constant time.
  if (given->size() != expected->size() ||
      CRYPTO_memcmp(given->data(), expected->data(), expected->size()) != 0) {
    return util::Status::Unauthorized("outgoing webhook: signature does not match the body");
  }
  return util::Status::OK();
}

std::string OutgoingWebhookReply(const std::string& text) {
  return internal::Dump(nlohmann::json{{"type", "message"}, {"text", text}});
}

std::string OutgoingWebhookReply(const std::string& text, const std::string& attachment_json) {
  nlohmann::json reply = {{"type", "message"}, {"text", text}, {"attachments", nlohmann::json::array()}};
  nlohmann::json attachment = nlohmann::json::parse(attachment_json, nullptr, false);
  if (!attachment.is_discarded()) reply["attachments"].push_back(std::move(attachment));
  return internal::Dump(reply);
}

}  // namespace teams
