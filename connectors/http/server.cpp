// The HTTP server: an acceptor plus one Session per connection, in the shape of
// Beast's advanced_server example, except that each connection lives on one
// I/O thread's own io_context (IoThreads below) instead of a strand. An oversized body
// is refused (413) from its announced length, before any of it is buffered.
#include "connectors/http/server.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "connectors/util/thread_name.h"

namespace http::server {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

util::Result<std::string> DecodeComponent(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) {
        return util::Status::InvalidArgument("truncated %-escape at offset " + std::to_string(i));
      }
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) {
        return util::Status::InvalidArgument("bad %-escape at offset " + std::to_string(i));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- Headers

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  fields_.erase(std::remove_if(fields_.begin(), fields_.end(),
                               [&](const auto& f) { return EqualsIgnoreCase(f.first, name); }),
                fields_.end());
  Add(std::move(name), std::move(value));
}

std::string Headers::Get(std::string_view name) const {
  for (const auto& f : fields_) {
    if (EqualsIgnoreCase(f.first, name)) return f.second;
  }
  return "";
}

bool Headers::Has(std::string_view name) const {
  for (const auto& f : fields_) {
    if (EqualsIgnoreCase(f.first, name)) return true;
  }
  return false;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Set("Content-Type", "application/json; charset=utf-8");
  r.body = std::move(body);
  return r;
}

util::Result<std::vector<std::pair<std::string, std::string>>> ParseUrlEncoded(
    std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view part = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto name = DecodeComponent(part.substr(0, eq));
    if (!name.ok()) return name.status();
    std::string value;
    if (eq != std::string_view::npos) {
      auto v = DecodeComponent(part.substr(eq + 1));
      if (!v.ok()) return v.status();
      value = std::move(*v);
    }
    out.emplace_back(std::move(*name), std::move(value));
  }
  return out;
}

// ---------------------------------------------------------------- Router

namespace {
AsyncHandler Adapt(Handler handler) {
  return [handler = std::move(handler)](const Request& r, Responder respond) { respond(handler(r)); };
}
}  // namespace

void Router::Add(std::string method, std::string path, Handler handler) {
  AddAsync(std::move(method), std::move(path), Adapt(std::move(handler)));
}

void Router::AddPrefix(std::string method, std::string prefix, Handler handler) {
  AddPrefixAsync(std::move(method), std::move(prefix), Adapt(std::move(handler)));
}

void Router::AddAsync(std::string method, std::string path, AsyncHandler handler) {
  routes_.push_back({std::move(method), std::move(path), false, std::move(handler)});
}

void Router::AddPrefixAsync(std::string method, std::string prefix, AsyncHandler handler) {
  routes_.push_back({std::move(method), std::move(prefix), true, std::move(handler)});
}

void Router::RouteAsync(const Request& request, Responder respond) const {
  // Pick the best path first (exact, else longest prefix), then the method:
  // that order is what lets us answer 405 rather than 404.
  const std::string* best_path = nullptr;
  bool best_exact = false;
  for (const auto& e : routes_) {
    if (!e.prefix && e.path == request.path) {
      best_path = &e.path;
      best_exact = true;
      break;
    }
  }
  if (!best_exact) {
    for (const auto& e : routes_) {
      if (e.prefix && request.path.compare(0, e.path.size(), e.path) == 0 &&
          (!best_path || e.path.size() > best_path->size())) {
        best_path = &e.path;
      }
    }
  }
  if (!best_path) return respond(Response::Text(404, "not found\n"));

  std::string allow;
  for (const auto& e : routes_) {
    if (e.prefix == best_exact || e.path != *best_path) continue;
    if (e.method == request.method) return e.handler(request, std::move(respond));
    if (!allow.empty()) allow += ", ";
    allow += e.method;
  }
  Response r = Response::Text(405, "method not allowed\n");
  r.headers.Set("Allow", allow);
  respond(std::move(r));
}

Response Router::Route(const Request& request) const {
  auto answer = std::make_shared<std::promise<Response>>();
  auto once = std::make_shared<std::once_flag>();
  std::future<Response> result = answer->get_future();
  {
    // The guard answers 500 when the handler dropped its Responder unanswered.
    auto guard = std::shared_ptr<void>(nullptr, [answer, once](void*) {
      std::call_once(*once, [&] { answer->set_value(Response::Text(500, "internal error: no answer\n")); });
    });
    RouteAsync(request, [answer, once, guard](Response r) {
      std::call_once(*once, [&] { answer->set_value(std::move(r)); });
    });
  }
  return result.get();
}

Handler Router::AsHandler() const {
  return [this](const Request& r) { return Route(r); };
}

AsyncHandler Router::AsAsyncHandler() const {
  return [this](const Request& r, Responder respond) { RouteAsync(r, std::move(respond)); };
}

// ---------------------------------------------------------------- StaticFiles

namespace {

std::string ContentTypeFor(std::string_view path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".js", "application/javascript"},     {".json", "application/json"},
      {".svg", "image/svg+xml"},             {".png", "image/png"},
      {".ico", "image/x-icon"},              {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    std::string_view e(ext);
    if (path.size() >= e.size() && path.substr(path.size() - e.size()) == e) return type;
  }
  return "application/octet-stream";
}

// True when every segment of `rel` is a plain name: no "..", no hidden files,
// no empty segments. That keeps requests inside the root directory.
bool SafeRelativePath(std::string_view rel) {
  if (rel.empty()) return false;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    std::string_view seg = rel.substr(start, slash == std::string_view::npos ? rel.npos
                                                                              : slash - start);
    if (seg.empty() || seg[0] == '.' || seg.find('\\') != seg.npos ||
        seg.find('%') != seg.npos)
      return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

Handler StaticFiles(std::string prefix, std::string root) {
  return [prefix = std::move(prefix), root = std::move(root)](const Request& r) {
    std::string rel = r.path.substr(std::min(prefix.size(), r.path.size()));
    if (rel.empty() || rel.back() == '/') rel += "index.html";
    if (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
    if (!SafeRelativePath(rel)) return Response::Text(404, "not found\n");
    std::string full = root + "/" + rel;
    std::ifstream in(full, std::ios::binary);
    if (!in) return Response::Text(404, "not found\n");
    std::ostringstream buf;
    buf << in.rdbuf();
    if (in.bad()) return Response::Text(404, "not found\n");
    Response res;
    res.status = 200;
    res.headers.Set("Content-Type", ContentTypeFor(rel));
    res.body = buf.str();
    return res;
  };
}

// ---------------------------------------------------------------- Server

namespace {

class Session;

// State shared by the server and its sessions; sessions keep it alive.
struct Shared {
  ServerOptions options;
  AsyncHandler handler;
  std::mutex mu;
  std::condition_variable drained;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  std::atomic<bool> stopping{false};  // read by sessions without mu
  std::atomic<uint64_t> served{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  static constexpr std::size_t kReadBufferBytes = 16 << 10;

  Session(tcp::socket&& socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {
    // Once per connection, not per request (a keep-alive connection carries
    // thousands): it costs a getpeername call and a string.
    beast::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = remote.address().to_string() + ":" + std::to_string(remote.port());
    // Beast reads what the buffer has room for, at least 512 bytes: a 1 KB
    // webhook would then take two reads (and two trips through the reactor).
    buffer_.reserve(kReadBufferBytes);
  }

  ~Session() {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->sessions.erase(this);
    if (shared_->sessions.empty()) shared_->drained.notify_all();
  }

  void Run() {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->sessions[this] = weak_from_this();
    }
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // Called from Server::Stop(): an idle connection closes now, a busy one after
  // its current answer.
  void BeginStop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->stopping_ = true;
      // Idle: waiting for a request of which nothing has arrived yet.
      if (self->idle_ && self->buffer_.size() == 0 && !(self->parser_ && self->parser_->got_some())) {
        beast::error_code ec;
        self->stream_.socket().cancel(ec);
      }
    });
  }

 private:
  void ReadHeader() {
    if (stopping_ || shared_->stopping) stopping_ = true;
    if (stopping_ && buffer_.size() == 0) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.max_header_bytes));
    parser_->body_limit(shared_->options.max_body_bytes);
    idle_ = true;
    // Header and body in one read (one handler and one timer per request: the
    // ack path is hot). An announced Content-Length over the limit is still
    // refused from the header alone: the parser's body_limit checks it
    // before reading any of the body.
    stream_.expires_after(shared_->options.header_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      beast::bind_front_handler(&Session::OnRequest, shared_from_this()));
  }

  void OnRequest(beast::error_code ec, std::size_t) {
    idle_ = false;
    if (ec == bhttp::error::header_limit) return SendError(431, "header too large\n");
    if (ec == bhttp::error::body_limit) return SendError(413, "request body too large\n");
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return SendError(400, "bad request: " + ec.message() + "\n");
    }
    if (ec) return Close();

    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    size_t q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    for (const auto& f : msg) {
      req.headers.Add(std::string(f.name_string()), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    req.remote_address = remote_address_;

    auto pending = std::make_shared<Pending>(shared_from_this(), msg.keep_alive(), msg.version());
    try {
      shared_->handler(req, [pending](Response r) { pending->Answer(std::move(r)); });
    } catch (const std::exception&) {
      // A handler must not throw; answer 500 so the sender retries later.
      pending->Answer(Response::Text(500, "internal error\n"));
    }
  }

  // One request's answer, however and wherever the handler gives it: the
  // first answer is written on the session's I/O thread; none at all (every
  // Responder copy dropped) is a 500.
  class Pending {
   public:
    Pending(std::shared_ptr<Session> session, bool keep_alive, unsigned version)
        : session_(std::move(session)), keep_alive_(keep_alive), version_(version) {}
    ~Pending() { Answer(Response::Text(500, "internal error: no answer\n")); }
    void Answer(Response r) {
      if (answered_.exchange(true)) return;
      net::post(session_->stream_.get_executor(),
                [s = session_, r = std::move(r), keep_alive = keep_alive_, version = version_] {
                  s->Write(r, keep_alive && !s->stopping_ && !s->shared_->stopping, version);
                });
    }

   private:
    std::shared_ptr<Session> session_;
    bool keep_alive_;
    unsigned version_;
    std::atomic<bool> answered_{false};
  };

  void Write(const Response& r, bool keep_alive, unsigned version) {
    auto res = BuildResponse(r, keep_alive, version);
    if (!res) {
      // The handler's answer cannot be sent (bad status or header): say so
      // rather than drop the connection.
      res = BuildResponse(Response::Text(500, "internal error: bad response\n"), false, version);
    }
    res_ = res;
    stream_.expires_after(shared_->options.read_timeout);
    bhttp::async_write(stream_, *res,
                       beast::bind_front_handler(&Session::OnWrite, shared_from_this(),
                                                 !keep_alive));
  }

  std::shared_ptr<bhttp::response<bhttp::string_body>> BuildResponse(const Response& r,
                                                                     bool keep_alive,
                                                                     unsigned version) {
    if (r.status < 100 || r.status > 599) return nullptr;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    try {
      res->version(version);
      res->result(static_cast<unsigned>(r.status));
      res->set(bhttp::field::server, shared_->options.server_name);
      for (const auto& [name, value] : r.headers.fields()) {
        if (name.find_first_of("\r\n:") != std::string::npos ||
            value.find_first_of("\r\n") != std::string::npos)
          return nullptr;  // header injection
        res->insert(name, value);
      }
      res->body() = r.body;
      res->keep_alive(keep_alive);
      res->prepare_payload();
    } catch (const std::exception&) {
      return nullptr;
    }
    return res;
  }

  void OnWrite(bool close, beast::error_code ec, std::size_t) {
    shared_->served.fetch_add(1, std::memory_order_relaxed);
    res_.reset();
    if (ec) return Close();
    if (close) return LingeringClose();
    ReadHeader();
  }

  // An error answer closes the connection: the rest of the request is unread.
  void SendError(int status, std::string body) {
    Write(Response::Text(status, std::move(body)), false, 11);
  }

  // After an early answer (413, 400) part of the request may still be in
  // flight. Closing at once would make the kernel send RST, which can destroy
  // our answer before the client reads it; so shut down our side and drain
  // the client's for a moment first (as nginx's lingering_close does).
  void LingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(std::chrono::seconds(2));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(net::buffer(drain_buf_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<Shared> shared_;
  std::string remote_address_;  // "host:port" of the peer, for handlers
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<void> res_;
  char drain_buf_[4096];
  bool idle_ = false;
  bool stopping_ = false;
};

// The io_context the calling thread runs, on an I/O thread (else null).
thread_local net::io_context* this_io_thread = nullptr;

// The I/O threads: one io_context per thread, each connection on one of them
// for its whole life. A connection's handlers then run on one thread, in order,
// without a strand, and a thread never hands work to another inside Asio's
// scheduler: with one shared io_context every completion could wake the other
// thread, and on the ack path those wake-ups cost more than the work.
class IoThreads {
 public:
  explicit IoThreads(int n) {
    for (int i = 0; i < std::max(1, n); ++i) {
      contexts_.push_back(std::make_unique<net::io_context>(1));  // one thread runs each
      // A context with no connection yet must not return from run().
      keep_running_.push_back(net::make_work_guard(*contexts_.back()));
    }
  }
  net::io_context& first() { return *contexts_.front(); }
  // Round robin, so connections spread over the threads.
  net::io_context& next() { return *contexts_[next_++ % contexts_.size()]; }
  void Start() {
    for (auto& ioc : contexts_) {
      threads_.emplace_back([ioc = ioc.get()] {
        util::NameThisThread("http-io");
        this_io_thread = ioc;
        ioc->run();
      });
    }
  }
  void Stop() {
    keep_running_.clear();
    for (auto& ioc : contexts_) ioc->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> keep_running_;
  std::vector<std::thread> threads_;
  std::size_t next_ = 0;  // used by the accepting thread only
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(IoThreads& io, tcp::acceptor acceptor, std::shared_ptr<Shared> shared)
      : io_(io), acceptor_(std::move(acceptor)), shared_(std::move(shared)) {}

  void Run() { Accept(); }

  // Closes the listening socket and returns once it is closed. The close runs
  // on the acceptor's thread (an accept may be pending there), and Stop()
  // waits for it: posted and not awaited, the I/O threads could stop first,
  // leaving the socket open with a pending accept -- a client connecting
  // after Stop() would then hang instead of being refused.
  void Close() {
    auto closed = std::make_shared<std::promise<void>>();
    std::future<void> done = closed->get_future();
    net::post(acceptor_.get_executor(), [self = shared_from_this(), closed] {
      beast::error_code ec;
      self->acceptor_.close(ec);
      closed->set_value();
    });
    done.wait();
  }

 private:
  void Accept() {
    acceptor_.async_accept(io_.next(),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(shared_->mu);
        stopping = shared_->stopping;
      }
      if (stopping) return;
      // A response goes out when it is written, not when the client has
      // acknowledged the previous one (Nagle's algorithm with the client's
      // delayed ACKs can hold a keep-alive response for 40 ms).
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), shared_)->Run();
    }
    // Other errors (EMFILE...) affect one connection only: keep accepting.
    Accept();
  }

  IoThreads& io_;
  tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace

bool OnIoThread() { return this_io_thread != nullptr; }

bool RunAfterThisRound(std::function<void()> fn) {
  if (this_io_thread == nullptr) return false;
  // Posted from its own thread, the handler goes behind everything already
  // queued there (the completions of this round's reads), without waking
  // anything.
  net::post(*this_io_thread, std::move(fn));
  return true;
}

class Server::Impl {
 public:
  Impl(ServerOptions options, AsyncHandler handler)
      : shared_(std::make_shared<Shared>()), io_(options.threads) {
    shared_->options = std::move(options);
    shared_->handler = std::move(handler);
  }

  util::Status Start() {
    if (started_) return util::Status::Internal("http server: already started");
    const auto& opt = shared_->options;
    std::string where = opt.host + ":" + std::to_string(opt.port);
    beast::error_code ec;
    tcp::resolver resolver(io_.first());
    auto results = resolver.resolve(opt.host, std::to_string(opt.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      return util::Status::InvalidArgument("http server: cannot resolve " + where + ": " +
                                           ec.message());
    }
    tcp::endpoint endpoint = results.begin()->endpoint();
    tcp::acceptor acceptor(io_.first());
    if (acceptor.open(endpoint.protocol(), ec) ||
        acceptor.set_option(net::socket_base::reuse_address(true), ec) ||
        acceptor.bind(endpoint, ec) || acceptor.listen(net::socket_base::max_listen_connections, ec)) {
      return util::Status::IOError("http server: listen on " + where + ": " + ec.message());
    }
    port_ = acceptor.local_endpoint(ec).port();
    listener_ = std::make_shared<Listener>(io_, std::move(acceptor), shared_);
    listener_->Run();
    io_.Start();
    started_ = true;
    return util::Status::OK();
  }

  void Stop() {
    if (!started_ || stopped_) return;
    stopped_ = true;
    listener_->Close();
    std::vector<std::shared_ptr<Session>> live;
    std::unique_lock<std::mutex> lock(shared_->mu);
    shared_->stopping = true;
    for (auto& [ptr, weak] : shared_->sessions) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    lock.unlock();
    for (auto& s : live) s->BeginStop();
    live.clear();  // drop our references so finished sessions can go
    lock.lock();
    shared_->drained.wait_for(lock, shared_->options.drain_timeout,
                              [&] { return shared_->sessions.empty(); });
    lock.unlock();
    // Whatever is still running past the drain time is abandoned.
    io_.Stop();
    listener_.reset();
  }

  uint16_t port() const { return port_; }
  uint64_t served() const { return shared_->served.load(); }

 private:
  std::shared_ptr<Shared> shared_;
  IoThreads io_;  // declared before listener_: the acceptor goes first
  std::shared_ptr<Listener> listener_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

Server::Server(ServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(options), Adapt(std::move(handler)))) {}
Server::Server(ServerOptions options, AsyncHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}
Server::~Server() { Stop(); }
util::Status Server::Start() { return impl_->Start(); }
uint16_t Server::port() const { return impl_->port(); }
void Server::Stop() { impl_->Stop(); }
uint64_t Server::requests_served() const { return impl_->served(); }

}  // namespace http::server
