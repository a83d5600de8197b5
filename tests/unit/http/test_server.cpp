#include "tests/unit/http/test_server.h"

#include <strings.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

namespace testing_http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

std::string UrlDecode(const std::string& s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string Received::header(const std::string& name) const {
  for (const auto& [n, v] : headers)
    if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
  return "";
}

std::vector<std::string> Received::params(const std::string& name) const {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= query.size()) {
    std::size_t amp = query.find('&', pos);
    std::string pair = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    std::size_t eq = pair.find('=');
    std::string key = UrlDecode(pair.substr(0, eq));
    if (key == name) out.push_back(eq == std::string::npos ? "" : UrlDecode(pair.substr(eq + 1)));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

std::string Received::param(const std::string& name) const {
  auto all = params(name);
  return all.empty() ? "" : all.front();
}

class TestServer::Impl {
 public:
  Impl(Handler handler, std::optional<KeyAndCert> tls)
      : handler_(std::move(handler)), acceptor_(ioc_), tls_ctx_(ssl::context::tls_server) {
    if (tls) {
      use_tls_ = true;
      tls_ctx_.use_certificate_chain(asio::buffer(tls->cert_pem));
      tls_ctx_.use_private_key(asio::buffer(tls->key_pem), ssl::context::pem);
    }
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~Impl() { Stop(); }

  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    // Wake the blocking accept() with a connection of our own.
    try {
      asio::io_context wake_ioc;
      tcp::socket wake(wake_ioc);
      wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
    } catch (...) {
    }
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (auto& s : sockets_) {
        boost::system::error_code ec;
        ::shutdown(s->native_handle(), SHUT_RDWR);
      }
    }
    for (auto& t : threads_) t.join();
    boost::system::error_code ec;
    acceptor_.close(ec);
  }

  uint16_t port_ = 0;
  bool use_tls_ = false;
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::vector<Received> received_;

 private:
  void AcceptLoop() {
    for (;;) {
      auto sock = std::make_shared<tcp::socket>(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(*sock, ec);
      std::lock_guard lock(mu_);
      if (stopping_) return;
      if (ec) continue;
      int number = ++connections_;
      sockets_.push_back(sock);
      threads_.emplace_back([this, sock, number] { Serve(sock, number); });
    }
  }

  void Serve(std::shared_ptr<tcp::socket> sock, int number) {
    try {
      if (use_tls_) {
        ssl::stream<tcp::socket&> stream(*sock, tls_ctx_);
        stream.handshake(ssl::stream_base::server);
        ServeLoop(stream, number);
      } else {
        ServeLoop(*sock, number);
      }
    } catch (const std::exception&) {
      // The client went away or refused our certificate: end of connection.
    }
    boost::system::error_code ec;
    sock->shutdown(tcp::socket::shutdown_both, ec);
  }

  template <typename Stream>
  void ServeLoop(Stream& stream, int number) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(64 << 20);
      boost::system::error_code ec;
      bhttp::read(stream, buffer, parser, ec);
      if (ec) return;
      auto& req = parser.get();
      Received r;
      r.method = std::string(req.method_string());
      r.target = std::string(req.target());
      auto q = r.target.find('?');
      r.path = r.target.substr(0, q);
      r.query = q == std::string::npos ? "" : r.target.substr(q + 1);
      for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      r.body = req.body();
      r.connection = number;
      {
        std::lock_guard lock(mu_);
        received_.push_back(r);
      }
      ++requests_;
      Reply reply = handler_(r);
      if (reply.hang) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return stopping_; });
        return;
      }
      bhttp::response<bhttp::string_body> res;
      res.version(11);
      res.result(static_cast<unsigned>(reply.status));
      for (const auto& [n, v] : reply.headers) res.set(n, v);
      res.body() = reply.body;
      res.keep_alive(!reply.close_after && req.keep_alive());
      res.prepare_payload();
      bhttp::write(stream, res, ec);
      if (ec || reply.close_after || reply.drop_after || !req.keep_alive()) return;
    }
  }

  Handler handler_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  ssl::context tls_ctx_;
  std::thread accept_thread_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::list<std::thread> threads_;
  std::vector<std::shared_ptr<tcp::socket>> sockets_;
};

TestServer::TestServer(Handler handler, std::optional<KeyAndCert> tls)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(tls))) {}
TestServer::~TestServer() = default;

uint16_t TestServer::port() const { return impl_->port_; }

std::string TestServer::url(const std::string& path, const std::string& host) const {
  return std::string(impl_->use_tls_ ? "https://" : "http://") + host + ":" + std::to_string(impl_->port_) + path;
}

int TestServer::connections() const { return impl_->connections_.load(); }
int TestServer::requests() const { return impl_->requests_.load(); }
std::vector<Received> TestServer::received() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->received_;
}
void TestServer::Stop() { impl_->Stop(); }

}  // namespace testing_http
