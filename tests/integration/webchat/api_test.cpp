// The web chat's JSON API end to end, over real HTTP, through the real
// inbox -> workflow -> outbox of an in-process service with a small model.
#include <catch2/catch.hpp>

#include "tests/integration/webchat/harness.h"

using namespace deskbot;
using namespace deskbot::testing;

namespace {

// Waits for one open suggestion for `text` and returns it.
json WaitForSuggestion(Api& api, const std::string& agent, const std::string& question) {
  json found;
  Eventually([&] {
    Reply r = api.Get("/api/suggestions?state=open&agent=" + agent);
    if (r.status != 200) return false;
    for (const json& s : r.body["suggestions"])
      if (s["question"]["text"] == question) {
        found = s;
        return true;
      }
    return false;
  });
  return found;
}

json WaitForMessage(Api& api, const std::string& conversation, const std::string& kind) {
  json found;
  Eventually([&] {
    Reply r = api.Get("/api/conversations/" + conversation);
    if (r.status != 200) return false;
    for (const json& m : r.body["messages"])
      if (m["kind"] == kind) {
        found = m;
        return true;
      }
    return false;
  });
  return found;
}

}  // namespace

TEST_CASE("web chat: ask, approve as an agent, the asker sees the answer", "[integration][webchat]") {
  WebChatServer server;
  Api api(server.base());

  Reply asked = api.Post("/api/questions", {{"text", "My VPN drops every hour"}, {"user", "carol"},
                                           {"client_id", "m-1"}});
  REQUIRE(asked.status == 202);
  const std::string conversation = asked.body["conversation"];
  CHECK(conversation.rfind("c-", 0) == 0);
  CHECK(asked.body["duplicate"] == false);

  json s = WaitForSuggestion(api, "alice", "My VPN drops every hour");
  REQUIRE(s.is_object());
  CHECK(s["state"] == "pending");
  CHECK(s["text"] == "Restart the VPN client and sign in again with your SSO account.");
  CHECK(s["confidence"].get<double>() == Approx(0.92));
  CHECK(s["model_version"] == "kw-1");
  REQUIRE(s["sources"].size() == 1);
  CHECK(s["sources"][0]["ticket"] == "T-vpn");
  CHECK(s["question"]["asker"] == "carol");

  // Nothing reaches the asker before an agent decides.
  Reply before = api.Get("/api/conversations/" + conversation);
  REQUIRE(before.status == 200);
  CHECK(before.body["messages"].empty());
  REQUIRE(before.body["questions"].size() == 1);

  const std::string id = std::to_string(s["id"].get<std::int64_t>());
  Reply decided = api.Post("/api/suggestions/" + id + "/verdict", {{"agent", "alice"}, {"action", "approve"}});
  REQUIRE(decided.status == 202);

  json answer = WaitForMessage(api, conversation, "answer");
  REQUIRE(answer.is_object());
  CHECK(answer["text"] == "Restart the VPN client and sign in again with your SSO account.");
  // Decided: gone from the open list, in the decided one.
  CHECK(Eventually([&] { return api.Get("/api/suggestions?agent=alice").body["suggestions"].empty(); }));
  Reply decided_list = api.Get("/api/suggestions?state=decided&agent=bob");
  REQUIRE(decided_list.body["suggestions"].size() == 1);
  CHECK(decided_list.body["suggestions"][0]["state"] == "approved");
  CHECK(decided_list.body["suggestions"][0]["decided_by"] == "alice");

  // Exactly one answer, and one training pair.
  CHECK(api.Get("/api/conversations/" + conversation).body["messages"].size() == 1);
  std::int64_t pairs = 0;
  REQUIRE(server.store().ForEachPair([&](const Pair& p) {
                          CHECK(p.origin == PairOrigin::kApproved);
                          ++pairs;
                          return true;
                        }).ok());
  CHECK(pairs == 1);

  Reply metrics = api.Get("/metrics");
  REQUIRE(metrics.status == 200);
  CHECK_THAT(metrics.text, Catch::Contains("deskbot_events_total{connector=\"webchat\",type=\"question\"} 1"));
  CHECK_THAT(metrics.text, Catch::Contains("deskbot_suggestions{state=\"approved\"} 1"));
  CHECK_THAT(metrics.text, Catch::Contains("deskbot_model_info{version=\"kw-1\"} 1"));
  CHECK(api.Get("/readyz").status == 200);
  CHECK(api.Get("/healthz").status == 200);
}

TEST_CASE("web chat: below the threshold the asker gets a notice, an agent's edit is the answer",
          "[integration][webchat]") {
  WebChatServer server;
  Api api(server.base());
  Reply asked = api.Post("/api/questions", {{"text", "Can I bring my dog to the office?"}});
  REQUIRE(asked.status == 202);
  const std::string conversation = asked.body["conversation"];
  json notice = WaitForMessage(api, conversation, "notice");
  REQUIRE(notice.is_object());
  CHECK_THAT(notice["text"].get<std::string>(), Catch::Contains("An agent will"));

  json s = WaitForSuggestion(api, "bob", "Can I bring my dog to the office?");
  REQUIRE(s.is_object());
  CHECK(s["state"] == "abstained");
  const std::string id = std::to_string(s["id"].get<std::int64_t>());
  REQUIRE(api.Post("/api/suggestions/" + id + "/verdict",
                   {{"agent", "bob"}, {"action", "edit"}, {"text", "Only on Fridays, on a leash."}})
              .status == 202);
  json answer = WaitForMessage(api, conversation, "answer");
  REQUIRE(answer.is_object());
  CHECK(answer["text"] == "Only on Fridays, on a leash.");
}

TEST_CASE("web chat: a non-agent is refused and the attempt audited", "[integration][webchat]") {
  WebChatServer server;
  Api api(server.base());
  REQUIRE(api.Post("/api/questions", {{"text", "vpn is down"}}).status == 202);
  json s = WaitForSuggestion(api, "alice", "vpn is down");
  REQUIRE(s.is_object());
  const std::string id = std::to_string(s["id"].get<std::int64_t>());

  CHECK(api.Get("/api/suggestions?agent=mallory").status == 403);
  CHECK(api.Get("/api/suggestions").status == 403);
  // The attempt still goes through the inbox, so it is refused AND recorded.
  REQUIRE(api.Post("/api/suggestions/" + id + "/verdict", {{"agent", "mallory"}, {"action", "approve"}})
              .status == 202);
  json refusal = WaitForMessage(api, "agent%3Amallory", "refusal");
  REQUIRE(refusal.is_object());
  CHECK_THAT(refusal["text"].get<std::string>(), Catch::Contains("only help-desk agents"));
  auto audit = server.store().ListAudit(5);
  REQUIRE(audit.ok());
  REQUIRE(!audit->empty());
  CHECK(audit->front().actor == "webchat:mallory");
  CHECK(audit->front().action == "verdict.refused");
  CHECK(api.Get("/api/suggestions?agent=alice").body["suggestions"].size() == 1);  // still open
}

TEST_CASE("web chat: a retried POST is one question", "[integration][webchat]") {
  WebChatServer server;
  Api api(server.base());
  const json ask{{"text", "password expired"}, {"client_id", "m-retry-1"}};
  Reply first = api.Post("/api/questions", ask);
  Reply second = api.Post("/api/questions", ask);
  REQUIRE(first.status == 202);
  REQUIRE(second.status == 202);
  CHECK(first.body["conversation"] == second.body["conversation"]);
  CHECK(second.body["duplicate"] == true);
  json s = WaitForSuggestion(api, "alice", "password expired");
  REQUIRE(s.is_object());
  const std::string id = std::to_string(s["id"].get<std::int64_t>());
  const json verdict{{"agent", "alice"}, {"action", "approve"}, {"client_id", "v-1"}};
  CHECK(api.Post("/api/suggestions/" + id + "/verdict", verdict).status == 202);
  CHECK(api.Post("/api/suggestions/" + id + "/verdict", verdict).body["duplicate"] == true);
  const std::string conversation = first.body["conversation"];
  REQUIRE(WaitForMessage(api, conversation, "answer").is_object());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Reply convo = api.Get("/api/conversations/" + conversation);
  CHECK(convo.body["questions"].size() == 1);
  CHECK(convo.body["messages"].size() == 1);
}

TEST_CASE("web chat: bad requests get clear errors and store nothing", "[integration][webchat]") {
  WebChatServer server("s3cret-token");
  Api api(server.base());
  Reply bad_json = api.Send("POST", "/api/questions", "{not json");
  CHECK(bad_json.status == 400);
  CHECK_THAT(bad_json.body["error"].get<std::string>(), Catch::Contains("malformed JSON"));
  CHECK(api.Post("/api/questions", {{"text", "   "}}).status == 400);
  CHECK(api.Post("/api/questions", {{"text", "hi"}, {"conversation", "agents"}}).status == 400);
  CHECK(api.Post("/api/questions", {{"text", "hi"}, {"user", "<script>"}}).status == 400);
  CHECK(api.Post("/api/questions", {{"text", std::string(9000, 'x')}}).status == 400);
  CHECK(api.Send("POST", "/api/questions", std::string(70000, 'x')).status == 413);
  CHECK(api.Post("/api/suggestions/abc/verdict", {{"agent", "alice"}, {"action", "approve"}}).status == 404);
  CHECK(api.Get("/api/conversations/..%2F..%2Fetc").status == 404);
  CHECK(api.Get("/nope.js").status == 404);
  // The agent token is required for agent requests, and checked.
  CHECK(api.Get("/api/suggestions?agent=alice").status == 401);
  CHECK(api.Send("GET", "/api/suggestions?agent=alice", "", {{"X-Deskbot-Agent-Token", "wrong"}}).status == 401);
  CHECK(api.Send("GET", "/api/suggestions?agent=alice", "", {{"X-Deskbot-Agent-Token", "s3cret-token"}})
            .status == 200);
  CHECK(api.Post("/api/suggestions/1/verdict", {{"agent", "alice"}, {"action", "approve"}}).status == 401);
  CHECK(api.Post("/api/suggestions/1/verdict", {{"agent", "alice"}, {"action", "maybe"}},
                 {{"X-Deskbot-Agent-Token", "s3cret-token"}})
            .status == 400);
  CHECK(server.store().CountChatQueues()->inbox_done + server.store().CountChatQueues()->inbox_pending == 0);

  Reply page = api.Get("/");
  CHECK(page.status == 200);
  CHECK_THAT(page.text, Catch::Contains("<script src=\"/app.js\"></script>"));
  CHECK(api.Get("/app.js").status == 200);
  CHECK(api.Get("/style.css").status == 200);
}

TEST_CASE("web chat: without a model the service is not ready but still routes to agents",
          "[integration][webchat]") {
  WebChatServer server("", nullptr);
  Api api(server.base());
  Reply ready = api.Get("/readyz");
  CHECK(ready.status == 503);
  CHECK(ready.body["model"].is_null());
  Reply asked = api.Post("/api/questions", {{"text", "vpn down"}});
  REQUIRE(asked.status == 202);
  CHECK(WaitForMessage(api, asked.body["conversation"], "notice").is_object());
}
