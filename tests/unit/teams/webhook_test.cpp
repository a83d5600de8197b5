// Outgoing-webhook HMAC verification and the synchronous reply.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/teams/cards.h"
#include "connectors/teams/webhook.h"

using namespace teams;
using Code = util::Status::Code;

namespace {
// Vector computed independently with Python's hmac/base64 modules.
const std::string kKey = "ZGVza2JvdC1vdXRnb2luZy13ZWJob29rLXRlc3Qta2V5LTMyYg==";
const std::string kBody = R"({"type":"message","text":"<at>Helpdesk</at> vpn?"})";
const std::string kHeader = "HMAC r9oPn/PprarQhoSj3iFniWdGQIw5Qcf+Zt3tL2RN3bw=";
}  // namespace

TEST_CASE("a correctly signed outgoing-webhook body is accepted", "[teams][webhook]") {
  CHECK(VerifyOutgoingWebhook(kHeader, kBody, kKey).ok());
  CHECK(VerifyOutgoingWebhook("  " + kHeader + " ", kBody, kKey).ok());
  auto signed_header = SignOutgoingWebhook(kBody, kKey);
  REQUIRE(signed_header.ok());
  CHECK(*signed_header == kHeader);
}

TEST_CASE("a bad outgoing-webhook signature is refused without leaking", "[teams][webhook]") {
  auto tampered = VerifyOutgoingWebhook(kHeader, kBody + " ", kKey);  // one byte more
  CHECK(tampered.code() == Code::kUnauthorized);
  CHECK_THAT(tampered.message(), Catch::Contains("does not match"));
  CHECK_THAT(tampered.message(), !Catch::Contains("r9oPn"));
  CHECK_THAT(tampered.message(), !Catch::Contains(kKey));

  std::string other_key = "b3RoZXIta2V5";  // "other-key"
  CHECK_FALSE(VerifyOutgoingWebhook(kHeader, kBody, other_key).ok());
  CHECK_THAT(VerifyOutgoingWebhook("", kBody, kKey).message(), Catch::Contains("no Authorization"));
  CHECK_THAT(VerifyOutgoingWebhook("Bearer abc", kBody, kKey).message(), Catch::Contains("not HMAC"));
  CHECK_THAT(VerifyOutgoingWebhook("HMAC ***", kBody, kKey).message(), Catch::Contains("not base64"));
  CHECK_THAT(VerifyOutgoingWebhook("HMAC YWJj", kBody, kKey).message(), Catch::Contains("does not match"));
  auto bad_key = VerifyOutgoingWebhook(kHeader, kBody, "not base64!");
  CHECK(bad_key.code() == Code::kInvalidArgument);
  CHECK_THAT(bad_key.message(), !Catch::Contains("not base64!"));
}

TEST_CASE("the synchronous outgoing-webhook reply", "[teams][webhook]") {
  using nlohmann::json;
  CHECK(json::parse(OutgoingWebhookReply("Try restarting the VPN client.")) ==
        json{{"type", "message"}, {"text", "Try restarting the VPN client."}});
  std::string card = R"({"type":"AdaptiveCard","version":"1.4","body":[]})";
  json with_card = json::parse(OutgoingWebhookReply("see card", AdaptiveCardAttachment(card)));
  CHECK(with_card["type"] == "message");
  REQUIRE(with_card["attachments"].size() == 1);
  CHECK(with_card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive");
}
