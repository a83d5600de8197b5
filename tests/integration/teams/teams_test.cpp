// Teams end to end: activities the fake Bot Framework delivers with minted
// JWTs into the real service, suggestion cards in the agents' conversation,
// Action.Execute invokes by agents and others, answers as replies in the
// asker's conversation, and what is stored. Also the outgoing webhook.
#include <thread>

#include "tests/integration/teams/harness.h"

namespace deskbot::testing {
namespace {

std::string TextOf(const RecordedActivity& r) { return BodyOf(r).value("text", std::string()); }

std::string CardIdOf(const RecordedActivity& r) { return r.new_id; }

bool HasAudit(SqliteStore& store, const std::string& action, const std::string& actor) {
  auto audit = store.ListAudit(200);
  REQUIRE(audit.ok());
  for (const AuditEntry& e : *audit)
    if (e.action == action && e.actor == actor) return true;
  return false;
}

}  // namespace

TEST_CASE("teams: channel mention -> card -> approve invoke -> reply in the thread - pair approved",
          "[integration][teams]") {
  TeamsServer s;
  const json question = ChannelQuestion("1767326100001", "my vpn is broken");
  const std::string conversation = question["conversation"]["id"];
  const RecordedActivity card = s.AskAndWaitForCard(question);
  const std::int64_t sid = SuggestionIdOf(card);
  REQUIRE(sid > 0);
  CHECK(card.body.find("Restart the VPN client") != std::string::npos);
  CHECK(card.body.find("Action.Execute") != std::string::npos);
  CHECK(card.body.find("92%") != std::string::npos);          // confidence
  CHECK(card.body.find("rt #T-vpn") != std::string::npos);    // source ticket
  // The bot's @mention is not part of the question.
  auto questions = s.store().ListQuestions("teams", conversation);
  REQUIRE(questions.ok());
  REQUIRE(questions->size() == 1);
  CHECK(questions->front().text == "my vpn is broken");
  CHECK(questions->front().asker == kAskerAad);

  // Teams wants the invoke's answer in the HTTP response: the card as recorded.
  auto invoke = s.Deliver(ExecuteInvoke("f:approve-1", "approve", sid, CardIdOf(card), kAgentAad, kAgentName));
  REQUIRE(invoke.status == 200);
  json response = json::parse(invoke.body, nullptr, false);
  CHECK(response.value("statusCode", 0) == 200);
  CHECK(response.value("type", "") == "application/vnd.microsoft.card.adaptive");
  CHECK(response["value"].dump().find("Approval recorded by Alice Agent") != std::string::npos);

  // The answer: a reply to the question, in its conversation.
  REQUIRE(Eventually([&] { return !RepliesTo(s.fake(), conversation, "1767326100001").empty(); }));
  auto replies = RepliesTo(s.fake(), conversation, "1767326100001");
  REQUIRE(replies.size() == 1);
  CHECK(TextOf(replies[0]) == "Restart the VPN client and sign in again with your SSO account.");
  CHECK(BodyOf(replies[0]).value("replyToId", "") == "1767326100001");
  // The card is updated in place for everyone, saying who decided.
  REQUIRE(Eventually([&] { return !CardUpdates(s.fake(), CardIdOf(card)).empty(); }));
  CHECK(CardUpdates(s.fake(), CardIdOf(card)).front().body.find("Approved by Alice Agent") != std::string::npos);

  const SuggestionRecord rec = SuggestionOf(s.store(), sid);
  CHECK(rec.state == SuggestionState::kApproved);
  CHECK(rec.decided_by == kAgentAad);
  auto pairs = AllPairs(s.store());
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].origin == PairOrigin::kApproved);
  CHECK(pairs[0].source == "teams");
  CHECK(pairs[0].question == "my vpn is broken");
  CHECK(HasAudit(s.store(), "verdict.approve", std::string("teams:") + kAgentAad));
}

TEST_CASE("teams: group chat question -> edit invoke -> edited answer and a preference pair",
          "[integration][teams]") {
  TeamsServer s;
  const json question = GroupChatQuestion("1767326100002", "I forgot my password");
  const std::string conversation = question["conversation"]["id"];
  const RecordedActivity card = s.AskAndWaitForCard(question);
  const std::int64_t sid = SuggestionIdOf(card);
  REQUIRE(sid > 0);
  // The Edit form is prefilled with the suggestion.
  CHECK(card.body.find("editedText") != std::string::npos);

  const std::string edited = "Use https://id.example.com/reset and then sign in to the VPN again.";
  auto invoke = s.Deliver(ExecuteInvoke("f:edit-1", "edit", sid, CardIdOf(card), kAgentAad, kAgentName,
                                        {{"editedText", edited}}));
  REQUIRE(invoke.status == 200);
  CHECK(invoke.body.find("Edit recorded") != std::string::npos);

  REQUIRE(Eventually([&] { return !RepliesTo(s.fake(), conversation, "1767326100002").empty(); }));
  auto replies = RepliesTo(s.fake(), conversation, "1767326100002");
  REQUIRE(replies.size() == 1);
  CHECK(TextOf(replies[0]) == edited);
  REQUIRE(Eventually([&] { return !CardUpdates(s.fake(), CardIdOf(card)).empty(); }));
  CHECK(CardUpdates(s.fake(), CardIdOf(card)).front().body.find("Edited by Alice Agent") != std::string::npos);

  const SuggestionRecord rec = SuggestionOf(s.store(), sid);
  CHECK(rec.state == SuggestionState::kEdited);
  CHECK(rec.final_text == edited);
  auto pairs = AllPairs(s.store());
  REQUIRE(pairs.size() == 1);
  CHECK(pairs[0].origin == PairOrigin::kEdited);
  CHECK(pairs[0].answer == edited);
  auto prefs = AllPreferencePairs(s.store());
  REQUIRE(prefs.size() == 1);
  CHECK(prefs[0].preferred == edited);
  CHECK(prefs[0].rejected.find("id.example.com/reset; the link") != std::string::npos);
}

TEST_CASE("teams: personal chat question -> reject invoke -> reason kept and nothing posted",
          "[integration][teams]") {
  TeamsServer s;
  const json question = PersonalQuestion("1767378500003", "vpn keeps dropping");
  const std::string conversation = question["conversation"]["id"];
  const RecordedActivity card = s.AskAndWaitForCard(question);
  const std::int64_t sid = SuggestionIdOf(card);
  REQUIRE(sid > 0);

  auto invoke = s.Deliver(ExecuteInvoke("f:reject-1", "reject", sid, CardIdOf(card), kAgentAad, kAgentName,
                                        {{"rejectReason", "needs the new VPN profile instead"}}));
  REQUIRE(invoke.status == 200);
  CHECK(invoke.body.find("Rejection recorded") != std::string::npos);

  REQUIRE(Eventually([&] { return !CardUpdates(s.fake(), CardIdOf(card)).empty(); }));
  CHECK(CardUpdates(s.fake(), CardIdOf(card)).front().body.find("needs the new VPN profile") != std::string::npos);
  const SuggestionRecord rec = SuggestionOf(s.store(), sid);
  CHECK(rec.state == SuggestionState::kRejected);
  CHECK(rec.reason == "needs the new VPN profile instead");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(RepliesTo(s.fake(), conversation, "1767378500003").empty());
  CHECK(AllPairs(s.store()).empty());
  CHECK(HasAudit(s.store(), "verdict.reject", std::string("teams:") + kAgentAad));
}

TEST_CASE("teams: a non-agent click is refused politely and audited and decides nothing",
          "[integration][teams]") {
  TeamsServer s;
  const json question = ChannelQuestion("1767326100004", "vpn is slow");
  const std::string conversation = question["conversation"]["id"];
  const RecordedActivity card = s.AskAndWaitForCard(question);
  const std::int64_t sid = SuggestionIdOf(card);

  auto invoke = s.Deliver(ExecuteInvoke("f:stranger-1", "approve", sid, CardIdOf(card), kStrangerAad, "Mallory"));
  REQUIRE(invoke.status == 200);
  json response = json::parse(invoke.body, nullptr, false);
  CHECK(response.value("type", "") == "application/vnd.microsoft.activity.message");
  CHECK(response.value("value", "").find("only help-desk agents") != std::string::npos);

  // The workflow records the refusal (and, the refusal having been shown in
  // the invoke response, posts nothing more).
  REQUIRE(Eventually([&] {
    auto v = s.store().ListVerdicts(sid);
    return v.ok() && !v->empty();
  }));
  auto verdicts = s.store().ListVerdicts(sid);
  REQUIRE(verdicts->size() == 1);
  CHECK(verdicts->front().outcome == VerdictOutcome::kRefused);
  CHECK(verdicts->front().verdict.agent == kStrangerAad);
  CHECK(HasAudit(s.store(), "verdict.refused", std::string("teams:") + kStrangerAad));
  REQUIRE(Eventually([&] {
    auto c = s.store().CountChatQueues();
    return c.ok() && c->outbox_pending == 0 && c->outbox_sending == 0;
  }));
  CHECK(SuggestionOf(s.store(), sid).state == SuggestionState::kPending);
  CHECK(RepliesTo(s.fake(), conversation, "1767326100004").empty());
  CHECK(CardUpdates(s.fake(), CardIdOf(card)).empty());
  CHECK(AllPairs(s.store()).empty());
  CHECK(RepliesTo(s.fake(), kAgentsConversation, CardIdOf(card)).empty());
}

TEST_CASE("teams: a second click on a decided suggestion and an empty edit are answered with a message",
          "[integration][teams]") {
  TeamsServer s;
  const json question = ChannelQuestion("1767326100010", "reset my password please");
  const std::string conversation = question["conversation"]["id"];
  const RecordedActivity card = s.AskAndWaitForCard(question);
  const std::int64_t sid = SuggestionIdOf(card);

  // An empty edit: nothing is sent, the card keeps its buttons for the clicker.
  auto empty = s.Deliver(ExecuteInvoke("f:empty-edit", "edit", sid, CardIdOf(card), kAgentAad, kAgentName,
                                       {{"editedText", "   "}}));
  REQUIRE(empty.status == 200);
  json e = json::parse(empty.body, nullptr, false);
  CHECK(e.value("type", "") == "application/vnd.microsoft.activity.message");
  CHECK(e.value("value", "").find("edited answer is empty") != std::string::npos);

  REQUIRE(s.Deliver(ExecuteInvoke("f:approve-10", "approve", sid, CardIdOf(card), kAgentAad, kAgentName)).status ==
          200);
  REQUIRE(Eventually([&] { return SuggestionOf(s.store(), sid).state == SuggestionState::kApproved; }));
  auto again = s.Deliver(ExecuteInvoke("f:reject-10", "reject", sid, CardIdOf(card), kAgentAad, kAgentName,
                                       {{"rejectReason", "too late"}}));
  REQUIRE(again.status == 200);
  CHECK(again.body.find("already approved by Alice Agent") != std::string::npos);
  // Both extra clicks were stored and recorded as ignored; one answer only.
  REQUIRE(Eventually([&] {
    auto v = s.store().ListVerdicts(sid);
    return v.ok() && v->size() == 3;
  }));
  auto verdicts = s.store().ListVerdicts(sid);
  REQUIRE(verdicts.ok());
  for (const VerdictRecord& v : *verdicts)
    CHECK(v.outcome == (v.verdict.action == VerdictAction::kApprove ? VerdictOutcome::kApplied
                                                                     : VerdictOutcome::kIgnored));
  REQUIRE(Eventually([&] { return !RepliesTo(s.fake(), conversation, "1767326100010").empty(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  CHECK(RepliesTo(s.fake(), conversation, "1767326100010").size() == 1);
  CHECK(SuggestionOf(s.store(), sid).state == SuggestionState::kApproved);
}

TEST_CASE("teams: a recorded thread reply is a question - a recorded Action.Submit is not",
          "[integration][teams]") {
  TeamsServer s;
  json reply = Fixture("message_channel_thread_reply_mention.json");
  reply["text"] = "<at>ridotest</at> my vpn client will not start";
  const RecordedActivity card = s.AskAndWaitForCard(reply);
  CHECK(card.body.find("my vpn client will not start") != std::string::npos);
  auto questions = s.store().ListQuestions("teams", reply["conversation"]["id"]);
  REQUIRE(questions.ok());
  REQUIRE(questions->size() == 1);
  CHECK(questions->front().text == "my vpn client will not start");

  const json submit = Fixture("message_action_submit_value.json");
  REQUIRE(s.Deliver(submit).status == 200);
  REQUIRE(Eventually([&] {
    auto c = s.store().CountChatQueues();
    return c.ok() && c->inbox_done == 2 && c->inbox_pending == 0;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(CardPosts(s.fake()).size() == 1);
  auto none = s.store().ListQuestions("teams", submit["conversation"]["id"]);
  REQUIRE(none.ok());
  CHECK(none->empty());
}

TEST_CASE("teams: forged or expired or wrong-audience or wrong-issuer or wrong-serviceUrl tokens get 401 and store nothing",
          "[integration][teams]") {
  TeamsServer s;
  const json question = ChannelQuestion("1767326100005", "my vpn is broken");
  for (BadToken bad : {BadToken::kForgedSignature, BadToken::kExpired, BadToken::kWrongAudience,
                       BadToken::kWrongIssuer, BadToken::kWrongServiceUrl, BadToken::kUnknownKid}) {
    INFO("bad token kind " << static_cast<int>(bad));
    CHECK(s.Deliver(question, bad).status == 401);
  }
  // No token at all.
  Reply none = s.api().Send("POST", "/api/messages", question.dump());
  CHECK(none.status == 401);
  // A forged invoke cannot decide either.
  CHECK(s.Deliver(ExecuteInvoke("f:forged", "approve", 1, "1", kAgentAad, kAgentName), BadToken::kExpired).status ==
        401);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(InboxTotal(s.store()) == 0);
  auto questions = s.store().ListQuestions("teams", question["conversation"]["id"]);
  REQUIRE(questions.ok());
  CHECK(questions->empty());
  CHECK(s.fake().recorded().empty());
}

TEST_CASE("teams: a redelivered activity is stored once and answered once", "[integration][teams]") {
  TeamsServer s;
  const json question = ChannelQuestion("1767326100006", "something nobody knows about");
  const std::string conversation = question["conversation"]["id"];
  for (int i = 0; i < 3; ++i) CHECK(s.Deliver(question).status == 200);
  // The model abstains: the asker gets "an agent will follow up" as a reply.
  REQUIRE(Eventually([&] { return !RepliesTo(s.fake(), conversation, "1767326100006").empty(); }));
  REQUIRE(Eventually([&] { return !CardPosts(s.fake()).empty(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(InboxTotal(s.store()) == 1);
  CHECK(CardPosts(s.fake()).size() == 1);
  auto replies = RepliesTo(s.fake(), conversation, "1767326100006");
  REQUIRE(replies.size() == 1);
  CHECK(TextOf(replies[0]).find("An agent will") != std::string::npos);
}

TEST_CASE("teams: 429 then 5xx from the Connector are retried and the reply is posted once",
          "[integration][teams]") {
  TeamsServer s;
  const json question = ChannelQuestion("1767326100007", "vpn down again");
  const std::string conversation = question["conversation"]["id"];
  // The card post meets a 429 and a 503 first.
  s.fake().FailNext(429, 1, "0");
  s.fake().FailNext(503, 1);
  const RecordedActivity card = s.AskAndWaitForCard(question);
  const std::int64_t sid = SuggestionIdOf(card);
  // The answer meets a 429, a 502 and a 504.
  const int before = s.fake().connector_requests();
  s.fake().FailNext(429, 1, "0");
  s.fake().FailNext(502, 1);
  s.fake().FailNext(504, 1);
  REQUIRE(s.Deliver(ExecuteInvoke("f:approve-7", "approve", sid, CardIdOf(card), kAgentAad, kAgentName)).status ==
          200);
  REQUIRE(Eventually([&] { return !RepliesTo(s.fake(), conversation, "1767326100007").empty(); }));
  REQUIRE(Eventually([&] { return !CardUpdates(s.fake(), CardIdOf(card)).empty(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(CardPosts(s.fake()).size() == 1);
  CHECK(RepliesTo(s.fake(), conversation, "1767326100007").size() == 1);
  // Three refused attempts, then the reply and the card update went through.
  CHECK(s.fake().connector_requests() - before == 5);
  auto c = s.store().CountChatQueues();
  REQUIRE(c.ok());
  CHECK(c->outbox_failed == 0);
}

TEST_CASE("teams: conversationUpdate and typing are acknowledged and not stored", "[integration][teams]") {
  TeamsServer s;
  json update = ChannelQuestion("1767326100008", "");
  update["type"] = "conversationUpdate";
  update.erase("text");
  CHECK(s.Deliver(update).status == 200);
  json typing = PersonalQuestion("1767378500008", "");
  typing["type"] = "typing";
  CHECK(s.Deliver(typing).status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(InboxTotal(s.store()) == 0);
}

TEST_CASE("teams: 'help' in a personal chat is a command answered in the chat", "[integration][teams]") {
  TeamsServer s;
  const json help = PersonalQuestion("1767378500009", "help");
  REQUIRE(s.Deliver(help).status == 200);
  const std::string conversation = help["conversation"]["id"];
  REQUIRE(Eventually([&] { return !RepliesTo(s.fake(), conversation, "1767378500009").empty(); }));
  CHECK(TextOf(RepliesTo(s.fake(), conversation, "1767378500009").front()).find("Commands: help, status") !=
        std::string::npos);
  CHECK(CardPosts(s.fake()).empty());
}

TEST_CASE("teams webhook: a good HMAC gets the suggestion synchronously and the question is recorded",
          "[integration][teams][webhook]") {
  TeamsServer s;
  json question = ChannelQuestion("1767326200001", "how do I fix my vpn");
  Reply r = s.Webhook(question);
  REQUIRE(r.status == 200);
  REQUIRE(r.body.is_object());
  CHECK(r.body.value("type", "") == "message");
  const std::string text = r.body.value("text", "");
  CHECK(text.find("Suggested answer") != std::string::npos);
  CHECK(text.find("confidence 92%") != std::string::npos);
  CHECK(text.find("Restart the VPN client") != std::string::npos);
  CHECK(text.find("rt #T-vpn") != std::string::npos);

  // Recorded: the question and its suggestion, shown to agents as a card
  // (bot mode is on here too) that says the asker already saw it.
  REQUIRE(Eventually([&] { return !CardPosts(s.fake()).empty(); }));
  const RecordedActivity card = CardPosts(s.fake()).back();
  CHECK(card.body.find("via the outgoing webhook: they were shown this suggestion") != std::string::npos);
  auto questions = s.store().ListQuestions("teams", question["conversation"]["id"]);
  REQUIRE(questions.ok());
  REQUIRE(questions->size() == 1);
  CHECK(questions->front().text == "how do I fix my vpn");
  const std::int64_t sid = SuggestionIdOf(card);
  CHECK(SuggestionOf(s.store(), sid).text.find("Restart the VPN client") != std::string::npos);

  // An agent may still approve (a training pair), but the webhook cannot be
  // posted to later: the answer row fails with a clear error, nothing is sent.
  REQUIRE(s.Deliver(ExecuteInvoke("f:approve-w", "approve", sid, CardIdOf(card), kAgentAad, kAgentName)).status ==
          200);
  REQUIRE(Eventually([&] {
    auto c = s.store().CountChatQueues();
    return c.ok() && c->outbox_failed == 1;
  }));
  CHECK(AllPairs(s.store()).size() == 1);
  CHECK(RepliesTo(s.fake(), question["conversation"]["id"], "1767326200001").empty());
}

TEST_CASE("teams webhook: an abstaining model answers that an agent will follow up",
          "[integration][teams][webhook]") {
  TeamsServer s;
  Reply r = s.Webhook(ChannelQuestion("1767326200002", "what is the meaning of life"));
  REQUIRE(r.status == 200);
  CHECK(r.body.value("text", "").find("An agent will") != std::string::npos);
  REQUIRE(Eventually([&] { return !CardPosts(s.fake()).empty(); }));
  // The notice went in the HTTP response; its outbox row is done without a send.
  REQUIRE(Eventually([&] {
    auto c = s.store().CountChatQueues();
    return c.ok() && c->outbox_pending == 0 && c->outbox_sending == 0 && c->outbox_sent == 2;
  }));
  auto c = s.store().CountChatQueues();
  CHECK(c->outbox_failed == 0);
}

TEST_CASE("teams webhook: a bad or missing HMAC gets 401 and stores nothing", "[integration][teams][webhook]") {
  TeamsServer s;
  const json question = ChannelQuestion("1767326200003", "my vpn is broken");
  // Signed with another key.
  CHECK(s.Webhook(question, "b3RoZXIta2V5LW5vdC10aGUtd2ViaG9vay1rZXk=").status == 401);
  // Signed correctly, then the body changed.
  const std::string body = question.dump();
  auto sig = teams::SignOutgoingWebhook(body, kWebhookSecret);
  REQUIRE(sig.ok());
  json tampered = question;
  tampered["text"] = "<at>Chat SDK Demo</at> something else";
  CHECK(s.api().Send("POST", "/teams/webhook", tampered.dump(), {{"Authorization", *sig}}).status == 401);
  // No header; a bearer token instead of HMAC.
  CHECK(s.api().Send("POST", "/teams/webhook", body).status == 401);
  CHECK(s.api().Send("POST", "/teams/webhook", body, {{"Authorization", "Bearer x"}}).status == 401);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(InboxTotal(s.store()) == 0);
}

}  // namespace deskbot::testing

namespace deskbot::testing {

TEST_CASE("teams webhook: a model slower than the budget gets the follow-up notice in time",
          "[integration][teams][webhook]") {
  TeamsServer s(std::chrono::milliseconds(1500), std::chrono::milliseconds(100));
  const json question = ChannelQuestion("1767326200004", "my vpn is broken");
  Reply r = s.Webhook(question);
  REQUIRE(r.status == 200);
  // The model would have answered (it knows "vpn"), but not within the budget.
  CHECK(r.body.value("text", "").find("An agent will") != std::string::npos);
  CHECK(r.body.value("text", "").find("Restart the VPN client") == std::string::npos);
  // The question is recorded all the same.
  REQUIRE(Eventually([&] {
    auto q = s.store().ListQuestions("teams", question["conversation"]["id"]);
    return q.ok() && q->size() == 1;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));  // let the model thread finish
}

}  // namespace deskbot::testing

namespace deskbot::testing {

TEST_CASE("teams: malformed bodies and foreign card actions get clear answers and store nothing",
          "[integration][teams]") {
  TeamsServer s;
  // Not JSON, with a token minted for the fake's serviceUrl: 400 naming the problem.
  Reply bad = s.api().Send("POST", "/api/messages", "{\"type\": \"message\", \"text\": ",
                           {{"Authorization", "Bearer " + s.fake().MintActivityToken()}});
  CHECK(bad.status == 400);
  CHECK(bad.text.find("JSON") != std::string::npos);
  // An Action.Execute that is not one of deskbot's cards: an invoke error body.
  auto foreign = s.Deliver(Fixture("invoke_adaptiveCard_action_execute.json"));
  CHECK(foreign.status == 200);
  json e = json::parse(foreign.body, nullptr, false);
  CHECK(e.value("statusCode", 0) == 400);
  CHECK(e.value("type", "") == "application/vnd.microsoft.error");
  // A correctly signed webhook call whose body is not an activity.
  const std::string junk = "[1, 2, 3]";
  auto sig = teams::SignOutgoingWebhook(junk, kWebhookSecret);
  REQUIRE(sig.ok());
  CHECK(s.api().Send("POST", "/teams/webhook", junk, {{"Authorization", *sig}}).status == 400);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(InboxTotal(s.store()) == 0);
  CHECK(s.fake().recorded().empty());
}

}  // namespace deskbot::testing
