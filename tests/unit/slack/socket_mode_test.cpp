// slack::SocketModeClient against the fake Slack: real WebSockets on loopback,
// URLs from apps.connections.open through slack::WebApi.
#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "connectors/slack/socket_mode.h"
#include "connectors/slack/web_api.h"
#include "tests/support/slack/fake_slack.h"

using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string Fixture(const std::string& rel) {
  std::ifstream in(std::string(DESKBOT_TEST_DATA_DIR) + "/slack/" + rel, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Options that make the tests quick: short backoffs and timeouts.
slack::SocketModeOptions FastOptions(int connections) {
  slack::SocketModeOptions o;
  o.connections = connections;
  o.reconnect_initial = 50ms;
  o.reconnect_max = 400ms;
  o.ping_interval = 200ms;
  o.pong_timeout = 300ms;
  o.hello_timeout = 1000ms;
  return o;
}

// Everything a Socket Mode test needs: the fake, a WebApi on it, and a
// handler that records envelopes (thread-safe).
struct Rig {
  slack_fake::FakeSlack fake;
  std::unique_ptr<slack::WebApi> api;
  std::mutex mu;
  std::vector<slack::SocketFrame> seen;
  std::function<util::Result<std::string>(const slack::SocketFrame&)> reply =
      [](const slack::SocketFrame&) { return util::Result<std::string>(std::string()); };
  std::atomic<int> opens{0};

  explicit Rig(slack_fake::FakeSlackOptions fo = {}) : fake(fo) {
    REQUIRE(fake.Start().ok());
    slack::WebApiOptions opt;
    opt.base_url = fake.api_base_url();
    opt.bot_token = fake.bot_token();
    opt.app_token = fake.app_token();
    opt.http.retry.max_attempts = 1;
    auto created = slack::WebApi::Create(opt);
    REQUIRE(created.ok());
    api = std::move(*created);
  }

  slack::ConnectionOpener Opener() {
    return [this] {
      ++opens;
      return api->OpenConnection();
    };
  }

  slack::EnvelopeHandler Handler() {
    return [this](const slack::SocketFrame& f) {
      std::lock_guard<std::mutex> lock(mu);
      seen.push_back(f);
      return reply(f);
    };
  }

  size_t SeenCount() {
    std::lock_guard<std::mutex> lock(mu);
    return seen.size();
  }
};

bool Eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return cond();
}

}  // namespace

TEST_CASE("socket mode: hello, then an envelope is handled and acked with its id") {
  Rig rig;
  slack::SocketModeClient client(FastOptions(1), rig.Opener(), rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(1, 5s));
  auto ids = rig.fake.socket_ids();
  REQUIRE(ids.size() == 1);

  REQUIRE(rig.fake.SendFrame(ids[0], Fixture("socket_mode/envelope_events_api_app_mention.json")).ok());
  REQUIRE(rig.fake.WaitForAcks(1, 5s));
  auto acks = rig.fake.acks();
  CHECK(acks[0].envelope_id == "cda4159a-72a5-4744-aba3-4d66eb52682b");
  CHECK(acks[0].payload_json.empty());
  CHECK(json::parse(acks[0].raw) == json{{"envelope_id", "cda4159a-72a5-4744-aba3-4d66eb52682b"}});
  REQUIRE(rig.SeenCount() == 1);
  auto inner = slack::ParseEventEnvelope(rig.seen[0].payload_json);
  REQUIRE(inner.ok());
  CHECK(inner->event_id == "Ev111");

  auto st = client.stats();
  CHECK(st.open_connections == 1);
  CHECK(st.envelopes == 1);
  CHECK(st.acks == 1);
  CHECK(rig.opens.load() == 1);
  client.Stop();
  CHECK(client.Wait().ok());
  CHECK(Eventually([&] { return rig.fake.open_sockets() == 0; }));
}

TEST_CASE("socket mode: ack payloads, handler failures and large frames") {
  Rig rig;
  rig.reply = [](const slack::SocketFrame& f) -> util::Result<std::string> {
    if (f.envelope_id == "ac2cfd40-6f8c-4d5e-a1ad-646e532baa19") {
      return util::Status::IOError("inbox write failed");  // not persisted: no ack
    }
    if (f.accepts_response_payload) return std::string(R"({"text":"working on it"})");
    return std::string();
  };
  slack::SocketModeClient client(FastOptions(1), rig.Opener(), rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(1, 5s));
  uint64_t id = rig.fake.socket_ids().at(0);

  REQUIRE(rig.fake.SendFrame(id, Fixture("socket_mode/envelope_events_api_message.json")).ok());
  REQUIRE(rig.fake.SendFrame(id, Fixture("socket_mode/envelope_slash_commands.json")).ok());
  REQUIRE(rig.fake.SendFrame(id, Fixture("socket_mode/envelope_interactive_block_actions_large.json")).ok());
  REQUIRE(rig.fake.WaitForAcks(2, 5s));
  CHECK(Eventually([&] { return rig.SeenCount() == 3; }));
  auto acks = rig.fake.acks();
  REQUIRE(acks.size() == 2);
  CHECK(acks[0].envelope_id == "1d3c79ab-0ffb-41f3-a080-d19e85f53649");
  CHECK(json::parse(acks[0].payload_json)["text"] == "working on it");
  CHECK(acks[1].payload_json.empty());
  CHECK(client.stats().handler_failures == 1);
  // Junk frames are ignored; the socket keeps working.
  REQUIRE(rig.fake.SendFrame(id, "not json").ok());
  REQUIRE(rig.fake.SendFrame(id, Fixture("socket_mode/envelope_events_api_retry_timeout.json")).ok());
  REQUIRE(rig.fake.WaitForAcks(3, 5s));
  CHECK(rig.fake.acks()[2].envelope_id == "08cfc559-d933-402e-a5c1-79e135afaae4");
}

TEST_CASE("socket mode: keeps N connections, the same envelope on two is handled and acked twice") {
  Rig rig;
  slack::SocketModeClient client(FastOptions(2), rig.Opener(), rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(2, 5s));
  auto ids = rig.fake.socket_ids();
  REQUIRE(ids.size() == 2);
  std::string env = Fixture("socket_mode/envelope_events_api_app_mention.json");
  REQUIRE(rig.fake.SendFrame(ids[0], env).ok());
  REQUIRE(rig.fake.SendFrame(ids[1], env).ok());
  REQUIRE(rig.fake.WaitForAcks(2, 5s));
  auto acks = rig.fake.acks();
  CHECK(acks[0].envelope_id == acks[1].envelope_id);
  CHECK(acks[0].socket != acks[1].socket);  // each acked on the socket that carried it
  CHECK(rig.SeenCount() == 2);             // deduplicating is the caller's job
  CHECK(rig.opens.load() == 2);
}

TEST_CASE("socket mode: refresh_requested opens the new socket before closing the old") {
  Rig rig;
  slack::SocketModeClient client(FastOptions(1), rig.Opener(), rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(1, 5s));
  uint64_t old_id = rig.fake.socket_ids().at(0);

  REQUIRE(rig.fake.SendDisconnect(old_id, "refresh_requested").ok());
  REQUIRE(Eventually([&] {
    auto ids = rig.fake.socket_ids();
    return rig.fake.sockets_accepted() == 2 && ids.size() == 1 && ids[0] != old_id;
  }));
  CHECK(rig.fake.max_open_sockets() == 2);  // both were open: no gap
  CHECK(rig.opens.load() == 2);             // a fresh URL for the new socket
  CHECK(client.stats().open_connections == 1);

  // The new socket works.
  uint64_t new_id = rig.fake.socket_ids().at(0);
  REQUIRE(rig.fake.SendFrame(new_id, Fixture("socket_mode/envelope_events_api_message.json")).ok());
  REQUIRE(rig.fake.WaitForAcks(1, 5s));
  CHECK(rig.fake.acks()[0].socket == new_id);

  // "warning" does the same.
  REQUIRE(rig.fake.SendDisconnect(new_id, "warning").ok());
  CHECK(Eventually([&] { return rig.fake.sockets_accepted() == 3 && rig.fake.open_sockets() == 1; }));
}

TEST_CASE("socket mode: a dropped socket comes back after a backoff") {
  Rig rig;
  slack::SocketModeClient client(FastOptions(1), rig.Opener(), rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(1, 5s));
  rig.fake.DropSocket(rig.fake.socket_ids().at(0));
  REQUIRE(Eventually([&] { return rig.fake.sockets_accepted() == 2 && rig.fake.open_sockets() == 1; }));
  REQUIRE(client.WaitForConnections(1, 5s));
  REQUIRE(rig.fake.SendFrame(rig.fake.socket_ids().at(0),
                             Fixture("socket_mode/envelope_events_api_message.json")).ok());
  CHECK(rig.fake.WaitForAcks(1, 5s));
}

TEST_CASE("socket mode: a silent peer (no pongs) is replaced") {
  slack_fake::FakeSlackOptions fo;
  fo.answer_pings = false;
  Rig rig(fo);
  slack::SocketModeClient client(FastOptions(1), rig.Opener(), rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(1, 5s));
  CHECK(Eventually([&] { return rig.fake.sockets_accepted() >= 2; }, 10s));
}

TEST_CASE("socket mode: link_disabled stops the client") {
  Rig rig;
  slack::SocketModeClient client(FastOptions(2), rig.Opener(), rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(2, 5s));
  REQUIRE(rig.fake.SendDisconnect(rig.fake.socket_ids().at(0), "link_disabled").ok());
  util::Status why = client.Wait();
  CHECK(why.code() == util::Status::Code::kUnauthorized);
  CHECK(why.message().find("link_disabled") != std::string::npos);
  CHECK(Eventually([&] { return rig.fake.open_sockets() == 0; }));
  std::this_thread::sleep_for(300ms);
  CHECK(rig.fake.sockets_accepted() == 2);  // no reconnects
}

TEST_CASE("socket mode: too_many_websockets backs off before reconnecting") {
  Rig rig;
  auto opt = FastOptions(1);
  opt.reconnect_max = 600ms;
  slack::SocketModeClient client(opt, rig.Opener(), rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(1, 5s));
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(rig.fake.SendDisconnect(rig.fake.socket_ids().at(0), "too_many_websockets").ok());
  REQUIRE(Eventually([&] { return rig.fake.open_sockets() == 0; }));
  REQUIRE(Eventually([&] { return rig.fake.sockets_accepted() == 2; }));
  // The wait is at least half of reconnect_max (the jitter floor).
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
}

TEST_CASE("socket mode: a rejected app token stops the client") {
  slack_fake::FakeSlackOptions fo;
  Rig rig(fo);
  slack::WebApiOptions opt;
  opt.base_url = rig.fake.api_base_url();
  opt.app_token = "xapp-not-the-right-one";
  auto bad = slack::WebApi::Create(opt);
  REQUIRE(bad.ok());
  slack::WebApi* api = bad->get();
  slack::SocketModeClient client(FastOptions(1), [api] { return api->OpenConnection(); }, rig.Handler());
  REQUIRE(client.Start().ok());
  util::Status why = client.Wait();
  CHECK(why.code() == util::Status::Code::kUnauthorized);
  CHECK(why.message().find("invalid_auth") != std::string::npos);
  CHECK(why.message().find("xapp-not") == std::string::npos);
}

TEST_CASE("socket mode: failed connects (bad TLS, used ticket) are retried with a fresh URL") {
  Rig rig;
  std::atomic<int> n{0};
  std::string reused;
  auto opener = [&]() -> util::Result<std::string> {
    int k = n++;
    auto url = rig.api->OpenConnection();
    if (!url.ok()) return url;
    if (k == 0) {  // wss:// to a plain server: the TLS handshake fails
      reused = *url;
      return "wss://" + url->substr(5);
    }
    if (k == 1) return reused;  // that ticket was never used: it works
    if (k == 2) return reused;  // now it is spent: the fake refuses it (403)
    return url;
  };
  slack::SocketModeClient client(FastOptions(1), opener, rig.Handler());
  REQUIRE(client.Start().ok());
  REQUIRE(client.WaitForConnections(1, 10s));
  // Drop the socket: the next URL (k == 2) is the spent ticket, then k == 3 works.
  rig.fake.DropSocket(rig.fake.socket_ids().at(0));
  REQUIRE(Eventually([&] { return n.load() >= 4 && rig.fake.open_sockets() == 1; }, 10s));
  CHECK(client.stats().open_failures >= 2);
}

TEST_CASE("socket mode: reconnect delays grow, are capped and jittered") {
  slack::SocketModeOptions o;
  o.reconnect_initial = 1000ms;
  o.reconnect_max = 30000ms;
  CHECK(slack::ReconnectDelay(o, 1, 0.0) == 500ms);
  CHECK(slack::ReconnectDelay(o, 1, 0.999) <= 1000ms);
  CHECK(slack::ReconnectDelay(o, 3, 0.0) == 2000ms);
  CHECK(slack::ReconnectDelay(o, 20, 0.0) == 15000ms);
  CHECK(slack::ReconnectDelay(o, 20, 0.999) <= 30000ms);
}
