#include "connectors/rt/client.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "connectors/http/url.h"

namespace rt {

using json = nlohmann::json;
using util::Result;
using util::Status;

// ---------------------------------------------------------------------------
// Times and TicketSQL

std::string TicketSqlTime(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(std::max<std::int64_t>(0, unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "'%Y-%m-%d %H:%M:%S'", &tm);
  return buf;
}

std::string TicketSqlQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

Result<std::int64_t> ParseRtTime(std::string_view text) {
  // "2026-11-23T23:24:29Z" or "2026-11-23 23:24:29"
  if (text.size() < 19 || text.size() > 20) return Status::InvalidArgument("bad RT time '" + std::string(text) + "'");
  std::string s(text);
  if (s.size() == 20 && s[19] != 'Z') return Status::InvalidArgument("bad RT time '" + s + "'");
  if (s[10] != 'T' && s[10] != ' ') return Status::InvalidArgument("bad RT time '" + s + "'");
  for (std::size_t i : {4, 7}) if (s[i] != '-') return Status::InvalidArgument("bad RT time '" + s + "'");
  for (std::size_t i : {13, 16}) if (s[i] != ':') return Status::InvalidArgument("bad RT time '" + s + "'");
  for (std::size_t i = 0; i < 19; ++i) {
    if (i == 4 || i == 7 || i == 10 || i == 13 || i == 16) continue;
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return Status::InvalidArgument("bad RT time '" + s + "'");
  }
  std::tm tm{};
  tm.tm_year = std::stoi(s.substr(0, 4)) - 1900;
  tm.tm_mon = std::stoi(s.substr(5, 2)) - 1;
  tm.tm_mday = std::stoi(s.substr(8, 2));
  tm.tm_hour = std::stoi(s.substr(11, 2));
  tm.tm_min = std::stoi(s.substr(14, 2));
  tm.tm_sec = std::stoi(s.substr(17, 2));
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return Status::InvalidArgument("bad RT time '" + s + "'");
  std::int64_t t = timegm(&tm);
  return t < 0 ? 0 : t;
}

const Attachment* PickBody(const std::vector<const Attachment*>& parts) {
  auto mime = [](const Attachment* a) {
    std::string t = a->content_type.substr(0, a->content_type.find(';'));
    for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t;
  };
  for (const char* wanted : {"text/plain", "text/html"})
    for (const Attachment* a : parts)
      if (a != nullptr && a->filename.empty() && mime(a) == wanted) return a;
  return nullptr;
}

// ---------------------------------------------------------------------------
// JSON shapes

namespace {

// RT writes ids as "5" in collections and 5 in single records.
std::int64_t IdOf(const json& v) {
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() || s.size() > 18 || !std::all_of(s.begin(), s.end(), ::isdigit)) return 0;
    return std::stoll(s);
  }
  if (v.is_object() && v.contains("id")) return IdOf(v["id"]);
  return 0;
}

std::string Str(const json& o, const char* key) {
  if (!o.is_object()) return "";
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  if (it->is_object()) return Str(*it, "id");
  return "";
}

Result<std::int64_t> TimeField(const json& o, const char* key) {
  std::string s = Str(o, key);
  if (s.empty()) return std::int64_t{0};
  auto t = ParseRtTime(s);
  if (!t.ok()) return Status::Corruption(std::string(key) + ": " + t.status().message());
  return t;
}

UserRef UserOf(const json& v) {
  UserRef u;
  if (v.is_string()) {
    u.name = v.get<std::string>();
    return u;
  }
  u.name = Str(v, "Name");
  if (u.name.empty()) u.name = Str(v, "id");
  u.email = Str(v, "EmailAddress");
  u.real_name = Str(v, "RealName");
  return u;
}

Result<Ticket> TicketOf(const json& o) {
  Ticket t;
  t.id = IdOf(o.value("id", json()));
  if (t.id <= 0) return Status::Corruption("ticket without an id");
  t.subject = Str(o, "Subject");
  t.status = Str(o, "Status");
  if (auto q = o.find("Queue"); q != o.end() && q->is_object()) {
    t.queue = Str(*q, "Name");
    if (t.queue.empty()) t.queue = Str(*q, "id");
  } else {
    t.queue = Str(o, "Queue");
  }
  if (auto ow = o.find("Owner"); ow != o.end() && !ow->is_null()) t.owner = UserOf(*ow).name;
  if (auto rq = o.find("Requestor"); rq != o.end() && rq->is_array())
    for (const auto& r : *rq) t.requestors.push_back(UserOf(r));
  auto created = TimeField(o, "Created");
  auto updated = TimeField(o, "LastUpdated");
  auto resolved = TimeField(o, "Resolved");
  for (auto* r : {&created, &updated, &resolved})
    if (!r->ok()) return r->status().WithContext("ticket " + std::to_string(t.id));
  t.created = *created;
  t.last_updated = *updated;
  t.resolved = *resolved;
  return t;
}

Result<Transaction> TransactionOf(const json& o) {
  Transaction x;
  x.id = IdOf(o.value("id", json()));
  if (x.id <= 0) return Status::Corruption("transaction without an id");
  x.type = Str(o, "Type");
  x.ticket_id = IdOf(o.value("ObjectId", json()));
  if (auto c = o.find("Creator"); c != o.end() && !c->is_null()) x.creator = UserOf(*c);
  auto created = TimeField(o, "Created");
  if (!created.ok()) return created.status().WithContext("transaction " + std::to_string(x.id));
  x.created = *created;
  return x;
}

Result<Attachment> AttachmentOf(const json& o) {
  Attachment a;
  a.id = IdOf(o.value("id", json()));
  if (a.id <= 0) return Status::Corruption("attachment without an id");
  a.transaction_id = IdOf(o.value("TransactionId", json()));
  a.content_type = Str(o, "ContentType");
  a.filename = Str(o, "Filename");
  a.subject = Str(o, "Subject");
  a.content = Str(o, "Content");
  a.content_length = IdOf(o.value("ContentLength", json()));
  return a;
}

// The messages of a write's answer: a list of strings, or {"message": ...}.
std::vector<std::string> MessagesOf(const std::string& body) {
  std::vector<std::string> out;
  json j = json::parse(body, nullptr, false);
  if (j.is_array()) {
    for (const auto& m : j)
      if (m.is_string()) out.push_back(m.get<std::string>());
  } else if (j.is_object() && j.contains("message") && j["message"].is_string()) {
    out.push_back(j["message"].get<std::string>());
  }
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& m : v) s += (s.empty() ? "" : "; ") + m;
  return s;
}

bool MentionsRefusal(const std::vector<std::string>& messages) {
  for (const auto& m : messages) {
    std::string l = m;
    for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (const char* word : {"permission denied", "no permission", "not allowed", "couldn't", "could not", "invalid"})
      if (l.find(word) != std::string::npos) return true;
  }
  return false;
}

constexpr int kPerPage = 100;        // REST2's cap
constexpr int kMaxPages = 100000;    // a server that ignores `page` must not loop us forever
constexpr std::size_t kIdsPerSearch = 100;

}  // namespace

// ---------------------------------------------------------------------------

class Client::Impl {
 public:
  explicit Impl(ClientOptions o) : options_(std::move(o)) {}

  Status Init() {
    while (!options_.base_url.empty() && options_.base_url.back() == '/') options_.base_url.pop_back();
    auto url = http::ParseUrl(options_.base_url);
    if (!url.ok()) return url.status().WithContext("rt: base URL");
    if (url->has_userinfo) return Status::InvalidArgument("rt: put credentials in the token or user/password, not in the URL");
    if (options_.auth.token.empty() && options_.auth.user.empty())
      return Status::InvalidArgument("rt: no credentials: set a token or a user and password");
    auto http = http::Client::Create(options_.http);
    if (!http.ok()) return http.status().WithContext("rt");
    http_ = std::move(http).value();
    // The web root is the REST2 base without "/REST/2.0".
    const std::string suffix = "/REST/2.0";
    const std::string& b = options_.base_url;
    if (options_.auth.token.empty() && options_.auth.session_login && b.size() > suffix.size() &&
        b.compare(b.size() - suffix.size(), suffix.size(), suffix) == 0) {
      web_root_ = b.substr(0, b.size() - suffix.size());
      sessions_ = true;
    }
    return Status::OK();
  }

  http::Request Make(const std::string& method, const std::string& path, const http::QueryParams& params) const {
    http::Request r;
    r.method = method;
    r.url = http::WithQuery(options_.base_url + path, params);
    r.headers.Set("Accept", "application/json");
    if (method == "POST" || method == "PUT") r.headers.Set("Content-Type", "application/json");
    return r;
  }

  // Sends `req` with credentials: token, session cookie or basic auth. An
  // expired session (401 with a cookie) is renewed once.
  Result<json> Call(http::Request req, http::Headers* headers = nullptr) {
    for (int round = 0;; ++round) {
      req.headers.Remove("Authorization");
      req.headers.Remove("Cookie");
      bool with_session = false;
      if (!options_.auth.token.empty()) {
        req.headers.Set("Authorization", "token " + options_.auth.token);
      } else {
        auto cookie = SessionCookie(/*renew=*/round > 0);
        if (!cookie.ok()) return cookie.status();
        if (!cookie->empty()) {
          req.headers.Set("Cookie", *cookie);
          with_session = true;
        } else {
          req.headers.Set("Authorization", "Basic " + Base64(options_.auth.user + ":" + options_.auth.password));
        }
      }
      auto res = http_->Send(req);
      if (!res.ok()) {
        if (with_session && round == 0 && res.status().code() == Status::Code::kUnauthorized) continue;
        return res.status();
      }
      if (headers != nullptr) *headers = res->headers;
      if (res->body.empty()) return json();
      json j = json::parse(res->body, nullptr, false);
      if (j.is_discarded()) {
        auto u = http::ParseUrl(req.url);
        return Status::Corruption(req.method + " " + (u.ok() ? u->path : std::string("?")) +
                                  ": answer is not JSON (HTTP " + std::to_string(res->status) + ")");
      }
      return j;
    }
  }

  // The session cookie ("RT_SID_...=..."), logging in when there is none or
  // `renew`; "" when sessions are off or RT has no login page.
  Result<std::string> SessionCookie(bool renew) {
    std::lock_guard lock(session_mu_);
    if (!sessions_) return std::string();
    if (!renew && !cookie_.empty()) return cookie_;
    cookie_.clear();
    http::Request login;
    login.method = "POST";
    login.url = web_root_ + "/NoAuth/Login.html";
    login.headers.Set("Content-Type", "application/x-www-form-urlencoded");
    login.body = http::EncodeQuery({{"user", options_.auth.user}, {"pass", options_.auth.password}});
    login.retry_non_idempotent = true;  // logging in twice is harmless
    auto res = http_->Send(login);
    if (!res.ok()) {
      if (res.status().code() == Status::Code::kNotFound) {  // no login page: basic auth only
        sessions_ = false;
        return std::string();
      }
      return res.status().WithContext("rt: login as " + options_.auth.user);
    }
    std::string cookie;
    for (const auto& [name, value] : res->headers.fields()) {
      if (!http::IEqualsAscii(name, "Set-Cookie") || value.rfind("RT_SID_", 0) != 0) continue;
      cookie = value.substr(0, value.find(';'));
    }
    if (cookie.empty()) {
      sessions_ = false;
      return std::string();
    }
    // RT answers a wrong password with the login page and a fresh anonymous
    // session, so ask REST2 whether this session is logged in.
    http::Request check = Make("GET", "/rt", {});
    check.headers.Set("Cookie", cookie);
    auto checked = http_->Send(check);
    if (!checked.ok()) {
      if (checked.status().code() == Status::Code::kUnauthorized)
        return Status::Unauthorized("rt: login as " + options_.auth.user + " refused (check the password)");
      return checked.status().WithContext("rt: login as " + options_.auth.user);
    }
    cookie_ = cookie;
    return cookie_;
  }

  // Walks every page of a collection, GET with `params` or POST with a JSON
  // search `body`. Items RT hides from this user (EmailRecord, say) are
  // dropped AFTER paging, so a short page does not mean the last page; only
  // an empty page, or pages/total when RT fills them in, ends the walk.
  Status ForEachItem(const std::string& method, const std::string& path, http::QueryParams params,
                     const std::string& body, const std::function<Status(const json&)>& fn) {
    std::string previous_first;
    for (int page = 1; page <= kMaxPages; ++page) {
      http::QueryParams p = params;
      p.emplace_back("per_page", std::to_string(kPerPage));
      p.emplace_back("page", std::to_string(page));
      http::Request req = Make(method, path, p);
      req.body = body;
      req.retry_non_idempotent = true;  // searches only read
      auto j = Call(std::move(req));
      if (!j.ok()) return j.status();
      if (!j->is_object() || !j->contains("items") || !(*j)["items"].is_array())
        return Status::Corruption(path + ": page " + std::to_string(page) + " has no items list");
      const json& items = (*j)["items"];
      if (items.empty()) return Status::OK();
      std::string first = Str(items[0], "id");
      if (page > 1 && first == previous_first)
        return Status::Corruption(path + ": page " + std::to_string(page) + " repeats the previous page");
      previous_first = first;
      for (const auto& item : items) DESK_RETURN_IF_ERROR(fn(item));
      if (IsLastPage(*j, page)) return Status::OK();
    }
    return Status::Corruption(path + ": more than " + std::to_string(kMaxPages) + " pages");
  }

  static bool IsLastPage(const json& j, int page) {
    if (auto pages = j.find("pages"); pages != j.end() && pages->is_number_integer())
      return page >= pages->get<int>();
    if (auto pages = j.find("pages"); pages != j.end() && pages->is_string() && !pages->get<std::string>().empty())
      return page >= std::atoi(pages->get<std::string>().c_str());
    return false;
  }

  static std::string Base64(const std::string& in) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
      out += k[v >> 18 & 63]; out += k[v >> 12 & 63]; out += k[v >> 6 & 63]; out += k[v & 63];
    }
    if (i + 1 == in.size()) {
      unsigned v = (unsigned char)in[i] << 16;
      out += k[v >> 18 & 63]; out += k[v >> 12 & 63]; out += "==";
    } else if (i + 2 == in.size()) {
      unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
      out += k[v >> 18 & 63]; out += k[v >> 12 & 63]; out += k[v >> 6 & 63]; out += '=';
    }
    return out;
  }

  ClientOptions options_;
  std::unique_ptr<http::Client> http_;
  std::mutex session_mu_;
  bool sessions_ = false;   // log in with the password and use a cookie
  std::string web_root_;
  std::string cookie_;
};

namespace {

const char* kTicketFields = "Subject,Status,Queue,Owner,Requestor,Created,LastUpdated,Resolved";
const char* kTransactionFields = "Type,Creator,Created,ObjectId,ObjectType";
const char* kUserFields = "Name,EmailAddress,RealName";
const char* kAttachmentFields = "TransactionId,ContentType,Content,Filename,ContentLength,Subject";

template <typename T>
std::vector<std::vector<T>> Chunks(const std::vector<T>& v, std::size_t n) {
  std::vector<std::vector<T>> out;
  for (std::size_t i = 0; i < v.size(); i += n)
    out.emplace_back(v.begin() + i, v.begin() + std::min(v.size(), i + n));
  return out;
}

}  // namespace

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  DESK_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

Result<TicketPage> Client::SearchTickets(const std::string& ticket_sql, int page, int per_page,
                                         const std::vector<std::string>& order_by) {
  per_page = std::clamp(per_page, 1, kPerPage);
  page = std::max(page, 1);
  http::QueryParams p = {{"query", ticket_sql}};
  for (const auto& o : order_by) p.emplace_back("orderby", o);
  for (std::size_t i = 0; i < order_by.size(); ++i) p.emplace_back("order", "ASC");
  p.emplace_back("per_page", std::to_string(per_page));
  p.emplace_back("page", std::to_string(page));
  p.emplace_back("fields", kTicketFields);
  p.emplace_back("fields[Requestor]", kUserFields);
  p.emplace_back("fields[Queue]", "Name");
  http::Headers headers;
  auto j = impl_->Call(impl_->Make("GET", "/tickets", p), &headers);
  if (!j.ok()) return j.status().WithContext("rt: ticket search");
  if (!j->is_object() || !j->contains("items") || !(*j)["items"].is_array())
    return Status::Corruption("rt: ticket search: answer has no items list");
  TicketPage out;
  out.page = page;
  out.per_page = per_page;
  for (const auto& item : (*j)["items"]) {
    auto t = TicketOf(item);
    if (!t.ok()) return t.status().WithContext("rt: ticket search");
    out.tickets.push_back(std::move(t).value());
  }
  out.count = static_cast<int>(out.tickets.size());
  if (auto date = headers.Get("Date")) out.server_time = http::ParseHttpDate(*date).value_or(0);
  if (auto total = j->find("total"); total != j->end() && total->is_number_integer())
    out.total = total->get<std::int64_t>();
  // Ticket searches apply ACLs in SQL, so pages/total are exact when present;
  // without them only an empty page is surely the last.
  out.last = out.tickets.empty() || Impl::IsLastPage(*j, page) ||
             (out.total && static_cast<std::int64_t>(page) * per_page >= *out.total);
  return out;
}

Result<std::vector<Ticket>> Client::SearchAllTickets(const std::string& ticket_sql, int per_page) {
  std::vector<Ticket> all;
  for (int page = 1; page <= kMaxPages; ++page) {
    auto p = SearchTickets(ticket_sql, page, per_page);
    if (!p.ok()) return p.status();
    for (auto& t : p->tickets) all.push_back(std::move(t));
    if (p->last) return all;
  }
  return Status::Corruption("rt: ticket search: too many pages");
}

Result<Ticket> Client::GetTicket(std::int64_t id) {
  auto j = impl_->Call(impl_->Make("GET", "/ticket/" + std::to_string(id), {}));
  if (!j.ok()) return j.status().WithContext("rt: ticket " + std::to_string(id));
  auto t = TicketOf(*j);
  if (!t.ok()) return t.status().WithContext("rt: ticket " + std::to_string(id));
  return t;
}

Result<std::vector<Transaction>> Client::History(std::int64_t ticket_id) {
  std::vector<Transaction> out;
  const std::string where = "rt: ticket " + std::to_string(ticket_id) + ": history";
  Status st = impl_->ForEachItem(
      "GET", "/ticket/" + std::to_string(ticket_id) + "/history",
      {{"orderby", "id"}, {"order", "ASC"}, {"fields", kTransactionFields}, {"fields[Creator]", kUserFields}}, "",
      [&](const json& item) {
        auto x = TransactionOf(item);
        if (!x.ok()) return x.status();
        if (x->ticket_id == 0) x->ticket_id = ticket_id;
        out.push_back(std::move(x).value());
        return Status::OK();
      });
  if (!st.ok()) return st.WithContext(where);
  return out;
}

Result<std::vector<Attachment>> Client::TicketAttachments(std::int64_t ticket_id) {
  std::vector<Attachment> out;
  Status st = impl_->ForEachItem("GET", "/ticket/" + std::to_string(ticket_id) + "/attachments",
                                 {{"orderby", "id"}, {"order", "ASC"}, {"fields", kAttachmentFields}}, "",
                                 [&](const json& item) {
                                   auto a = AttachmentOf(item);
                                   if (!a.ok()) return a.status();
                                   out.push_back(std::move(a).value());
                                   return Status::OK();
                                 });
  if (!st.ok()) return st.WithContext("rt: ticket " + std::to_string(ticket_id) + ": attachments");
  return out;
}

Result<std::vector<Transaction>> Client::TransactionsOf(const std::vector<std::int64_t>& ticket_ids,
                                                        const std::vector<std::string>& types) {
  std::vector<Transaction> out;
  for (const auto& chunk : Chunks(ticket_ids, kIdsPerSearch)) {
    json search = json::array({{{"field", "ObjectType"}, {"value", "RT::Ticket"}},
                               {{"field", "ObjectId"}, {"operator", "IN"}, {"value", chunk}}});
    if (!types.empty()) search.push_back({{"field", "Type"}, {"operator", "IN"}, {"value", types}});
    Status st = impl_->ForEachItem(
        "POST", "/transactions",
        {{"orderby", "id"}, {"order", "ASC"}, {"fields", kTransactionFields}, {"fields[Creator]", kUserFields}},
        search.dump(), [&](const json& item) {
          auto x = TransactionOf(item);
          if (!x.ok()) return x.status();
          out.push_back(std::move(x).value());
          return Status::OK();
        });
    if (!st.ok()) return st.WithContext("rt: transactions of " + std::to_string(chunk.size()) + " tickets");
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<std::vector<Attachment>> Client::TextAttachmentsOf(const std::vector<std::int64_t>& transaction_ids) {
  std::vector<Attachment> out;
  for (const auto& chunk : Chunks(transaction_ids, kIdsPerSearch)) {
    json search = json::array({{{"field", "TransactionId"}, {"operator", "IN"}, {"value", chunk}},
                               {{"field", "ContentType"}, {"operator", "LIKE"}, {"value", "text/"}}});
    Status st = impl_->ForEachItem("POST", "/attachments",
                                   {{"orderby", "id"}, {"order", "ASC"}, {"fields", kAttachmentFields}},
                                   search.dump(), [&](const json& item) {
                                     auto a = AttachmentOf(item);
                                     if (!a.ok()) return a.status();
                                     out.push_back(std::move(a).value());
                                     return Status::OK();
                                   });
    if (!st.ok()) return st.WithContext("rt: attachments of " + std::to_string(chunk.size()) + " transactions");
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

Result<User> Client::GetUser(const std::string& name) {
  auto j = impl_->Call(impl_->Make("GET", "/user/" + http::PercentEncode(name), {}));
  if (!j.ok()) return j.status().WithContext("rt: user " + name);
  User u;
  u.id = IdOf(j->value("id", json()));
  u.name = Str(*j, "Name");
  u.email = Str(*j, "EmailAddress");
  u.real_name = Str(*j, "RealName");
  std::string priv = Str(*j, "Privileged");
  u.privileged = !priv.empty() && priv != "0";
  return u;
}

Result<std::string> Client::Version() {
  auto j = impl_->Call(impl_->Make("GET", "/rt", {}));
  if (!j.ok()) return j.status().WithContext("rt");
  return Str(*j, "Version");
}

Result<std::int64_t> Client::CreateTicket(const NewTicket& ticket) {
  json body = {{"Queue", ticket.queue}, {"Subject", ticket.subject}, {"Content", ticket.content},
               {"ContentType", ticket.content_type}};
  if (!ticket.requestor.empty()) body["Requestor"] = ticket.requestor;
  if (!ticket.status.empty()) body["Status"] = ticket.status;
  http::Request req = impl_->Make("POST", "/ticket", {});
  req.body = body.dump();
  auto j = impl_->Call(std::move(req));
  if (!j.ok()) return j.status().WithContext("rt: create ticket in queue " + ticket.queue);
  std::int64_t id = IdOf(j->value("id", json()));
  if (id <= 0) return Status::Corruption("rt: create ticket in queue " + ticket.queue + ": no id in the answer");
  return id;
}

namespace {

Status CheckMessages(const std::string& what, const json& answer, const char* success_word) {
  std::vector<std::string> messages = MessagesOf(answer.dump());
  if (MentionsRefusal(messages)) return Status::Unauthorized(what + ": RT refused: " + Join(messages));
  for (const auto& m : messages)
    if (m.find(success_word) != std::string::npos) return Status::OK();
  return Status::IOError(what + ": RT did not confirm (" + Join(messages) + ")");
}

}  // namespace

Status Client::Comment(std::int64_t ticket_id, const std::string& content, const std::string& content_type) {
  const std::string what = "rt: ticket " + std::to_string(ticket_id) + ": comment";
  http::Request req = impl_->Make("POST", "/ticket/" + std::to_string(ticket_id) + "/comment", {});
  req.body = json{{"Content", content}, {"ContentType", content_type}}.dump();
  auto j = impl_->Call(std::move(req));
  if (!j.ok()) return j.status().WithContext(what);
  return CheckMessages(what, *j, "added");
}

Status Client::Correspond(std::int64_t ticket_id, const std::string& content, const std::string& content_type,
                          const std::string& status) {
  const std::string what = "rt: ticket " + std::to_string(ticket_id) + ": correspond";
  json body = {{"Content", content}, {"ContentType", content_type}};
  if (!status.empty()) body["Status"] = status;
  http::Request req = impl_->Make("POST", "/ticket/" + std::to_string(ticket_id) + "/correspond", {});
  req.body = body.dump();
  auto j = impl_->Call(std::move(req));
  if (!j.ok()) return j.status().WithContext(what);
  return CheckMessages(what, *j, "added");
}

Status Client::SetStatus(std::int64_t ticket_id, const std::string& status) {
  const std::string what = "rt: ticket " + std::to_string(ticket_id) + ": set status " + status;
  http::Request req = impl_->Make("PUT", "/ticket/" + std::to_string(ticket_id), {});
  req.body = json{{"Status", status}}.dump();
  auto j = impl_->Call(std::move(req));
  if (!j.ok()) return j.status().WithContext(what);
  auto t = GetTicket(ticket_id);
  if (!t.ok()) return t.status().WithContext(what);
  if (t->status != status)
    return Status::Unauthorized(what + ": still '" + t->status + "' (RT said: " + Join(MessagesOf(j->dump())) + ")");
  return Status::OK();
}

Status Client::Take(std::int64_t ticket_id) {
  const std::string what = "rt: ticket " + std::to_string(ticket_id) + ": take";
  auto j = impl_->Call(impl_->Make("PUT", "/ticket/" + std::to_string(ticket_id) + "/take", {}));
  if (!j.ok()) return j.status().WithContext(what);
  std::vector<std::string> messages = MessagesOf(j->dump());
  if (MentionsRefusal(messages)) return Status::Unauthorized(what + ": RT refused: " + Join(messages));
  return Status::OK();
}

Status Client::DeleteTicket(std::int64_t ticket_id) {
  const std::string what = "rt: ticket " + std::to_string(ticket_id) + ": delete";
  auto j = impl_->Call(impl_->Make("DELETE", "/ticket/" + std::to_string(ticket_id), {}));
  if (!j.ok()) return j.status().WithContext(what);
  auto t = GetTicket(ticket_id);
  if (!t.ok()) return t.status().WithContext(what);
  if (t->status != "deleted") return Status::Unauthorized(what + ": still '" + t->status + "'");
  return Status::OK();
}

}  // namespace rt
