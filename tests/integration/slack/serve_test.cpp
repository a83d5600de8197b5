// `deskbot serve` with Slack configured from the environment, killed with
// SIGKILL right after acknowledging deliveries: after a restart every
// acknowledged event is answered exactly once.
#include <atomic>
#include <filesystem>
#include <thread>

#include "tests/integration/slack/harness.h"
#include "tests/integration/webchat/process.h"

namespace deskbot::testing {
namespace {

const std::string kDeskbot = std::string(DESKBOT_BINARY_DIR) + "/bot/cli/deskbot";

std::unique_ptr<Process> StartSlackServe(const TempDir& dir, const std::string& tag,
                                         const std::string& api_url, int workers = 2) {
  auto p = std::make_unique<Process>(
      std::vector<std::string>{kDeskbot, "serve"},
      std::map<std::string, std::string>{{"DESKBOT_DATA_DIR", dir.path().string()},
                                         {"DESKBOT_SERVICE_WORKERS", std::to_string(workers)},
                                         {"DESKBOT_LISTEN", "127.0.0.1:0"},
                                         {"DESKBOT_AGENTS", kAgent},
                                         {"DESKBOT_CONFIG", ""},
                                         {"DESKBOT_OUTBOX_BACKOFF_MS", "50"},
                                         {"DESKBOT_SLACK_SIGNING_SECRET", kSigningSecret},
                                         {"DESKBOT_SLACK_BOT_TOKEN", "xoxb-fake-bot-token"},
                                         {"DESKBOT_SLACK_API_URL", api_url},
                                         {"DESKBOT_SLACK_AGENTS_CHANNEL", kAgentsChannel}},
      dir.File(tag + ".out"), dir.File(tag + ".err"));
  REQUIRE(p->started());
  return p;
}

std::string EventBody(int i) {
  return EventCallback("EvCrash" + std::to_string(i), "app_mention",
                       "1700001000." + std::to_string(100000 + i), "<@U0BOT> question " + std::to_string(i))
      .dump();
}

int Deliver(const std::string& base, int i) {
  Api api(base);
  const std::string body = EventBody(i);
  auto headers = Signed(body);
  headers.push_back({"Content-Type", "application/json"});
  return api.Send("POST", "/slack/events", body, headers).status;
}

}  // namespace

TEST_CASE("deskbot serve with Slack: SIGKILL right after the ack then restart answers each event once",
          "[integration][slack][serve]") {
  REQUIRE(std::filesystem::exists(kDeskbot));
  slack_fake::FakeSlack fake;
  REQUIRE(fake.Start().ok());
  TempDir dir;
  constexpr int kEvents = 24;
  std::vector<int> first_status(kEvents, 0);
  {
    // The first process cannot reach Slack (a closed port): whatever it
    // processed stays in the outbox, undelivered, so no send is in flight
    // when it dies and the only question is what the restart does.
    auto serve = StartSlackServe(dir, "first", "http://127.0.0.1:1/api");
    auto port = serve->WaitForOutput(R"(serving on http://127\.0\.0\.1:(\d+)/)", std::chrono::seconds(20));
    INFO("stderr: " << serve->Errors());
    REQUIRE(port.has_value());
    const std::string base = "http://127.0.0.1:" + *port;
    std::atomic<int> acked{0};
    std::vector<std::thread> senders;
    for (int i = 0; i < kEvents; ++i)
      senders.emplace_back([&, i] {
        first_status[i] = Deliver(base, i);
        if (first_status[i] == 200) acked++;
      });
    // Killed as soon as the first deliveries were acknowledged: the rest are
    // in flight (never acked: Slack would retry them) or acked but not yet
    // processed by a worker.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (acked.load() == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    serve->Kill();
    for (auto& t : senders) t.join();
    REQUIRE(acked.load() > 0);
  }
  {
    auto opened = SqliteStore::Open(dir.File("deskbot.db"));
    if (opened.ok()) {
      auto c = (*opened)->CountChatQueues();
      if (c.ok())
        WARN("after SIGKILL: inbox pending " << c->inbox_pending << ", processing " << c->inbox_processing
                                             << ", done " << c->inbox_done << "; outbox pending "
                                             << c->outbox_pending + c->outbox_sending);
    }
  }
  {
    auto serve = StartSlackServe(dir, "second", fake.api_base_url());
    auto port = serve->WaitForOutput(R"(serving on http://127\.0\.0\.1:(\d+)/)", std::chrono::seconds(20));
    INFO("stderr: " << serve->Errors());
    REQUIRE(port.has_value());
    const std::string base = "http://127.0.0.1:" + *port;
    // Slack retries every delivery it saw no 200 for; retrying the acked
    // ones too must change nothing.
    for (int i = 0; i < kEvents; ++i) CHECK(Deliver(base, i) == 200);
    REQUIRE(Eventually([&] { return AgentPosts(fake).size() >= kEvents; }, std::chrono::seconds(30)));
    REQUIRE(Eventually(
        [&] {
          return CallsWhere(fake, "chat.postMessage").size() >= 2 * static_cast<std::size_t>(kEvents);
        },
        std::chrono::seconds(30)));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    // Exactly one suggestion for agents and one notice in each asker's thread.
    CHECK(AgentPosts(fake).size() == kEvents);
    for (int i = 0; i < kEvents; ++i)
      CHECK(ThreadPosts(fake, "1700001000." + std::to_string(100000 + i)).size() == 1);
    CHECK(serve->Stop(SIGTERM) == std::optional<int>(0));
  }
}

TEST_CASE("deskbot serve with Slack: every event acked, none processed, SIGKILL: one reply each",
          "[integration][slack][serve]") {
  // The window between the ack and the processing, held open on purpose: the
  // first process runs no workers (service.workers = 0), so every delivery it
  // acknowledges is stored and unprocessed when it is killed.
  REQUIRE(std::filesystem::exists(kDeskbot));
  slack_fake::FakeSlack fake;
  REQUIRE(fake.Start().ok());
  TempDir dir;
  constexpr int kEvents = 8;
  {
    auto serve = StartSlackServe(dir, "first", fake.api_base_url(), /*workers=*/0);
    auto port = serve->WaitForOutput(R"(serving on http://127\.0\.0\.1:(\d+)/)", std::chrono::seconds(20));
    INFO("stderr: " << serve->Errors());
    REQUIRE(port.has_value());
    for (int i = 0; i < kEvents; ++i) REQUIRE(Deliver("http://127.0.0.1:" + *port, 100 + i) == 200);
    serve->Kill();
  }
  {
    auto opened = SqliteStore::Open(dir.File("deskbot.db"));
    REQUIRE(opened.ok());
    auto c = (*opened)->CountChatQueues();
    REQUIRE(c.ok());
    CHECK(c->inbox_pending == kEvents);  // acknowledged, stored, not processed
    CHECK(c->inbox_done == 0);
  }
  CHECK(AgentPosts(fake).empty());
  auto serve = StartSlackServe(dir, "second", fake.api_base_url());
  INFO("stderr: " << serve->Errors());
  REQUIRE(serve->WaitForOutput(R"(serving on http://127\.0\.0\.1:(\d+)/)", std::chrono::seconds(20)));
  REQUIRE(Eventually([&] { return AgentPosts(fake).size() >= kEvents; }, std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(AgentPosts(fake).size() == kEvents);
  for (int i = 0; i < kEvents; ++i)
    CHECK(ThreadPosts(fake, "1700001000." + std::to_string(100000 + 100 + i)).size() == 1);
  CHECK(serve->Stop(SIGTERM) == std::optional<int>(0));
}

TEST_CASE("deskbot serve refuses a negative retention and names the setting",
          "[integration][slack][serve]") {
  struct Case {
    const char* env;
    const char* value;
    const char* error;
  };
  const Case cases[] = {
      {"DESKBOT_INBOX_RETENTION_HOURS", "-1",
       "inbox.retention_hours must be 0 (keep every event) or more, not -1"},
      {"DESKBOT_OUTBOX_RETENTION_HOURS", "-2",
       "outbox.retention_hours must be 0 (keep every sent message) or more, not -2"},
  };
  for (const Case& c : cases) {
    INFO(c.env);
    TempDir dir;
    Process serve({kDeskbot, "serve"},
                  {{"DESKBOT_DATA_DIR", dir.path().string()},
                   {"DESKBOT_LISTEN", "127.0.0.1:0"},
                   {"DESKBOT_CONFIG", ""},
                   {c.env, c.value}},
                  dir.File("bad.out"), dir.File("bad.err"));
    REQUIRE(serve.started());
    CHECK(serve.Wait(std::chrono::seconds(20)) == std::optional<int>(1));
    CHECK(serve.Errors().find(c.error) != std::string::npos);
  }
}

}  // namespace deskbot::testing
