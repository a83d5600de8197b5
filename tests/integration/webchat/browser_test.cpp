// The web chat in a real browser: headless Chromium, driven through
// chromedriver's W3C WebDriver API, asks a question, approves it on the
// agent page with a real click, and sees the answer on the asker's page.
//
// Skipped with a warning when chromium or chromedriver is missing, unless
// DESKBOT_REQUIRE_CHROMIUM=1 (deploy/setup.sh test installs both).
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdlib>
#include <filesystem>

#include "tests/integration/webchat/harness.h"
#include "tests/integration/webchat/process.h"

using namespace deskbot::testing;

namespace {

constexpr const char* kElementKey = "element-6066-11e4-a52e-4f735466cecf";

std::string FindProgram(std::initializer_list<const char*> names) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (const char* name : names) {
    std::size_t start = 0;
    while (start <= dirs.size()) {
      std::size_t end = dirs.find(':', start);
      if (end == std::string::npos) end = dirs.size();
      std::filesystem::path p = std::filesystem::path(dirs.substr(start, end - start)) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
      start = end + 1;
    }
  }
  return "";
}

// A port nobody listens on right now (chromedriver needs one up front).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

// A WebDriver session over chromedriver's HTTP API.
class Browser {
 public:
  Browser(Api& driver, const std::string& chromium, const std::string& profile_dir) : driver_(driver) {
    json caps = {{"capabilities",
                  {{"alwaysMatch",
                    {{"browserName", "chrome"},
                     {"goog:chromeOptions",
                      {{"binary", chromium},
                       {"args",
                        {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                         "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage", "--user-data-dir=" + profile_dir}}}}}}}}};
    Reply r = driver_.Post("/session", caps);
    INFO("new session: " << r.status << " " << r.text);
    REQUIRE(r.status == 200);
    session_ = "/session/" + r.body["value"]["sessionId"].get<std::string>();
  }
  ~Browser() { driver_.Send("DELETE", session_); }

  void Go(const std::string& url) {
    Reply r = driver_.Post(session_ + "/url", {{"url", url}});
    INFO(r.text);
    REQUIRE(r.status == 200);
  }
  // The element matching `css`, waiting for it to appear.
  std::string Find(const std::string& css, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::string id;
    Eventually(
        [&] {
          Reply r = driver_.Post(session_ + "/element", {{"using", "css selector"}, {"value", css}});
          if (r.status != 200) return false;
          id = r.body["value"][kElementKey].get<std::string>();
          return true;
        },
        timeout);
    INFO("waiting for " << css << "; page:\n" << Source());
    REQUIRE(!id.empty());
    return id;
  }
  void Click(const std::string& element) {
    Reply r = driver_.Post(session_ + "/element/" + element + "/click", json::object());
    INFO(r.text);
    REQUIRE(r.status == 200);
  }
  void Type(const std::string& element, const std::string& text) {
    Reply r = driver_.Post(session_ + "/element/" + element + "/value", {{"text", text}});
    INFO(r.text);
    REQUIRE(r.status == 200);
  }
  std::string Text(const std::string& element) {
    Reply r = driver_.Get(session_ + "/element/" + element + "/text");
    return r.status == 200 ? r.body["value"].get<std::string>() : std::string();
  }
  std::string Source() {
    Reply r = driver_.Get(session_ + "/source");
    return r.status == 200 ? r.body["value"].get<std::string>() : r.text;
  }

 private:
  Api& driver_;
  std::string session_;
};

}  // namespace

TEST_CASE("web chat in Chromium: ask, approve with a click, see the answer",
          "[integration][webchat][browser]") {
  const std::string chromium = FindProgram({"chromium", "chromium-browser", "google-chrome"});
  const std::string chromedriver = FindProgram({"chromedriver"});
  if (chromium.empty() || chromedriver.empty()) {
    const char* require = std::getenv("DESKBOT_REQUIRE_CHROMIUM");
    if (require != nullptr && std::string(require) == "1")
      FAIL("DESKBOT_REQUIRE_CHROMIUM=1 but chromium/chromedriver is missing (apt-get install chromium chromium-driver)");
    WARN("SKIPPED: chromium or chromedriver not found; install chromium and chromium-driver");
    return;
  }

  WebChatServer server;
  TempDir dir;
  const int driver_port = FreePort();
  Process driver({chromedriver, "--port=" + std::to_string(driver_port), "--allowed-ips=127.0.0.1"},
                 {}, dir.File("chromedriver.out"), dir.File("chromedriver.err"));
  REQUIRE(driver.started());
  Api webdriver("http://127.0.0.1:" + std::to_string(driver_port));
  REQUIRE(Eventually([&] { return webdriver.Get("/status").body["value"]["ready"] == true; },
                     std::chrono::seconds(20)));

  std::filesystem::create_directories(dir.path() / "profile");
  {
    Browser browser(webdriver, chromium, (dir.path() / "profile").string());
    const std::string base = server.base();

    // The asker.
    browser.Go(base + "/");
    const std::string question = browser.Find("#question");
    browser.Type(question, "My VPN keeps disconnecting every hour");
    browser.Click(browser.Find("#ask-button"));
    const std::string asked = browser.Find(".msg.question");
    CHECK_THAT(browser.Text(asked), Catch::Contains("My VPN keeps disconnecting every hour"));

    // An agent approves it on the agent page.
    browser.Go(base + "/?agent=alice");
    const std::string card = browser.Find("article.suggestion");
    const std::string card_text = browser.Text(card);
    CHECK_THAT(card_text, Catch::Contains("My VPN keeps disconnecting every hour"));
    CHECK_THAT(card_text, Catch::Contains("Restart the VPN client"));
    CHECK_THAT(card_text, Catch::Contains("Confidence 92%"));
    CHECK_THAT(card_text, Catch::Contains("rt #T-vpn"));
    browser.Click(browser.Find("article.suggestion button.approve"));
    REQUIRE(Eventually([&] {
      auto s = server.store().CountChatQueues();
      return s.ok() && s->suggestions[static_cast<int>(deskbot::SuggestionState::kApproved)] == 1;
    }));

    // Back on the asker's page (the conversation is remembered), the answer.
    browser.Go(base + "/");
    const std::string answer = browser.Find(".msg.answer");
    CHECK_THAT(browser.Text(answer), Catch::Contains("Restart the VPN client and sign in again"));
  }
  driver.Stop(SIGTERM);
}
