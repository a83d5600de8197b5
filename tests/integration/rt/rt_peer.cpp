#include "tests/integration/rt/rt_peer.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>

namespace rt_it {

namespace {

std::string Env(const char* name, const std::string& fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : fallback;
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

void Ok(const util::Status& st) {
  INFO(st.ToString());
  REQUIRE(st.ok());
}

template <typename T>
T Ok(util::Result<T> r) {
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

}  // namespace

std::string Peer::TokenFile(const std::string& user) const {
  std::string path = state_dir + "/" + user + ".token";
  return ReadFirstLine(path).empty() ? "" : path;
}

std::unique_ptr<rt::Client> Peer::As(const std::string& user, const std::string& password) const {
  rt::ClientOptions o;
  o.base_url = url;
  // A password opens a session (one slow login, then fast requests); the
  // token is the fallback when the password is unknown.
  if (std::string file = TokenFile(user); password.empty() && !file.empty()) {
    o.auth.token = ReadFirstLine(file);
  } else {
    o.auth.user = user;
    o.auth.password = password;
  }
  o.http.request_timeout = std::chrono::seconds(60);
  return Ok(rt::Client::Create(std::move(o)));
}

std::optional<Peer> PeerFromEnv() {
  const bool required = Env("DESKBOT_REQUIRE_RT") == "1";
  Peer peer;
  peer.url = Env("DESKBOT_RT_URL");
  peer.state_dir = Env("DESKBOT_RT_STATE_DIR", "/var/lib/rt5-peer");
  if (peer.url.empty()) {
    if (required) FAIL("DESKBOT_REQUIRE_RT=1 but DESKBOT_RT_URL is not set");
    WARN("DESKBOT_RT_URL is not set: skipping the RT integration test "
         "(deploy/setup.sh test starts the RT peer and sets it)");
    std::fprintf(stderr, "WARN: DESKBOT_RT_URL is not set: RT integration test skipped\n");
    return std::nullopt;
  }
  auto version = peer.As("root", "password")->Version();
  if (!version.ok()) {
    if (required) FAIL("RT at " + peer.url + " is required but unreachable: " + version.status().ToString());
    WARN("RT at " + peer.url + " is unreachable, skipping: " + version.status().ToString());
    std::fprintf(stderr, "WARN: RT at %s is unreachable: RT integration test skipped\n", peer.url.c_str());
    return std::nullopt;
  }
  return peer;
}

Fixture MakeFixture(const Peer& peer, const std::string& tag) {
  Fixture f;
  std::mt19937 rng{std::random_device{}()};
  f.prefix = "dkit-" + tag + "-" + std::to_string(std::time(nullptr)) + "-" + std::to_string(getpid()) + "-" +
             std::to_string(rng() % 100000);
  auto carol = peer.As("carol", "carolpass");
  auto alice = peer.As("alice", "alicepass");
  auto root = peer.As("root", "password");

  auto ask = [&](const std::string& subject, const std::string& body) {
    rt::NewTicket t;
    t.queue = "Helpdesk";
    t.subject = "[" + f.prefix + "] " + subject;
    t.requestor = "carol@customer.test";
    t.content = body;
    return Ok(carol->CreateTicket(t));
  };

  f.plain = ask("VPN drops every 10 minutes",
                "Hi,\n\nmy VPN connection drops every ten minutes since Monday.\n\nCarol");
  Ok(alice->Take(f.plain));
  Ok(alice->Correspond(f.plain, "Hello Carol,\n\nplease update the VPN client to 5.2; the old one has a keep-alive bug.\n\nAlice"));
  Ok(alice->SetStatus(f.plain, "resolved"));

  f.commented = ask("Printer prints blank pages", "The printer on the 3rd floor prints blank pages.");
  Ok(alice->Comment(f.commented, "internal: toner cartridge B is empty, ordered a new one"));
  Ok(alice->Correspond(f.commented, "Hi Carol, the toner was empty; it has been replaced.", "text/plain", "resolved"));

  f.html = ask("Guest Wi-Fi password", "What is the password for the guest Wi-Fi in building B?");
  Ok(alice->Correspond(f.html,
                       "<p>Hi Carol,</p><p>the guest network <b>GUEST-B</b> uses a daily password shown at the "
                       "reception.</p><p>-- <br>Alice Agent | IT Service Desk | ext. 4471</p>",
                       "text/html", "resolved"));

  f.personal = ask("Cannot log in to payroll",
                   "Hello,\n\nI cannot log in to payroll. Call me at +49 30 1234567 or write to "
                   "carol.private@example.org.\n\nCarol Customer");
  Ok(alice->Correspond(f.personal, "Hi Carol, your account was locked; I unlocked it.", "text/plain", "resolved"));
  Ok(carol->Correspond(f.personal, "Thanks, that fixed it!"));   // RT reopens the ticket
  Ok(alice->SetStatus(f.personal, "resolved"));

  rt::NewTicket behalf;
  behalf.queue = "Helpdesk";
  behalf.subject = "[" + f.prefix + "] Monitor flickers";
  behalf.requestor = "dave@customer.test";
  behalf.content = "Dave called: his second monitor flickers.";
  f.on_behalf = Ok(root->CreateTicket(behalf));
  Ok(root->Correspond(f.on_behalf, "Hi Dave, a new DisplayPort cable is on your desk.", "text/plain", "resolved"));

  f.open = ask("Keyboard missing keys", "Two keys came off my keyboard.");
  Ok(alice->Take(f.open));
  return f;
}

void DeleteFixture(const Peer& peer, const Fixture& f) {
  auto root = peer.As("root", "password");
  for (std::int64_t id : {f.plain, f.commented, f.html, f.personal, f.on_behalf, f.open})
    if (id != 0) Ok(root->DeleteTicket(id));
}

}  // namespace rt_it
