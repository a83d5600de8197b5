// Drives the web chat's JSON API over real HTTP, for the integration tests.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "bot/chat/webchat.h"
#include "bot/service/service.h"
#include "bot/store/sqlite_store.h"
#include "connectors/http/client.h"
#include "tests/unit/service/fakes.h"
#include "tests/unit/store/temp_dir.h"

namespace deskbot::testing {

using nlohmann::json;

struct Reply {
  int status = 0;
  json body;
  std::string text;
};

class Api {
 public:
  explicit Api(std::string base) : base_(std::move(base)) {
    http::ClientOptions o;
    o.request_timeout = std::chrono::seconds(15);
    o.retry.max_attempts = 1;
    client_ = std::move(http::Client::Create(o)).value();
  }
  void set_base(std::string base) { base_ = std::move(base); }

  Reply Send(const std::string& method, const std::string& path, const std::string& body = "",
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::Request req;
    req.method = method;
    req.url = base_ + path;
    req.body = body;
    req.fail_on_http_error = false;
    if (!body.empty()) req.headers.Set("Content-Type", "application/json");
    for (const auto& [k, v] : headers) req.headers.Set(k, v);
    auto r = client_->Send(req);
    Reply out;
    if (!r.ok()) {
      out.text = r.status().ToString();
      return out;
    }
    out.status = r->status;
    out.text = r->body;
    out.body = json::parse(r->body, nullptr, false);
    return out;
  }
  Reply Get(const std::string& path) { return Send("GET", path); }
  Reply Post(const std::string& path, const json& body,
             const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return Send("POST", path, body.dump(), headers);
  }

 private:
  std::string base_;
  std::unique_ptr<http::Client> client_;
};

// Polls `fn` until it returns true or `timeout` passes.
inline bool Eventually(const std::function<bool()>& fn,
                       std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fn()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return fn();
}

inline std::shared_ptr<AnswerModel> SmallModel() {
  return std::make_shared<KeywordModel>(
      std::map<std::string, std::string>{
          {"vpn", "Restart the VPN client and sign in again with your SSO account."},
          {"password", "Reset it at https://id.example.com/reset; the link is valid for 15 minutes."}},
      "kw-1");
}

// deskbot's service with the web chat, in this process, on an ephemeral port.
class WebChatServer {
 public:
  explicit WebChatServer(std::string agent_token = "", std::shared_ptr<AnswerModel> model = SmallModel()) {
    auto s = SqliteStore::Open(dir_.File("deskbot.db"));
    REQUIRE(s.ok());
    store_ = std::move(s).value();
    service::ServiceOptions o;
    o.port = 0;
    o.max_body_bytes = 64 << 10;
    o.workers.poll = std::chrono::milliseconds(100);
    o.outbox.poll = std::chrono::milliseconds(100);
    o.outbox.backoff_base = std::chrono::milliseconds(20);
    const service::AgentCheck is_agent = service::AgentIds({"alice", "bob"});
    o.workflow.is_agent = is_agent;
    service::ServiceDeps deps;
    deps.store = store_.get();
    deps.load_model = [model]() -> util::Result<service::ModelSlot::Loaded> {
      return service::ModelSlot::Loaded{model, model ? "kw-1" : ""};
    };
    service_ = std::make_unique<service::Service>(o, deps);
    chat::WebChatOptions w;
    w.is_agent = [is_agent](const std::string& u) { return is_agent("webchat", u); };
    w.agent_token = std::move(agent_token);
    webchat_ = std::make_unique<chat::WebChat>(*store_, service_->inbox(), w);
    service_->AddConnector(*webchat_, webchat_->Routes());
    REQUIRE(service_->Start().ok());
  }
  ~WebChatServer() { service_->Stop(); }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(service_->port()); }
  SqliteStore& store() { return *store_; }
  service::Service& service() { return *service_; }

 private:
  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<service::Service> service_;
  std::unique_ptr<chat::WebChat> webchat_;
};

}  // namespace deskbot::testing
