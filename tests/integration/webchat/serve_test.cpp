// `deskbot serve` as a user runs it: settings from the environment, the URL
// on stdout, the web chat working, SIGTERM stopping it cleanly, and a restart
// resuming from the store.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tests/integration/webchat/harness.h"
#include "tests/integration/webchat/process.h"

using namespace deskbot::testing;

namespace {

const std::string kDeskbot = std::string(DESKBOT_BINARY_DIR) + "/bot/cli/deskbot";

std::unique_ptr<Process> StartServe(const TempDir& dir, const std::string& tag) {
  auto p = std::make_unique<Process>(
      std::vector<std::string>{kDeskbot, "serve"},
      std::map<std::string, std::string>{{"DESKBOT_DATA_DIR", dir.path().string()},
                                         {"DESKBOT_LISTEN", "127.0.0.1:0"},
                                         {"DESKBOT_AGENTS", "alice,webchat:bob"},
                                         {"DESKBOT_LOG_FORMAT", "json"},
                                         {"DESKBOT_CONFIG", ""}},
      dir.File(tag + ".out"), dir.File(tag + ".err"));
  REQUIRE(p->started());
  return p;
}

}  // namespace

TEST_CASE("deskbot serve: web chat round trip, graceful SIGTERM, restart resumes",
          "[integration][webchat][serve]") {
  REQUIRE(std::filesystem::exists(kDeskbot));
  TempDir dir;
  std::string conversation;
  {
    auto serve = StartServe(dir, "first");
    auto port = serve->WaitForOutput(R"(serving on http://127\.0\.0\.1:(\d+)/)", std::chrono::seconds(20));
    INFO("stdout: " << serve->Output() << "\nstderr: " << serve->Errors());
    REQUIRE(port.has_value());
    Api api("http://127.0.0.1:" + *port);

    CHECK(api.Get("/healthz").status == 200);
    CHECK(api.Get("/readyz").status == 503);  // no model trained yet
    Reply asked = api.Post("/api/questions", {{"text", "Where do I find the holiday calendar?"}});
    REQUIRE(asked.status == 202);
    conversation = asked.body["conversation"];

    json s;
    REQUIRE(Eventually([&] {
      Reply r = api.Get("/api/suggestions?agent=bob");
      if (r.status != 200 || r.body["suggestions"].empty()) return false;
      s = r.body["suggestions"][0];
      return true;
    }));
    CHECK(s["state"] == "abstained");
    const std::string id = std::to_string(s["id"].get<std::int64_t>());
    REQUIRE(api.Post("/api/suggestions/" + id + "/verdict",
                     {{"agent", "alice"}, {"action", "edit"}, {"text", "On the intranet, under HR."}})
                .status == 202);
    Reply last;
    const bool answered = Eventually([&] {
      last = api.Get("/api/conversations/" + conversation);
      for (const json& m : last.body["messages"])
        if (m["kind"] == "answer" && m["text"] == "On the intranet, under HR.") return true;
      return false;
    });
    INFO("conversation " << conversation << ": " << last.text);
    REQUIRE(answered);

    auto code = serve->Stop(SIGTERM);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK_THAT(serve->Output(), Catch::Contains("deskbot: stopped"));
    // JSON logs: one object per line, and no payloads in them.
    const std::string logs = serve->Errors();
    CHECK_THAT(logs, Catch::Contains("\"msg\":\"service: stopped\""));
    CHECK_THAT(logs, !Catch::Contains("holiday calendar"));
  }
  {
    auto serve = StartServe(dir, "second");
    auto port = serve->WaitForOutput(R"(serving on http://127\.0\.0\.1:(\d+)/)", std::chrono::seconds(20));
    REQUIRE(port.has_value());
    Api api("http://127.0.0.1:" + *port);
    Reply convo = api.Get("/api/conversations/" + conversation);
    REQUIRE(convo.status == 200);
    CHECK(convo.body["questions"].size() == 1);
    REQUIRE(convo.body["messages"].size() == 2);  // the notice and the answer, once each
    CHECK(convo.body["messages"][1]["text"] == "On the intranet, under HR.");
    CHECK(serve->Stop(SIGINT) == std::optional<int>(0));
  }
}

TEST_CASE("deskbot serve: a bad listen address is a clear error", "[integration][webchat][serve]") {
  TempDir dir;
  Process p({kDeskbot, "serve"},
            {{"DESKBOT_DATA_DIR", dir.path().string()}, {"DESKBOT_LISTEN", "127.0.0.1:notaport"},
             {"DESKBOT_CONFIG", ""}},
            dir.File("out"), dir.File("err"));
  REQUIRE(p.started());
  auto code = p.Wait(std::chrono::seconds(20));
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  CHECK_THAT(p.Errors(), Catch::Contains("server.listen: bad port 'notaport'"));
}
