// Socket Mode client. Compiled as C++17: websocketpp 0.8.2's headers use
// constructor template-ids that C++20 forbids (see CMakeLists.txt).
//
// Threads: one I/O thread runs every websocketpp connection, timers and the
// envelope handler; one supervisor thread calls the (blocking) connection
// opener and decides when each slot reconnects. Slot and connection state is
// guarded by mu_; websocketpp objects are touched only on the I/O thread.
#include "connectors/slack/socket_mode.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_client.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>

namespace slack {

namespace {

namespace net = boost::asio;
using TlsClient = websocketpp::client<websocketpp::config::asio_tls_client>;
using PlainClient = websocketpp::client<websocketpp::config::asio_client>;
using Clock = std::chrono::steady_clock;
using util::Status;

// One WebSocket. Its websocketpp calls are type-erased so plain and TLS
// sockets share the bookkeeping.
struct Conn {
  uint64_t id = 0;
  int slot = 0;
  bool hello = false;
  bool closed = false;
  bool retired = false;  // replaced or refused: its close needs no reconnect
  bool awaiting_pong = false;  // a ping is out; websocketpp times it
  std::function<std::error_code(const std::string&)> send;
  std::function<void(uint16_t, const std::string&)> close;
  std::function<void()> ping;
  std::unique_ptr<net::steady_timer> hello_timer;
};

// One of the `connections` sockets the client keeps.
struct Slot {
  std::shared_ptr<Conn> active;   // said hello
  std::shared_ptr<Conn> pending;  // connecting or waiting for hello
  bool want_new = true;           // the supervisor should open one at next_attempt
  bool opening = false;           // the supervisor is getting a URL / connecting
  int failures = 0;               // consecutive, for the backoff
  Clock::time_point next_attempt{};
};

}  // namespace

std::chrono::milliseconds ReconnectDelay(const SocketModeOptions& options, int failures,
                                         double random01) {
  double ms = static_cast<double>(options.reconnect_initial.count());
  for (int i = 1; i < failures && ms < options.reconnect_max.count(); ++i) ms *= 2;
  ms = std::min(ms, static_cast<double>(options.reconnect_max.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(ms * (0.5 + 0.5 * random01)));
}

class SocketModeClient::Impl {
 public:
  Impl(SocketModeOptions options, ConnectionOpener opener, EnvelopeHandler handler)
      : opt_(std::move(options)),
        opener_(std::move(opener)),
        handler_(std::move(handler)),
        ping_timer_(ioc_),
        rng_(std::random_device{}()) {
    opt_.connections = std::max(1, opt_.connections);
  }

  ~Impl() { Stop(); }

  Status Start() {
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) return Status::Internal("slack socket mode: already started");
    if (!opener_ || !handler_) return Status::InvalidArgument("slack socket mode: opener and handler are required");
    SetUpEndpoint(plain_);
    SetUpEndpoint(tls_);
    tls_.set_tls_init_handler([this](websocketpp::connection_hdl hdl) { return MakeTlsContext(hdl); });
    slots_.assign(opt_.connections, Slot{});
    work_.emplace(net::make_work_guard(ioc_));
    started_ = true;
    io_thread_ = std::thread([this] { ioc_.run(); });
    supervisor_ = std::thread([this] { SupervisorLoop(); });
    net::post(ioc_, [this] { SchedulePing(); });
    return Status::OK();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!started_ || stopped_) return;
      stopped_ = true;
      stopping_ = true;
      cv_.notify_all();
    }
    if (supervisor_.joinable()) supervisor_.join();
    net::post(ioc_, [this] {
      ping_timer_.cancel();
      CloseAll(websocketpp::close::status::going_away, "client stopping");
    });
    {
      // Give the close handshakes a moment; a dead peer must not hold us up.
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(3), [this] { return conns_.empty(); });
      if (!finished_) {
        finished_ = true;
        final_ = Status::OK();
      }
      cv_.notify_all();
    }
    work_.reset();
    ioc_.stop();
    if (io_thread_.joinable()) io_thread_.join();
  }

  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return finished_ || stopped_; });
    return final_;
  }

  bool WaitForConnections(int n, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return OpenCountLocked() >= n; });
  }

  SocketModeStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    SocketModeStats s = stats_;
    s.open_connections = OpenCountLocked();
    return s;
  }

 private:
  template <typename Endpoint>
  void SetUpEndpoint(Endpoint& ep) {
    // websocketpp's own logs can print URLs, which carry a ticket: keep them off.
    ep.clear_access_channels(websocketpp::log::alevel::all);
    ep.clear_error_channels(websocketpp::log::elevel::all);
    ep.init_asio(&ioc_);
    ep.set_max_message_size(opt_.max_message_bytes);
  }

  std::shared_ptr<net::ssl::context> MakeTlsContext(websocketpp::connection_hdl hdl) {
    auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_client);
    boost::system::error_code ec;
    ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                         net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                         net::ssl::context::no_tlsv1_1,
                     ec);
    ctx->set_verify_mode(net::ssl::verify_peer, ec);
    if (opt_.ca_file.empty()) ctx->set_default_verify_paths(ec);
    else ctx->load_verify_file(opt_.ca_file, ec);
    if (ec) spdlog::warn("slack socket mode: TLS trust store: {}", ec.message());
    // websocketpp asks for the context inside get_connection(), before the
    // connection knows its URI, so Connect() leaves the host name here.
    ctx->set_verify_callback(net::ssl::host_name_verification(tls_host_), ec);
    return ctx;
  }

  // ------------------------------------------------------------ supervisor

  void SupervisorLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_ && !finished_) {
      auto now = Clock::now();
      auto wake = now + std::chrono::hours(1);
      int due = -1;
      for (int i = 0; i < static_cast<int>(slots_.size()); ++i) {
        Slot& s = slots_[i];
        if (!s.want_new || s.opening) continue;
        if (s.next_attempt <= now) {
          due = i;
          break;
        }
        wake = std::min(wake, s.next_attempt);
      }
      if (due < 0) {
        cv_.wait_until(lock, wake);
        continue;
      }
      slots_[due].want_new = false;
      slots_[due].opening = true;
      lock.unlock();
      util::Result<std::string> url = opener_();
      lock.lock();
      if (stopping_ || finished_) break;
      Slot& s = slots_[due];
      if (!url.ok()) {
        s.opening = false;
        ++stats_.open_failures;
        if (url.status().code() == Status::Code::kUnauthorized) {
          FinishLocked(url.status().WithContext("slack socket mode"));
          break;
        }
        ScheduleLocked(s, ++s.failures);
        spdlog::warn("slack socket mode: opening connection failed: {}", url.status().ToString());
        continue;
      }
      net::post(ioc_, [this, due, u = std::move(*url)] { Connect(due, u); });
    }
  }

  // Under mu_: the slot opens a new socket after the backoff for `failures`.
  void ScheduleLocked(Slot& s, int failures) {
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    s.want_new = true;
    s.next_attempt = Clock::now() + ReconnectDelay(opt_, failures, uniform(rng_));
    cv_.notify_all();
  }

  void FinishLocked(Status why) {
    if (finished_) return;
    finished_ = true;
    final_ = std::move(why);
    spdlog::error("{}", final_.ToString());
    cv_.notify_all();
    net::post(ioc_, [this] { CloseAll(websocketpp::close::status::normal, "stopping"); });
  }

  int OpenCountLocked() const {
    int n = 0;
    for (const auto& c : conns_) n += c->hello && !c->closed;
    return n;
  }

  // ------------------------------------------------------------ I/O thread

  void Connect(int slot, const std::string& url) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || finished_) return;
    }
    auto conn = std::make_shared<Conn>();
    conn->slot = slot;
    std::error_code ec;
    if (url.rfind("wss://", 0) == 0) {
      websocketpp::uri uri(url);
      if (!uri.get_valid()) {
        ec = websocketpp::error::make_error_code(websocketpp::error::invalid_uri);
      } else {
        tls_host_ = uri.get_host();
        ConnectWith(tls_, conn, url, ec);
      }
    }
    else ConnectWith(plain_, conn, url, ec);
    std::lock_guard<std::mutex> lock(mu_);
    Slot& s = slots_[slot];
    s.opening = false;
    if (ec) {
      ++stats_.open_failures;
      spdlog::warn("slack socket mode: cannot connect: {}", ec.message());
      if (!stopping_ && !finished_) ScheduleLocked(s, ++s.failures);
      return;
    }
    conn->id = next_conn_id_++;
    s.pending = conn;
    conns_.insert(conn);
  }

  template <typename Endpoint>
  void ConnectWith(Endpoint& ep, const std::shared_ptr<Conn>& conn, const std::string& url,
                   std::error_code& ec) {
    auto con = ep.get_connection(url, ec);
    if (ec) return;
    std::weak_ptr<Conn> weak = conn;
    con->set_open_handler([this, weak](websocketpp::connection_hdl) {
      if (auto c = weak.lock()) OnOpen(c);
    });
    con->set_message_handler(
        [this, weak](websocketpp::connection_hdl, typename Endpoint::message_ptr msg) {
          auto c = weak.lock();
          if (c && msg->get_opcode() == websocketpp::frame::opcode::text) OnMessage(c, msg->get_payload());
        });
    con->set_close_handler([this, weak, &ep](websocketpp::connection_hdl hdl) {
      std::error_code e;
      auto cp = ep.get_con_from_hdl(hdl, e);
      std::string why = e ? "closed" : "closed with code " + std::to_string(cp->get_remote_close_code());
      if (auto c = weak.lock()) OnClosed(c, why);
    });
    con->set_fail_handler([this, weak, &ep](websocketpp::connection_hdl hdl) {
      std::error_code e;
      auto cp = ep.get_con_from_hdl(hdl, e);
      std::string why = e ? "failed" : "failed: " + cp->get_ec().message();
      if (auto c = weak.lock()) OnClosed(c, why);
    });
    con->set_pong_handler([weak](websocketpp::connection_hdl, std::string) {
      if (auto c = weak.lock()) c->awaiting_pong = false;
    });
    con->set_pong_timeout_handler([this, weak](websocketpp::connection_hdl, std::string) {
      if (auto c = weak.lock()) {
        spdlog::warn("slack socket mode: connection {} missed a pong; reconnecting", c->id);
        c->close(websocketpp::close::status::normal, "pong timeout");
      }
    });
    con->set_pong_timeout(opt_.pong_timeout.count());
    con->set_open_handshake_timeout(opt_.handshake_timeout.count());
    con->set_close_handshake_timeout(2000);
    websocketpp::connection_hdl hdl = con->get_handle();
    conn->send = [&ep, hdl](const std::string& text) {
      std::error_code e;
      ep.send(hdl, text, websocketpp::frame::opcode::text, e);
      return e;
    };
    conn->close = [&ep, hdl](uint16_t code, const std::string& reason) {
      std::error_code e;
      ep.close(hdl, code, reason, e);
    };
    conn->ping = [&ep, hdl] {
      std::error_code e;
      ep.ping(hdl, "", e);
    };
    ep.connect(con);
  }

  void OnOpen(const std::shared_ptr<Conn>& conn) {
    conn->hello_timer = std::make_unique<net::steady_timer>(ioc_, opt_.hello_timeout);
    std::weak_ptr<Conn> weak = conn;
    conn->hello_timer->async_wait([weak](boost::system::error_code ec) {
      auto c = weak.lock();
      if (ec || !c || c->hello || c->closed) return;
      spdlog::warn("slack socket mode: connection {} sent no hello; reconnecting", c->id);
      c->close(websocketpp::close::status::normal, "no hello");
    });
  }

  void OnMessage(const std::shared_ptr<Conn>& conn, const std::string& text) {
    auto frame = ParseSocketFrame(text);
    if (!frame.ok()) {
      spdlog::warn("slack socket mode: ignoring a frame: {}", frame.status().ToString());
      return;
    }
    switch (frame->type) {
      case SocketFrame::Type::kHello: return OnHello(conn);
      case SocketFrame::Type::kDisconnect: return OnDisconnect(conn, frame->reason);
      case SocketFrame::Type::kEnvelope: return OnEnvelope(conn, *frame);
      case SocketFrame::Type::kOther: return;
    }
  }

  void OnHello(const std::shared_ptr<Conn>& conn) {
    std::shared_ptr<Conn> old;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (conn->hello || conn->closed) return;
      conn->hello = true;
      Slot& s = slots_[conn->slot];
      if (s.pending == conn) {
        old = s.active;
        s.active = conn;
        s.pending = nullptr;
      }
      s.failures = 0;
      ++stats_.connections_opened;
      if (old) old->retired = true;
      cv_.notify_all();
    }
    if (conn->hello_timer) conn->hello_timer->cancel();
    // The replacement is up: only now close the socket it replaces.
    if (old && !old->closed) old->close(websocketpp::close::status::normal, "refreshed");
  }

  void OnDisconnect(const std::shared_ptr<Conn>& conn, const std::string& reason) {
    std::unique_lock<std::mutex> lock(mu_);
    Slot& s = slots_[conn->slot];
    if (reason == "link_disabled") {
      FinishLocked(Status::Unauthorized(
          "slack socket mode: link_disabled (Socket Mode was turned off for the app)"));
      return;
    }
    if (reason == "too_many_websockets") {
      // More sockets than Slack allows: drop this one and wait long.
      conn->retired = true;
      if (s.active == conn) s.active = nullptr;
      if (s.pending == conn) s.pending = nullptr;
      ++s.failures;
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      s.want_new = true;
      s.next_attempt = Clock::now() + ReconnectDelay(opt_, 1 << 20, uniform(rng_));
      cv_.notify_all();
      lock.unlock();
      spdlog::warn("slack socket mode: too_many_websockets; backing off");
      conn->close(websocketpp::close::status::normal, "too many websockets");
      return;
    }
    // warning, refresh_requested (and anything new): open the replacement now;
    // the old socket closes when the new one says hello (or when Slack drops it).
    if (!s.pending && !s.opening && !s.want_new && !conn->retired) {
      s.want_new = true;
      s.next_attempt = Clock::now();
      cv_.notify_all();
    }
  }

  void OnEnvelope(const std::shared_ptr<Conn>& conn, const SocketFrame& frame) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!conn->hello) return;  // Slack sends nothing before hello; ack nothing either
      ++stats_.envelopes;
    }
    util::Result<std::string> reply = Status::Internal("handler threw");
    try {
      reply = handler_(frame);
    } catch (const std::exception&) {
      // Keep the exception's text out of logs: it may quote the payload.
    }
    if (!reply.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.handler_failures;
      spdlog::warn("slack socket mode: envelope {} left un-acked: {}", frame.envelope_id,
                   reply.status().ToString());
      return;
    }
    auto ack = BuildSocketAck(frame.envelope_id, *reply);
    if (!ack.ok()) {
      spdlog::warn("slack socket mode: envelope {}: bad ack payload ({}); acking without it",
                   frame.envelope_id, ack.status().ToString());
      ack = BuildSocketAck(frame.envelope_id);
    }
    std::error_code ec = conn->send(*ack);
    std::lock_guard<std::mutex> lock(mu_);
    if (ec) {
      spdlog::warn("slack socket mode: ack for {} not sent: {}", frame.envelope_id, ec.message());
      return;
    }
    ++stats_.acks;
  }

  void OnClosed(const std::shared_ptr<Conn>& conn, const std::string& why) {
    if (conn->hello_timer) conn->hello_timer->cancel();
    std::lock_guard<std::mutex> lock(mu_);
    if (conn->closed) return;
    conn->closed = true;
    conns_.erase(conn);
    cv_.notify_all();
    Slot& s = slots_[conn->slot];
    bool was_pending = s.pending == conn;
    if (s.active == conn) s.active = nullptr;
    if (was_pending) {
      s.pending = nullptr;
      ++stats_.open_failures;
    }
    if (stopping_ || finished_ || conn->retired) return;
    spdlog::info("slack socket mode: connection {} {}", conn->id, why);
    if (s.active || s.pending || s.opening || s.want_new) return;
    ScheduleLocked(s, ++s.failures);
  }

  void CloseAll(uint16_t code, const std::string& reason) {
    std::vector<std::shared_ptr<Conn>> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all.assign(conns_.begin(), conns_.end());
    }
    for (auto& c : all) {
      if (!c->closed) c->close(code, reason);
    }
  }

  void SchedulePing() {
    ping_timer_.expires_after(opt_.ping_interval);
    ping_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      std::vector<std::shared_ptr<Conn>> live;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ || finished_) return;
        for (const auto& c : conns_) {
          if (c->hello && !c->closed) live.push_back(c);
        }
      }
      // A new ping would cancel websocketpp's timer for the one still out, so
      // a peer that never answers must not get another until that one expires.
      for (auto& c : live) {
        if (c->awaiting_pong) continue;
        c->awaiting_pong = true;
        c->ping();
      }
      SchedulePing();
    });
  }

  SocketModeOptions opt_;
  ConnectionOpener opener_;
  EnvelopeHandler handler_;
  net::io_context ioc_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  PlainClient plain_;
  TlsClient tls_;
  std::string tls_host_;  // host of the wss:// connection being created
  net::steady_timer ping_timer_;
  std::thread io_thread_;
  std::thread supervisor_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;
  std::set<std::shared_ptr<Conn>> conns_;  // opened and not yet closed
  std::mt19937 rng_;
  bool started_ = false;
  bool stopping_ = false;
  bool stopped_ = false;
  bool finished_ = false;
  Status final_;
  SocketModeStats stats_;
  uint64_t next_conn_id_ = 1;
};

SocketModeClient::SocketModeClient(SocketModeOptions options, ConnectionOpener opener,
                                   EnvelopeHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(opener), std::move(handler))) {}
SocketModeClient::~SocketModeClient() { Stop(); }
util::Status SocketModeClient::Start() { return impl_->Start(); }
void SocketModeClient::Stop() { impl_->Stop(); }
util::Status SocketModeClient::Wait() { return impl_->Wait(); }
bool SocketModeClient::WaitForConnections(int n, std::chrono::milliseconds timeout) {
  return impl_->WaitForConnections(n, timeout);
}
SocketModeStats SocketModeClient::stats() const { return impl_->stats(); }

}  // namespace slack
