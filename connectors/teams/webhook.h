// Teams outgoing webhooks: a team-scoped bot without a Bot Framework
// registration. Teams POSTs a message activity (the same JSON as a bot gets)
// with `Authorization: HMAC <base64 signature>`, where
//   signature = HMAC-SHA256(key = base64-decoded security token, msg = raw body)
// and waits (about 5 s) for the answer in the HTTP response itself.
#pragma once

#include <string>
#include <string_view>

#include "connectors/util/status.h"

namespace teams {

// Checks the Authorization header against the raw body bytes exactly as
// received, in constant time. `security_token_b64` is the token Teams showed
// when the webhook was created. Unauthorized on a missing/malformed header
// or a mismatch; InvalidArgument when the configured token is not base64.
// Messages never contain the token or the signature.
util::Status VerifyOutgoingWebhook(std::string_view authorization_header,
                                   std::string_view raw_body,
                                   std::string_view security_token_b64);

// The signature header value for `raw_body` ("HMAC <base64>"); for tests and
// for tools that replay deliveries.
util::Result<std::string> SignOutgoingWebhook(std::string_view raw_body,
                                              std::string_view security_token_b64);

// The synchronous answer: {"type":"message","text":"..."}.
std::string OutgoingWebhookReply(const std::string& text);
// The same with one attachment (e.g. AdaptiveCardAttachment(...); Teams only
// allows openUrl actions in outgoing-webhook cards). An attachment that is
// not JSON is left out: the answer must go back within 5 s either way.
std::string OutgoingWebhookReply(const std::string& text, const std::string& attachment_json);

}  // namespace teams
