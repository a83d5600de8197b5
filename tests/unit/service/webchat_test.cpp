// The web chat connector on its own: wire format, decoding stored events,
// storing what it "posts", and telling whether an outbox row was delivered.
#include <catch2/catch.hpp>

#include "bot/chat/webchat.h"
#include "bot/store/sqlite_store.h"
#include "connectors/webchat/assets.h"
#include "connectors/webchat/wire.h"

using namespace deskbot;

namespace {
struct NullSink : InboxSink {
  void Submit(InboxEvent, InboxAck ack) override { ack(util::Status::Unavailable("not used")); }
};
}  // namespace

TEST_CASE("web chat wire format validates and round-trips", "[service][webchat]") {
  auto ask = webchat::ParseAsk(R"({"text":"hi there","user":"carol","conversation":"c-1","client_id":"m-1"})");
  REQUIRE(ask.ok());
  CHECK(ask->text == "hi there");
  CHECK(webchat::ParseAsk("[1]").status().code() == util::Status::Code::kInvalidArgument);
  CHECK(webchat::ParseAsk(R"({"text":5})").status().message().find("'text' must be a string") !=
        std::string::npos);
  CHECK(!webchat::ParseAsk(R"({"text":"x","user":"a b"})").ok());
  CHECK(!webchat::ParseAsk(R"({"text":"x","client_id":")" + std::string(65, 'a') + "\"}").ok());
  CHECK(!webchat::ParseDecision(R"({"agent":"a","action":"edit","text":" "})", 1).ok());
  CHECK(!webchat::ParseDecision(R"({"action":"approve"})", 1).ok());

  webchat::Event e;
  e.type = webchat::Event::Type::kDecision;
  e.decision = *webchat::ParseDecision(R"({"agent":"alice","action":"reject","reason":"wrong \"one\""})", 7);
  auto back = webchat::DecodeEvent(webchat::EncodeEvent(e));
  REQUIRE(back.ok());
  CHECK(back->decision.suggestion_id == 7);
  CHECK(back->decision.reason == "wrong \"one\"");
  CHECK(!webchat::DecodeEvent(R"({"type":"other"})").ok());

  CHECK(webchat::IsValidId("c-abc_1.2@x"));
  CHECK(!webchat::IsValidId("agent:bob"));
  CHECK(webchat::RandomId("c-").size() == 34);
  CHECK(webchat::RandomId("c-") != webchat::RandomId("c-"));
  CHECK(webchat::ConstantTimeEquals("secret", "secret"));
  CHECK(!webchat::ConstantTimeEquals("secret", "secreT"));
  CHECK(!webchat::ConstantTimeEquals("secret", "secret2"));
  REQUIRE(webchat::FindAsset("/") != nullptr);
  CHECK(webchat::FindAsset("/")->content_type == "text/html; charset=utf-8");
  CHECK(webchat::FindAsset("/app.js")->body.find("use strict") != std::string_view::npos);
  CHECK(webchat::FindAsset("/../secret") == nullptr);
}

TEST_CASE("web chat connector decodes events and posts by storing messages once",
          "[service][webchat]") {
  auto store = std::move(SqliteStore::Open(":memory:")).value();
  NullSink sink;
  chat::WebChat chat(*store, sink, {});
  webchat::Event ask;
  ask.conversation = "c-9";
  ask.user = "carol";
  ask.text = "printer jammed";
  ask.message_id = "m-5";
  ask.sent_at = 1700000000;
  auto in = chat.Decode({1, "webchat", "webchat:ask:c-9:m-5", "question", webchat::EncodeEvent(ask), 0, 1});
  REQUIRE(in.ok());
  REQUIRE(in->kind == Inbound::Kind::kQuestion);
  CHECK(in->question.dedupe_key == "webchat/c-9/m-5");
  CHECK(in->question.asker == "carol");
  CHECK(in->question.asked_at == 1700000000);

  webchat::Event verdict;
  verdict.type = webchat::Event::Type::kDecision;
  verdict.decision = *webchat::ParseDecision(R"({"agent":"mallory","action":"approve"})", 3);
  in = chat.Decode({2, "webchat", "k", "verdict", webchat::EncodeEvent(verdict), 0, 1});
  REQUIRE(in.ok());
  CHECK(in->verdict.reply_to.conversation == "agent:mallory");
  CHECK(!chat.Decode({3, "webchat", "k2", "x", "garbage", 0, 1}).ok());

  // Post an answer for a real outbox row, twice: one message; delivery known.
  REQUIRE(store->InsertInboxBatch(std::vector<InboxEvent>{{0, "webchat", "e", "q", "{}", 0, 0}}).ok());
  auto claimed = store->ClaimInbox(std::vector<std::string>{"webchat"}, 1, 1LL << 50);
  std::int64_t oid = 0;
  REQUIRE(store->CompleteInbox(claimed->front().id, [&](ChatTransaction& tx) -> util::Status {
                 auto id = tx.Enqueue({"webchat", OutboxKind::kAnswer, "{}", "answer:1", 0});
                 oid = id.ok() ? *id : 0;
                 return id.status();
               }).ok());
  auto rows = store->ClaimOutbox(std::vector<std::string>{"webchat"}, 1, 1LL << 50);
  REQUIRE(rows->size() == 1);
  CHECK(!chat.WasDelivered(rows->front())->delivered);
  ChatPost post{{"c-9", "", "", ""}, "Open the tray and pull gently.", 1, 1};
  auto ref1 = chat.PostAnswer({oid, "answer:1", 1}, post);
  auto ref2 = chat.PostAnswer({oid, "answer:1", 2}, post);
  REQUIRE(ref1.ok());
  CHECK(*ref1 == *ref2);
  auto check = chat.WasDelivered(rows->front());
  REQUIRE(check.ok());
  CHECK(check->delivered);
  CHECK(check->ref == *ref1);
  auto messages = store->ListChatMessages("webchat", "c-9", 0);
  REQUIRE(messages->size() == 1);
  CHECK((*messages)[0].kind == "answer");
  CHECK((*messages)[0].text == "Open the tray and pull gently.");
}
