// The fake Slack. Compiled as C++17 because of websocketpp 0.8.2 (see
// connectors/slack/CMakeLists.txt). The Web API runs on conn_http_server;
// Socket Mode on a websocketpp server with its own I/O thread.
#include "tests/support/slack/fake_slack.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/server.hpp>

#include "connectors/http/server.h"
#include "connectors/slack/blocks.h"
#include "connectors/slack/events.h"

namespace slack_fake {

using json = nlohmann::json;
using util::Status;
namespace net = boost::asio;
using WsServer = websocketpp::server<websocketpp::config::asio>;
using http::server::Request;
using http::server::Response;

namespace {

struct Injected {
  std::string method;  // or "*"
  int status = 200;
  std::string body;
  std::string retry_after;
  std::string error;   // non-empty: ok:false with this error
};

json SlackError(const std::string& error, const std::vector<std::string>& messages = {}) {
  json j = {{"ok", false}, {"error", error}};
  if (!messages.empty()) j["response_metadata"] = {{"messages", messages}};
  return j;
}

std::string Param(const json& p, const char* key) {
  auto it = p.find(key);
  if (it == p.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// Form bodies carry JSON fields (blocks, view) as strings.
json JsonField(const json& p, const char* key) {
  auto it = p.find(key);
  if (it == p.end()) return json();
  if (it->is_string()) return json::parse(it->get<std::string>(), nullptr, false);
  return *it;
}

}  // namespace

class FakeSlack::Impl {
 public:
  explicit Impl(FakeSlackOptions options) : opt_(std::move(options)) {}
  ~Impl() { Stop(); }

  Status Start() {
    router_.AddPrefix("POST", "/api/", [this](const Request& r) { return HandleApi(r); });
    http::server::ServerOptions sopt;
    sopt.threads = 2;
    http_ = std::make_unique<http::server::Server>(sopt, router_.AsHandler());
    DESK_RETURN_IF_ERROR(http_->Start());

    ws_.clear_access_channels(websocketpp::log::alevel::all);
    ws_.clear_error_channels(websocketpp::log::elevel::all);
    ws_.init_asio(&ioc_);
    ws_.set_reuse_addr(true);
    ws_.set_validate_handler([this](websocketpp::connection_hdl h) { return Validate(h); });
    ws_.set_open_handler([this](websocketpp::connection_hdl h) { OnOpen(h); });
    ws_.set_close_handler([this](websocketpp::connection_hdl h) { OnGone(h); });
    ws_.set_fail_handler([this](websocketpp::connection_hdl h) { OnGone(h); });
    ws_.set_ping_handler([this](websocketpp::connection_hdl, std::string) { return opt_.answer_pings; });
    ws_.set_message_handler([this](websocketpp::connection_hdl h, WsServer::message_ptr m) {
      OnMessage(h, m->get_payload());
    });
    std::error_code ec;
    ws_.listen(net::ip::tcp::endpoint(net::ip::address_v4::loopback(), 0), ec);
    if (!ec) ws_.start_accept(ec);
    if (ec) return Status::IOError("fake slack: websocket listen: " + ec.message());
    boost::system::error_code bec;
    ws_port_ = ws_.get_local_endpoint(bec).port();
    ws_thread_ = std::thread([this] { ioc_.run(); });
    started_ = true;
    return Status::OK();
  }

  void Stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    http_->Stop();
    net::post(ioc_, [this] {
      std::error_code ec;
      ws_.stop_listening(ec);
      std::vector<websocketpp::connection_hdl> all;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [id, h] : sockets_) all.push_back(h);
      }
      for (auto& h : all) ws_.close(h, websocketpp::close::status::going_away, "fake slack stopping", ec);
    });
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(2), [this] { return sockets_.empty(); });
    }
    ioc_.stop();
    ws_thread_.join();
  }

  std::string api_base_url() const {
    return "http://127.0.0.1:" + std::to_string(http_->port()) + "/api";
  }

  // ------------------------------------------------------------ Web API

  Response HandleApi(const Request& r) {
    RecordedCall call;
    call.method = r.path.substr(5);
    call.authorization = r.headers.Get("Authorization");
    call.content_type = r.headers.Get("Content-Type");
    call.body = r.body;
    json params = Params(r);
    call.params_json = params.is_object() ? params.dump() : "";
    Response res = Dispatch(call.method, call.authorization, params);
    call.status = res.status;
    call.response = res.body;
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(call));
    cv_.notify_all();
    return res;
  }

  json Params(const Request& r) {
    json p = json::object();
    if (r.headers.Get("Content-Type").rfind("application/json", 0) == 0) {
      p = json::parse(r.body, nullptr, false);
      return p.is_object() ? p : json();
    }
    for (std::string_view part : {std::string_view(r.query), std::string_view(r.body)}) {
      auto form = slack::ParseForm(part);
      if (!form.ok()) return json();
      for (auto& [k, v] : *form) p[k] = v;
    }
    return p;
  }

  Response Dispatch(const std::string& method, const std::string& auth, const json& params) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = injected_.begin(); it != injected_.end(); ++it) {
        if (it->method != "*" && it->method != method) continue;
        Injected inj = *it;
        injected_.erase(it);
        if (!inj.error.empty()) return Response::Json(200, SlackError(inj.error).dump());
        Response res = Response::Json(inj.status, inj.body);
        if (!inj.retry_after.empty()) res.headers.Set("Retry-After", inj.retry_after);
        return res;
      }
    }
    static const std::set<std::string> kMethods = {"chat.postMessage", "chat.update",
                                                   "chat.postEphemeral", "views.open",
                                                   "auth.test", "apps.connections.open"};
    if (!kMethods.count(method)) return Response::Json(404, SlackError("unknown_method").dump());
    if (auth.rfind("Bearer ", 0) != 0) return Ok(SlackError("not_authed"));
    std::string token = auth.substr(7);
    bool wants_app = method == "apps.connections.open";
    const std::string& want = wants_app ? opt_.app_token : opt_.bot_token;
    const std::string& other = wants_app ? opt_.bot_token : opt_.app_token;
    if (token != want) return Ok(SlackError(token == other ? "not_allowed_token_type" : "invalid_auth"));
    if (!params.is_object()) return Ok(SlackError("invalid_json"));

    if (method == "auth.test") {
      return Ok({{"ok", true}, {"url", "https://" + opt_.team + ".slack.com/"}, {"team", opt_.team},
                 {"user", "deskbot"}, {"team_id", opt_.team_id}, {"user_id", opt_.bot_user_id},
                 {"bot_id", opt_.bot_id}, {"is_enterprise_install", false}});
    }
    if (method == "apps.connections.open") {
      std::lock_guard<std::mutex> lock(mu_);
      std::string ticket = std::to_string(next_ticket_++);
      tickets_.insert(ticket);
      return Ok({{"ok", true},
                 {"url", "ws://127.0.0.1:" + std::to_string(ws_port_) + "/link/?ticket=" + ticket +
                             "&app_id=" + opt_.app_id}});
    }
    if (method == "views.open") return ViewsOpen(params);
    return ChatMethod(method, params);
  }

  static Response Ok(const json& body) { return Response::Json(200, body.dump()); }

  // The checks Slack makes on a message's text and blocks.
  std::optional<json> CheckMessage(const json& p) {
    json blocks = JsonField(p, "blocks");
    bool has_blocks = p.contains("blocks");
    if (has_blocks) {
      Status st = blocks.is_discarded() ? Status::InvalidArgument("blocks: not JSON")
                                        : slack::ValidateBlocks(blocks.dump());
      if (!st.ok()) return SlackError("invalid_blocks", {"[ERROR] " + st.message()});
    }
    std::string text = Param(p, "text");
    if (text.empty() && !has_blocks) return SlackError("no_text");
    if (slack::CountChars(text) > 40000) return SlackError("msg_too_long");
    return std::nullopt;
  }

  Response ChatMethod(const std::string& method, const json& p) {
    std::string channel = Param(p, "channel");
    if (channel.empty()) return Ok(SlackError("channel_not_found"));
    if (method == "chat.postEphemeral" && Param(p, "user").empty()) {
      return Ok(SlackError("user_not_in_channel"));
    }
    if (auto bad = CheckMessage(p)) return Ok(*bad);
    std::lock_guard<std::mutex> lock(mu_);
    if (method == "chat.update") {
      std::string ts = Param(p, "ts");
      auto it = messages_.find({channel, ts});
      if (ts.empty() || it == messages_.end()) return Ok(SlackError("message_not_found"));
      it->second = Param(p, "text");
      return Ok({{"ok", true}, {"channel", channel}, {"ts", ts}, {"text", it->second}});
    }
    std::string ts = "1767326200." + std::to_string(100000 + next_ts_++);
    if (method == "chat.postEphemeral") return Ok({{"ok", true}, {"message_ts", ts}});
    messages_[{channel, ts}] = Param(p, "text");
    json message = {{"type", "message"}, {"subtype", "bot_message"}, {"text", Param(p, "text")},
                    {"user", opt_.bot_user_id}, {"bot_id", opt_.bot_id}, {"ts", ts}};
    if (p.contains("thread_ts")) message["thread_ts"] = Param(p, "thread_ts");
    if (p.contains("blocks")) message["blocks"] = JsonField(p, "blocks");
    return Ok({{"ok", true}, {"channel", channel}, {"ts", ts}, {"message", message}});
  }

  Response ViewsOpen(const json& p) {
    std::vector<std::string> errors;
    if (Param(p, "trigger_id").empty()) errors.push_back("[ERROR] missing required field: trigger_id");
    json view = JsonField(p, "view");
    if (!view.is_object()) {
      errors.push_back("[ERROR] missing required field: view");
    } else {
      if (view.value("type", "") != "modal") errors.push_back("[ERROR] missing required field: type [json-pointer:/view]");
      if (!view.contains("title") || !view["title"].is_object()) errors.push_back("[ERROR] missing required field: title [json-pointer:/view]");
      if (view.contains("private_metadata") &&
          (!view["private_metadata"].is_string() || view["private_metadata"].get<std::string>().size() > 3000)) {
        errors.push_back("[ERROR] must be a string of at most 3000 characters [json-pointer:/view/private_metadata]");
      }
      Status st = view.contains("blocks") ? slack::ValidateBlocks(view["blocks"].dump(), 100)
                                          : Status::InvalidArgument("missing required field: blocks");
      if (!st.ok()) errors.push_back("[ERROR] " + st.message() + " [json-pointer:/view/blocks]");
    }
    if (!errors.empty()) return Ok(SlackError("invalid_arguments", errors));
    std::lock_guard<std::mutex> lock(mu_);
    view["id"] = "V" + std::to_string(1000 + next_view_++);
    view["state"] = {{"values", json::object()}};
    return Ok({{"ok", true}, {"view", view}});
  }

  // ------------------------------------------------------------ Socket Mode

  bool Validate(websocketpp::connection_hdl h) {
    auto con = ws_.get_con_from_hdl(h);
    std::string resource = con->get_resource();
    size_t at = resource.find("ticket=");
    std::string ticket = at == std::string::npos ? "" : resource.substr(at + 7);
    ticket = ticket.substr(0, ticket.find('&'));
    std::lock_guard<std::mutex> lock(mu_);
    if (tickets_.erase(ticket) == 0) {  // unknown or already used
      con->set_status(websocketpp::http::status_code::forbidden);
      return false;
    }
    return true;
  }

  void OnOpen(websocketpp::connection_hdl h) {
    uint64_t id;
    int open;
    {
      std::lock_guard<std::mutex> lock(mu_);
      id = next_socket_++;
      sockets_[id] = h;
      ids_[ws_.get_con_from_hdl(h).get()] = id;
      ++accepted_;
      open = static_cast<int>(sockets_.size());
      max_open_ = std::max(max_open_, open);
    }
    if (opt_.send_hello) {
      json hello = {{"type", "hello"}, {"num_connections", open},
                    {"debug_info", {{"host", "fake-slack"}, {"build_number", 1},
                                    {"approximate_connection_time", 18060}}},
                    {"connection_info", {{"app_id", opt_.app_id}}}};
      std::error_code ec;
      ws_.send(h, hello.dump(), websocketpp::frame::opcode::text, ec);
    }
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }

  void OnGone(websocketpp::connection_hdl h) {
    std::error_code ec;
    auto con = ws_.get_con_from_hdl(h, ec);
    if (ec) return;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ids_.find(con.get());
    if (it == ids_.end()) return;
    sockets_.erase(it->second);
    ids_.erase(it);
    cv_.notify_all();
  }

  void OnMessage(websocketpp::connection_hdl h, const std::string& text) {
    json j = json::parse(text, nullptr, false);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ids_.find(ws_.get_con_from_hdl(h).get());
    RecordedAck ack;
    ack.socket = it == ids_.end() ? 0 : it->second;
    ack.raw = text;
    if (j.is_object() && j.contains("envelope_id") && j["envelope_id"].is_string()) {
      ack.envelope_id = j["envelope_id"].get<std::string>();
      if (j.contains("payload")) ack.payload_json = j["payload"].dump();
    }
    acks_.push_back(std::move(ack));
    cv_.notify_all();
  }

  // Runs `fn(handle)` on the WebSocket thread and waits for its Status.
  template <typename Fn>
  Status OnSocket(uint64_t id, Fn fn) {
    auto done = std::make_shared<std::promise<Status>>();
    auto result = done->get_future();
    net::post(ioc_, [this, id, fn, done] {
      websocketpp::connection_hdl h;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = sockets_.find(id);
        if (it == sockets_.end()) return done->set_value(Status::NotFound("fake slack: no socket " + std::to_string(id)));
        h = it->second;
      }
      done->set_value(fn(h));
    });
    return result.get();
  }

  Status SendFrame(uint64_t id, std::string text) {
    return OnSocket(id, [this, text](websocketpp::connection_hdl h) {
      std::error_code ec;
      ws_.send(h, text, websocketpp::frame::opcode::text, ec);
      return ec ? Status::IOError("fake slack: send: " + ec.message()) : Status::OK();
    });
  }

  void DropSocket(uint64_t id) {
    OnSocket(id, [this](websocketpp::connection_hdl h) {
      std::error_code ec;
      auto con = ws_.get_con_from_hdl(h, ec);
      if (ec) return Status::OK();
      boost::system::error_code bec;
      con->get_raw_socket().shutdown(net::ip::tcp::socket::shutdown_both, bec);
      return Status::OK();
    });
  }

  FakeSlackOptions opt_;
  http::server::Router router_;
  std::unique_ptr<http::server::Server> http_;
  net::io_context ioc_;
  WsServer ws_;
  std::thread ws_thread_;
  uint16_t ws_port_ = 0;
  bool started_ = false, stopped_ = false;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<RecordedCall> calls_;
  std::deque<Injected> injected_;
  std::map<std::pair<std::string, std::string>, std::string> messages_;
  uint64_t next_ts_ = 1, next_ticket_ = 1, next_view_ = 1;
  std::set<std::string> tickets_;
  std::map<uint64_t, websocketpp::connection_hdl> sockets_;
  std::map<const void*, uint64_t> ids_;
  uint64_t next_socket_ = 1, accepted_ = 0;
  int max_open_ = 0;
  std::vector<RecordedAck> acks_;

  friend class FakeSlack;
};

FakeSlack::FakeSlack(FakeSlackOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
FakeSlack::~FakeSlack() = default;
Status FakeSlack::Start() { return impl_->Start(); }
void FakeSlack::Stop() { impl_->Stop(); }
const std::string& FakeSlack::bot_token() const { return impl_->opt_.bot_token; }
const std::string& FakeSlack::app_token() const { return impl_->opt_.app_token; }
std::string FakeSlack::api_base_url() const { return impl_->api_base_url(); }

std::vector<RecordedCall> FakeSlack::calls(std::string_view method) const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  std::vector<RecordedCall> out;
  for (const auto& c : impl_->calls_) {
    if (method.empty() || c.method == method) out.push_back(c);
  }
  return out;
}

bool FakeSlack::WaitForCalls(std::string_view method, size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  return impl_->cv_.wait_for(lock, timeout, [&] {
    size_t k = 0;
    for (const auto& c : impl_->calls_) k += method.empty() || c.method == method;
    return k >= n;
  });
}

void FakeSlack::FailNextHttp(std::string method, int status, std::string body, std::string retry_after) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->injected_.push_back({std::move(method), status, std::move(body), std::move(retry_after), ""});
}

void FakeSlack::FailNextWithError(std::string method, std::string error) {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->injected_.push_back({std::move(method), 200, "", "", std::move(error)});
}

int FakeSlack::open_sockets() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return static_cast<int>(impl_->sockets_.size());
}

uint64_t FakeSlack::sockets_accepted() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->accepted_;
}

int FakeSlack::max_open_sockets() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->max_open_;
}

std::vector<uint64_t> FakeSlack::socket_ids() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  std::vector<uint64_t> ids;
  for (const auto& [id, h] : impl_->sockets_) ids.push_back(id);
  return ids;
}

bool FakeSlack::WaitForSockets(int n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  return impl_->cv_.wait_for(lock, timeout, [&] { return static_cast<int>(impl_->sockets_.size()) >= n; });
}

Status FakeSlack::SendFrame(uint64_t socket, std::string text) {
  return impl_->SendFrame(socket, std::move(text));
}

Status FakeSlack::SendDisconnect(uint64_t socket, std::string reason) {
  json frame = {{"type", "disconnect"}, {"reason", reason}, {"debug_info", {{"host", "fake-slack"}}}};
  return impl_->SendFrame(socket, frame.dump());
}

void FakeSlack::DropSocket(uint64_t socket) { impl_->DropSocket(socket); }

std::vector<RecordedAck> FakeSlack::acks() const {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  return impl_->acks_;
}

bool FakeSlack::WaitForAcks(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(impl_->mu_);
  return impl_->cv_.wait_for(lock, timeout, [&] { return impl_->acks_.size() >= n; });
}

}  // namespace slack_fake
