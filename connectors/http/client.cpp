#include "connectors/http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "connectors/http/url.h"

namespace http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using util::Result;
using util::Status;

// ---------------------------------------------------------------------------
// Headers

namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

bool IEqualsAscii(std::string_view a, std::string_view b) { return IEquals(a, b); }

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  Remove(name);
  Add(std::move(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return IEquals(f.first, name); });
}

std::optional<std::string> Headers::Get(std::string_view name) const {
  for (const auto& [n, v] : fields_)
    if (IEquals(n, name)) return v;
  return std::nullopt;
}

bool IsSecretHeader(std::string_view name) {
  std::string n = Lower(name);
  if (n == "authorization" || n == "proxy-authorization" || n == "cookie" || n == "set-cookie")
    return true;
  for (const char* word : {"token", "secret", "password", "api-key", "apikey", "auth"})
    if (n.find(word) != std::string::npos) return true;
  return false;
}

Status::Code CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422: return Status::Code::kInvalidArgument;
    case 401:
    case 403: return Status::Code::kUnauthorized;
    case 404:
    case 410: return Status::Code::kNotFound;
    case 409: return Status::Code::kAlreadyExists;
    case 408:
    case 429: return Status::Code::kUnavailable;
    default: break;
  }
  if (status >= 500) return Status::Code::kUnavailable;
  return Status::Code::kIOError;
}

// ---------------------------------------------------------------------------
// Error text

namespace {

Status MakeStatus(Status::Code code, std::string msg) {
  switch (code) {
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(msg));
    case Status::Code::kUnauthorized: return Status::Unauthorized(std::move(msg));
    case Status::Code::kNotFound: return Status::NotFound(std::move(msg));
    case Status::Code::kAlreadyExists: return Status::AlreadyExists(std::move(msg));
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(msg));
    case Status::Code::kCorruption: return Status::Corruption(std::move(msg));
    case Status::Code::kInternal: return Status::Internal(std::move(msg));
    default: return Status::IOError(std::move(msg));
  }
}

// Every secret a request carries, so that an echo of it in a response body
// can be blanked out of error text: whole header values, and the credential
// part of "Scheme credential" values.
std::vector<std::string> SecretsOf(const Request& request) {
  std::vector<std::string> secrets;
  for (const auto& [name, value] : request.headers.fields()) {
    if (!IsSecretHeader(name) || value.empty()) continue;
    secrets.push_back(value);
    auto space = value.find(' ');
    if (space != std::string::npos && space + 1 < value.size()) secrets.push_back(value.substr(space + 1));
    // Cookie pairs: "a=1; b=2" -> each value.
    std::size_t pos = 0;
    while ((pos = value.find('=', pos)) != std::string::npos) {
      std::size_t end = value.find(';', pos);
      std::string v = value.substr(pos + 1, end == std::string::npos ? std::string::npos : end - pos - 1);
      if (v.size() >= 4) secrets.push_back(v);
      pos += 1;
    }
  }
  // Longest first, so a value is blanked before a part of it.
  std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return secrets;
}

// At most `limit` bytes of `body` on one line, with secrets blanked out.
std::string Excerpt(std::string_view body, const std::vector<std::string>& secrets,
                    std::size_t limit = 200) {
  std::string text(body.substr(0, std::min(body.size(), limit * 4)));
  for (const auto& secret : secrets) {
    std::size_t pos = 0;
    while ((pos = text.find(secret, pos)) != std::string::npos) text.replace(pos, secret.size(), "[redacted]");
  }
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) < 0x20) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
    if (out.size() >= limit) break;
  }
  if (out.size() >= limit || text.size() < body.size()) {
    // Do not cut a UTF-8 sequence in half.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out;
}

std::string Reason(int status) {
  auto r = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  return std::string(r);
}

}  // namespace

// ---------------------------------------------------------------------------
// Connections

namespace {

// One open connection. It owns its io_context so the thread using it can
// drive it alone; a connection is used by one thread at a time (it is out
// of the pool while in use).
struct Connection {
  asio::io_context ioc;
  bool tls = false;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  Clock::time_point idle_since;
  bool reused = false;

  beast::tcp_stream& tcp() { return tls ? secure->next_layer() : *plain; }

  // A kept-alive connection the server has since closed (or that has stray
  // bytes waiting) must not be used: peek without blocking.
  bool LooksAlive() {
    auto& sock = tcp().socket();
    if (!sock.is_open()) return false;
    boost::system::error_code ec;
    sock.non_blocking(true, ec);
    if (ec) return false;
    char byte;
    boost::system::error_code peek_ec;
    sock.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, peek_ec);
    sock.non_blocking(false, ec);
    return peek_ec == asio::error::would_block;  // nothing to read, not closed
  }
};

struct Attempt {
  std::optional<Response> response;
  Status error;
  bool sent = false;       // the server may have seen (part of) the request
  bool retryable = true;   // a failure worth another try
};

}  // namespace

class Client::Impl {
 public:
  explicit Impl(ClientOptions options)
      : options_(std::move(options)), tls_(ssl::context::tls_client) {}

  Status Init() {
    tls_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (!options_.ca_file.empty()) {
      tls_.load_verify_file(options_.ca_file, ec);
      if (ec) return Status::InvalidArgument("http: cannot load CA file " + options_.ca_file + ": " + ec.message());
    } else {
      tls_.set_default_verify_paths(ec);
      if (ec) return Status::IOError("http: cannot load the system's CA store: " + ec.message());
    }
    tls_.set_verify_mode(ssl::verify_peer);
    if (options_.retry.max_attempts < 1) options_.retry.max_attempts = 1;
    return Status::OK();
  }

  Result<Response> Send(const Request& request);
  ClientStats stats() const {
    return {opened_.load(), sent_.load(), reused_.load()};
  }
  void CloseIdle() {
    std::lock_guard lock(mu_);
    idle_.clear();
  }

 private:
  Attempt TryOnce(const Url& url, const Request& request, const std::string& prefix);
  Attempt Exchange(Connection& conn, const Url& url, const Request& request, const std::string& prefix);
  Result<std::unique_ptr<Connection>> Connect(const Url& url, const std::string& prefix);
  std::unique_ptr<Connection> TakeIdle(const std::string& key);
  void GiveBack(const std::string& key, std::unique_ptr<Connection> conn);
  void Sleep(std::chrono::milliseconds d) {
    if (options_.sleep) options_.sleep(d);
    else std::this_thread::sleep_for(d);
  }

  ClientOptions options_;
  ssl::context tls_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
  std::atomic<std::uint64_t> opened_{0}, sent_{0}, reused_{0};
};

std::unique_ptr<Connection> Client::Impl::TakeIdle(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(key);
  if (it == idle_.end()) return nullptr;
  auto& list = it->second;
  // Newest first: the most likely to still be open on the server side.
  while (!list.empty()) {
    std::unique_ptr<Connection> conn = std::move(list.back());
    list.pop_back();
    if (Clock::now() - conn->idle_since < options_.idle_timeout && conn->LooksAlive()) {
      conn->reused = true;
      return conn;
    }
  }
  return nullptr;
}

void Client::Impl::GiveBack(const std::string& key, std::unique_ptr<Connection> conn) {
  conn->idle_since = Clock::now();
  std::lock_guard lock(mu_);
  auto& list = idle_[key];
  list.push_back(std::move(conn));
  while (list.size() > options_.max_idle_per_host) list.erase(list.begin());
}

namespace {

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

// OpenSSL's reason for a failed certificate check ("self-signed certificate",
// "hostname mismatch"), which the handshake's error code does not carry.
std::string VerifyFailure(SSL* ssl) {
  long result = SSL_get_verify_result(ssl);
  if (result == X509_V_OK) return "";
  return X509_verify_cert_error_string(result);
}

}  // namespace

Result<std::unique_ptr<Connection>> Client::Impl::Connect(const Url& url, const std::string& prefix) {
  auto conn = std::make_unique<Connection>();
  const auto deadline = Clock::now() + options_.connect_timeout;
  const std::string ms = std::to_string(options_.connect_timeout.count()) + " ms";

  // Resolve, bounded by the same deadline (the resolver has no timeout).
  tcp::resolver resolver(conn->ioc);
  boost::system::error_code ec = asio::error::would_block;
  tcp::resolver::results_type endpoints;
  resolver.async_resolve(url.host, std::to_string(url.port),
                         [&](boost::system::error_code e, tcp::resolver::results_type r) {
                           ec = e;
                           endpoints = std::move(r);
                         });
  conn->ioc.run_until(deadline);
  if (ec == asio::error::would_block) {
    resolver.cancel();
    conn->ioc.restart();
    conn->ioc.run();
    return Status::Unavailable(prefix + ": resolving the host timed out after " + ms);
  }
  if (ec) return Status::Unavailable(prefix + ": cannot resolve host: " + ec.message());

  conn->tls = url.tls();
  if (conn->tls) conn->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(conn->ioc, tls_);
  else conn->plain = std::make_unique<beast::tcp_stream>(conn->ioc);

  auto& stream = conn->tcp();
  stream.expires_at(deadline);
  ec = asio::error::would_block;
  stream.async_connect(endpoints, [&](boost::system::error_code e, const tcp::endpoint&) { ec = e; });
  conn->ioc.restart();
  conn->ioc.run();
  if (ec == beast::error::timeout) return Status::Unavailable(prefix + ": connect timed out after " + ms);
  if (ec) return Status::Unavailable(prefix + ": connect: " + ec.message());

  if (conn->tls) {
    SSL* native = conn->secure->native_handle();
    // SNI is for names only (RFC 6066 3); the check covers names and IPs.
    if (!IsIpLiteral(url.host)) SSL_set_tlsext_host_name(native, url.host.c_str());
    conn->secure->set_verify_callback(ssl::host_name_verification(url.host));
    ec = asio::error::would_block;
    conn->secure->async_handshake(ssl::stream_base::client, [&](boost::system::error_code e) { ec = e; });
    conn->ioc.restart();
    conn->ioc.run();
    if (ec == beast::error::timeout) return Status::Unavailable(prefix + ": TLS handshake timed out after " + ms);
    if (ec) {
      std::string why = VerifyFailure(native);
      if (!why.empty()) return Status::Unauthorized(prefix + ": TLS certificate not trusted: " + why);
      return Status::IOError(prefix + ": TLS handshake: " + ec.message());
    }
  }
  opened_++;
  return conn;
}

Attempt Client::Impl::Exchange(Connection& conn, const Url& url, const Request& request,
                               const std::string& prefix) {
  Attempt out;
  bhttp::request<bhttp::string_body> req;
  req.version(11);
  bhttp::verb verb = bhttp::string_to_verb(request.method);
  if (verb == bhttp::verb::unknown) req.method_string(request.method);
  else req.method(verb);
  req.target(url.target);
  bool default_port = url.port == (url.tls() ? 443 : 80);
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  req.set(bhttp::field::host, default_port ? host : host + ":" + std::to_string(url.port));
  req.set(bhttp::field::user_agent, options_.user_agent);
  for (const auto& [name, value] : request.headers.fields()) req.set(name, value);
  req.body() = request.body;
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" || request.method == "PATCH")
    req.prepare_payload();
  req.keep_alive(true);

  const std::string ms = std::to_string(options_.request_timeout.count()) + " ms";
  auto& stream = conn.tcp();
  stream.expires_after(options_.request_timeout);

  boost::system::error_code ec = asio::error::would_block;
  auto done = [&](boost::system::error_code e, std::size_t) { ec = e; };
  out.sent = true;  // from here on the server may act on the request
  sent_++;
  if (conn.tls) bhttp::async_write(*conn.secure, req, done);
  else bhttp::async_write(*conn.plain, req, done);
  conn.ioc.restart();
  conn.ioc.run();
  if (ec) {
    out.error = ec == beast::error::timeout
                    ? Status::Unavailable(prefix + ": timed out after " + ms + " sending the request")
                    : Status::Unavailable(prefix + ": sending the request: " + ec.message());
    return out;
  }

  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(options_.max_body_bytes);
  parser.header_limit(64 * 1024);
  if (request.method == "HEAD") parser.skip(true);
  ec = asio::error::would_block;
  if (conn.tls) bhttp::async_read(*conn.secure, conn.buffer, parser, done);
  else bhttp::async_read(*conn.plain, conn.buffer, parser, done);
  conn.ioc.restart();
  conn.ioc.run();
  if (ec == bhttp::error::body_limit) {
    out.error = Status::IOError(prefix + ": response body larger than the limit of " +
                                std::to_string(options_.max_body_bytes) + " bytes");
    out.retryable = false;
    return out;
  }
  if (ec == bhttp::error::header_limit) {
    out.error = Status::IOError(prefix + ": response headers larger than 64 KiB");
    out.retryable = false;
    return out;
  }
  if (ec) {
    // A reused connection that the server closed before answering: the
    // request was not processed (servers close idle connections, they do not
    // drop requests they have read). Mark it unsent so it is repeated at once.
    bool closed = ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
                  ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
                  ec == ssl::error::stream_truncated;
    if (conn.reused && closed && !parser.got_some()) out.sent = false;
    out.error = ec == beast::error::timeout
                    ? Status::Unavailable(prefix + ": timed out after " + ms + " waiting for the response")
                    : Status::Unavailable(prefix + ": reading the response: " + ec.message());
    return out;
  }
  auto& res = parser.get();
  Response response;
  response.status = static_cast<int>(res.result_int());
  for (const auto& field : res) response.headers.Add(std::string(field.name_string()), std::string(field.value()));
  response.body = std::move(res.body());
  out.response = std::move(response);
  return out;
}

Attempt Client::Impl::TryOnce(const Url& url, const Request& request, const std::string& prefix) {
  const std::string key = url.scheme + "://" + url.authority();
  std::unique_ptr<Connection> conn = TakeIdle(key);
  if (conn) {
    reused_++;
    Attempt a = Exchange(*conn, url, request, prefix);
    if (a.response || a.sent) {
      if (a.response && conn->buffer.size() == 0) {
        bool keep = true;
        if (auto c = a.response->headers.Get("Connection"); c && Lower(*c).find("close") != std::string::npos)
          keep = false;
        if (keep) GiveBack(key, std::move(conn));
      }
      return a;
    }
    // The stale connection failed before the server read anything: open a
    // new one and send again, without counting an attempt.
  }
  auto fresh = Connect(url, prefix);
  if (!fresh.ok()) {
    Attempt a;
    a.error = fresh.status();
    a.sent = false;
    a.retryable = fresh.status().code() == Status::Code::kUnavailable;
    return a;
  }
  conn = std::move(fresh).value();
  Attempt a = Exchange(*conn, url, request, prefix);
  if (a.response && conn->buffer.size() == 0) {
    bool keep = true;
    if (auto c = a.response->headers.Get("Connection"); c && Lower(*c).find("close") != std::string::npos)
      keep = false;
    if (keep) GiveBack(key, std::move(conn));
  }
  return a;
}

Result<Response> Client::Impl::Send(const Request& request) {
  auto parsed = ParseUrl(request.url);
  if (!parsed.ok()) return parsed.status().WithContext(request.method + " request");
  const Url& url = *parsed;
  const std::string prefix = request.method + " " + url.authority() + url.path;
  if (url.has_userinfo)
    return Status::InvalidArgument(prefix + ": credentials in the URL are refused; send an Authorization header");

  static thread_local std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const bool may_repeat = request.retry_non_idempotent || IsIdempotent(request.method);
  const int max_attempts = options_.retry.max_attempts;

  for (int attempt = 1;; ++attempt) {
    Attempt a = TryOnce(url, request, prefix);
    std::string attempts = attempt > 1 ? " (after " + std::to_string(attempt) + " attempts)" : "";

    std::optional<std::chrono::milliseconds> server_wait;
    bool retry = false;
    Status failure;
    if (a.response) {
      Response& r = *a.response;
      r.attempts = attempt;
      bool http_ok = r.status >= 200 && r.status < 300;
      if (http_ok || (!request.fail_on_http_error && !IsRetryableStatus(r.status))) return std::move(r);
      std::string msg = prefix + ": HTTP " + std::to_string(r.status);
      if (auto reason = Reason(r.status); !reason.empty() && reason != "<unknown-status>") msg += " " + reason;
      std::string excerpt = Excerpt(r.body, SecretsOf(request));
      if (!excerpt.empty()) msg += ": " + excerpt;
      failure = MakeStatus(CodeForHttpStatus(r.status), msg + attempts);
      if (IsRetryableStatus(r.status)) {
        // 429 means the server refused before acting, so any method may retry.
        retry = r.status == 429 || may_repeat;
        if (auto ra = r.headers.Get("Retry-After"))
          server_wait = ParseRetryAfter(*ra, std::chrono::system_clock::now());
      }
      if (!retry || attempt >= max_attempts) {
        if (!request.fail_on_http_error) return std::move(r);
        return failure;
      }
    } else {
      failure = MakeStatus(a.error.code(), a.error.message() + attempts);
      retry = a.retryable && (!a.sent || may_repeat);
      if (!retry || attempt >= max_attempts) return failure;
    }

    std::chrono::milliseconds wait = BackoffDelay(options_.retry, attempt, uniform(rng));
    if (server_wait) {
      if (*server_wait > options_.retry.max_delay) {
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(*server_wait).count();
        return MakeStatus(failure.code(), failure.message() + " (server asks to retry after " +
                                              std::to_string(secs) + " s, more than the allowed wait)");
      }
      wait = *server_wait;
    }
    Sleep(wait);
  }
}

// ---------------------------------------------------------------------------

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  DESK_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Result<Response> Client::Send(const Request& request) { return impl_->Send(request); }
ClientStats Client::stats() const { return impl_->stats(); }
void Client::CloseIdle() { impl_->CloseIdle(); }

}  // namespace http
