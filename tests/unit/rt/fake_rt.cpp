#include "tests/unit/rt/fake_rt.h"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>
#include <regex>

namespace fake_rt {

using json = nlohmann::json;
using testing_http::Received;
using testing_http::Reply;

namespace {

constexpr std::int64_t kBase = 1795500000;  // 2026-11-24

std::string HttpDate(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::int64_t FromSqlTime(const std::string& s) {
  std::tm tm{};
  strptime(s.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  return timegm(&tm);
}

std::string Base64Decode(const std::string& in) {
  static const std::string k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    auto pos = k.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out += static_cast<char>((val >> bits) & 0xFF);
      bits -= 8;
    }
  }
  return out;
}

json UserJson(const Person& p, const std::string& base) {
  return {{"id", p.name}, {"type", "user"}, {"_url", base + "/user/" + p.name},
          {"Name", p.name}, {"EmailAddress", p.email}, {"RealName", p.real_name}};
}

Reply Json(int status, const json& j) { return Reply::Json(status, j.dump()); }

std::vector<std::int64_t> InValues(const json& search, const std::string& field) {
  std::vector<std::int64_t> out;
  for (const auto& clause : search)
    if (clause.value("field", "") == field && clause.contains("value") && clause["value"].is_array())
      for (const auto& v : clause["value"]) out.push_back(v.is_string() ? std::stoll(v.get<std::string>()) : v.get<std::int64_t>());
  return out;
}

// RT pages first and drops what the user may not see afterwards.
template <typename T, typename Visible, typename ToJson>
json Page(const std::vector<T>& all, int page, int per_page, bool with_totals, Visible visible, ToJson to_json) {
  json items = json::array();
  std::size_t begin = static_cast<std::size_t>((page - 1) * per_page);
  for (std::size_t i = begin; i < all.size() && i < begin + per_page; ++i)
    if (visible(all[i])) items.push_back(to_json(all[i]));
  json out = {{"page", page}, {"per_page", per_page}, {"count", items.size()}, {"items", items}};
  if (with_totals) {
    out["total"] = all.size();
    out["pages"] = (all.size() + per_page - 1) / per_page;
  } else {
    out["total"] = nullptr;
    out["pages"] = nullptr;
  }
  return out;
}

}  // namespace

std::string IsoTime(std::int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

FakeRt::FakeRt() {
  const Person carol{"carol", "carol@customer.test", "Carol Customer"};
  const Person dave{"dave", "dave@customer.test", "Dave Customer"};
  const Person alice{"alice", "alice@helpdesk-peer.test", "Alice Agent"};
  const Person system{"RT_System", "", "The RT System itself"};

  tickets = {
      {1, "VPN drops every 10 minutes", "resolved", "Helpdesk", {carol}, kBase, kBase + 10, kBase + 10},
      {2, "Printer on 3rd floor prints blank pages", "resolved", "Helpdesk", {dave}, kBase + 12, kBase + 20, kBase + 20},
      {3, "Caf\xC3\xA9 Wi-Fi password \xE2\x80\x94 guest network", "resolved", "Helpdesk", {carol}, kBase + 22, kBase + 30, kBase + 30},
      {4, "New laptop for an intern", "open", "Helpdesk", {dave}, kBase + 31, kBase + 35, 0},
      {5, "Outlook keeps asking for my password", "resolved", "Helpdesk", {carol}, kBase + 36, kBase + 40, kBase + 40},
  };
  txns = {
      {44, 1, "Create", carol, kBase},           {45, 1, "EmailRecord", system, kBase},
      {46, 1, "Set", alice, kBase + 5},          {48, 1, "Correspond", alice, kBase + 8},
      {51, 1, "Status", alice, kBase + 10},      {57, 2, "Create", dave, kBase + 12},
      {61, 2, "Comment", alice, kBase + 15},     {62, 2, "Correspond", alice, kBase + 19},
      {63, 2, "Status", alice, kBase + 20},      {71, 3, "Create", carol, kBase + 22},
      {75, 3, "Correspond", alice, kBase + 29},  {78, 3, "Status", alice, kBase + 30},
      {80, 4, "Create", dave, kBase + 31},       {92, 5, "Create", carol, kBase + 36},
      {96, 5, "Correspond", alice, kBase + 37},  {97, 5, "EmailRecord", system, kBase + 37},
      {99, 5, "Correspond", carol, kBase + 39},  {101, 5, "Status", alice, kBase + 40},
  };
  parts = {
      {10, 44, "text/plain", "", "Hi,\nsince this morning my VPN connection drops every 10 minutes.\nCarol"},
      {11, 45, "text/plain", "", "This is an automatically generated response."},
      {14, 48, "text/plain", "", "Hello Carol,\nerror 809 with client 5.1.2 is a known bug. Please update to 5.2."},
      {20, 57, "text/plain", "", "The printer PRN-3F-01 only prints blank pages since yesterday."},
      {22, 61, "text/plain", "", "Internal: spooler service hung after the Windows update."},
      {23, 62, "text/plain", "", "Hi Dave, the print spooler was stuck. I restarted it."},
      {24, 71, "text/plain", "", "Bonjour, what is the password for the guest Wi-Fi in the caf\xC3\xA9 area (Geb\xC3\xA4ude B)?"},
      {28, 75, "text/html; charset=\"utf-8\"", "",
       "<p>Hi Carol,</p><p>the guest network <b>GUEST-B</b> uses a daily password.</p><p>Alice</p>"},
      {30, 80, "text/plain", "", "We need a laptop for the new intern."},
      {39, 92, "multipart/alternative", "", ""},
      {40, 92, "text/plain", "", "Hello helpdesk,\n\nOutlook asks for my password every few minutes.\n\n-- \nCarol Customer | +49 30 1234567"},
      {41, 92, "text/html", "", "<html><body><p>Hello helpdesk,</p><p>Outlook asks for my password.</p></body></html>"},
      {42, 92, "text/plain", "outlook-log.txt", "12:01 auth failed\n12:02 auth failed"},
      {45, 96, "text/plain", "", "Hi Carol,\n\nOutlook still has the old password cached in the Credential Manager."},
      {46, 97, "text/plain", "", "Correspondence sent to carol@customer.test"},
      {49, 99, "text/plain", "", "That fixed it, thank you!\n\nCarol\n\n> Hi Carol,\n> Outlook still has the old password"},
  };
  server_ = std::make_unique<testing_http::TestServer>([this](const Received& r) { return Handle(r); });
}

FakeRt::~FakeRt() { server_->Stop(); }

std::string FakeRt::base_url() const { return server_->url("/REST/2.0"); }

int FakeRt::Count(const std::string& what) const {
  std::lock_guard lock(mu_);
  auto it = counts_.find(what);
  return it == counts_.end() ? 0 : it->second;
}

std::vector<std::string> FakeRt::ticket_queries() const {
  std::lock_guard lock(mu_);
  return queries_;
}

void FakeRt::ExpireSessions() {
  std::lock_guard lock(mu_);
  sessions_.clear();
}

Reply FakeRt::Handle(const Received& r) {
  Reply reply = [&]() -> Reply {
    std::lock_guard lock(mu_);
    const std::string rest = "/REST/2.0";
    if (r.path == "/NoAuth/Login.html" && r.method == "POST") {
      counts_["login"]++;
      if (!has_login_page) return Reply{404, {}, "Not Found"};
      std::string sid = "sid" + std::to_string(next_session_++);
      Received form = r;
      form.query = r.body;
      if (form.param("user") == "helpdesk-bot" && form.param("pass") == password) sessions_.insert(sid);
      return Reply{200, {{"Set-Cookie", "RT_SID_fake.8089=" + sid + "; path=/; HttpOnly"}, {"Content-Type", "text/html"}},
                   "<html>login page</html>"};
    }
    if (r.path.rfind(rest, 0) != 0) return Reply::Json(404, "{\"message\":\"Not Found\"}");

    // Credentials: token, basic, or a logged-in session.
    bool authorized = false;
    std::string auth = r.header("Authorization");
    if (auth == "token " + token) authorized = true;
    if (auth.rfind("Basic ", 0) == 0 && Base64Decode(auth.substr(6)) == "helpdesk-bot:" + password) authorized = true;
    std::string cookie = r.header("Cookie");
    if (auto eq = cookie.find('='); eq != std::string::npos && sessions_.count(cookie.substr(eq + 1))) authorized = true;
    if (!authorized) return Reply::Json(401, "{\"message\":\"Unauthorized\"}");
    if ((r.method == "POST" || r.method == "PUT") && r.header("Content-Type") != "application/json")
      return Reply::Json(415, "{\"message\":\"Unsupported Media Type\"}");

    const std::string path = r.path.substr(rest.size());
    const std::string base = "http://127.0.0.1/REST/2.0";
    int page = r.param("page").empty() ? 1 : std::stoi(r.param("page"));
    int per_page = r.param("per_page").empty() ? 20 : std::min(100, std::stoi(r.param("per_page")));

    auto txn_json = [&](const Txn& x) {
      return json{{"id", std::to_string(x.id)}, {"type", "transaction"}, {"_url", base + "/transaction/" + std::to_string(x.id)},
                  {"Type", x.type}, {"Creator", UserJson(x.creator, base)}, {"Created", IsoTime(x.created)},
                  {"ObjectId", std::to_string(x.ticket)}, {"ObjectType", "RT::Ticket"}};
    };
    auto part_json = [&](const Part& p) {
      return json{{"id", std::to_string(p.id)}, {"type", "attachment"}, {"TransactionId", std::to_string(p.txn)},
                  {"ContentType", p.content_type}, {"Content", p.content}, {"Filename", p.filename},
                  {"ContentLength", std::to_string(p.content.size())}, {"Subject", ""}};
    };
    auto visible_txn = [](const Txn& x) { return x.type != "EmailRecord"; };
    auto txn_type = [&](std::int64_t id) {
      for (const auto& x : txns) if (x.id == id) return x.type;
      return std::string();
    };
    auto visible_part = [&](const Part& p) { return txn_type(p.txn) != "EmailRecord"; };

    if (path == "/rt") return Reply::Json(200, "{\"Version\":\"5.0.3+fake\"}");
    if (path == "/tickets" && r.method == "GET") {
      counts_["search"]++;
      queries_.push_back(r.param("query"));
      return Search(r);
    }
    if (path == "/transactions" && r.method == "POST") {
      counts_["transactions"]++;
      if (fail_batch) return Reply::Json(500, "{\"message\":\"Internal Server Error\"}");
      json search = json::parse(r.body);
      auto ids = InValues(search, "ObjectId");
      std::set<std::string> types;
      for (const auto& c : search)
        if (c.value("field", "") == "Type")
          for (const auto& v : c["value"]) types.insert(v.get<std::string>());
      std::vector<Txn> found;
      for (const auto& x : txns)
        if (std::count(ids.begin(), ids.end(), x.ticket) && (types.empty() || types.count(x.type))) found.push_back(x);
      std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.id < b.id; });
      return Json(200, Page(found, page, per_page, false, visible_txn, txn_json));
    }
    if (path == "/attachments" && r.method == "POST") {
      counts_["attachments"]++;
      if (fail_batch) return Reply::Json(500, "{\"message\":\"Internal Server Error\"}");
      json search = json::parse(r.body);
      auto ids = InValues(search, "TransactionId");
      std::string like;
      for (const auto& c : search)
        if (c.value("field", "") == "ContentType") like = c.value("value", "");
      std::vector<Part> found;
      for (const auto& p : parts)
        if (std::count(ids.begin(), ids.end(), p.txn) && p.content_type.find(like) != std::string::npos) found.push_back(p);
      return Json(200, Page(found, page, per_page, false, visible_part, part_json));
    }
    std::smatch m;
    static const std::regex kTicketPath(R"(^/ticket/(\d+)(/[a-z]+)?$)");
    if (std::regex_match(path, m, kTicketPath)) {
      std::int64_t id = std::stoll(m[1]);
      std::string sub = m[2];
      auto t = std::find_if(tickets.begin(), tickets.end(), [&](auto& x) { return x.id == id; });
      if (t == tickets.end() || missing.count(id)) return Reply::Json(404, "{\"message\":\"Not Found\"}");
      if (sub == "/history") {
        counts_["history"]++;
        if (fail_history.count(id)) return Reply::Json(500, "{\"message\":\"Internal Server Error\"}");
        std::vector<Txn> found;
        for (const auto& x : txns) if (x.ticket == id) found.push_back(x);
        return Json(200, Page(found, page, per_page, false, visible_txn, txn_json));
      }
      if (sub == "/attachments") {
        counts_["ticket_attachments"]++;
        std::vector<Part> found;
        for (const auto& p : parts)
          for (const auto& x : txns)
            if (x.id == p.txn && x.ticket == id) found.push_back(p);
        return Json(200, Page(found, page, per_page, false, visible_part, part_json));
      }
      if (sub == "/comment" || sub == "/correspond") {
        counts_[sub.substr(1)]++;
        if (refuse_writes) return Reply::Json(200, "[\"Permission Denied\"]");
        json body = json::parse(r.body);
        std::int64_t txn_id = txns.back().id + 1;
        txns.push_back({txn_id, id, sub == "/comment" ? "Comment" : "Correspond", {"helpdesk-bot", "", ""}, kBase + 100});
        parts.push_back({parts.back().id + 1, txn_id, body.value("ContentType", "text/plain"), "", body.value("Content", "")});
        if (body.contains("Status")) t->status = body["Status"].get<std::string>();
        return Reply::Json(201, sub == "/comment" ? "[\"Comments added\"]" : "[\"Correspondence added\"]");
      }
      if (sub == "/take") return Reply::Json(200, "[\"Owner changed from Nobody to helpdesk-bot\"]");
      if (sub.empty() && r.method == "PUT") {
        json body = json::parse(r.body);
        if (refuse_writes) return Reply::Json(200, "[\"Ticket " + std::to_string(id) + ": Permission Denied\"]");
        std::string old = t->status;
        t->status = body.value("Status", t->status);
        return Json(200, json::array({"Ticket " + std::to_string(id) + ": Status changed from '" + old + "' to '" + t->status + "'"}));
      }
      if (sub.empty() && r.method == "GET") {
        json req = json::array();
        for (const auto& p : t->requestors) req.push_back({{"id", p.name}, {"type", "user"}, {"_url", base + "/user/" + p.name}});
        return Json(200, {{"id", t->id}, {"Subject", t->subject}, {"Status", t->status},
                          {"Queue", {{"id", "3"}, {"type", "queue"}}}, {"Owner", {{"id", "alice"}, {"type", "user"}}},
                          {"Requestor", req}, {"Created", IsoTime(t->created)}, {"LastUpdated", IsoTime(t->last_updated)},
                          {"Resolved", IsoTime(t->resolved)}, {"Due", "1970-01-01T00:00:00Z"}});
      }
    }
    if (path == "/ticket" && r.method == "POST") {
      json body = json::parse(r.body);
      Ticket t;
      t.id = tickets.back().id + 1;
      t.subject = body.value("Subject", "");
      t.status = "new";
      tickets.push_back(t);
      return Reply::Json(201, "{\"id\":\"" + std::to_string(t.id) + "\",\"type\":\"ticket\"}");
    }
    if (path.rfind("/user/", 0) == 0) {
      std::string name = path.substr(6);
      for (const auto& x : txns)
        if (x.creator.name == name)
          return Json(200, {{"id", 30}, {"Name", name}, {"EmailAddress", x.creator.email}, {"RealName", x.creator.real_name}, {"Privileged", 1}});
      return Reply::Json(404, "{\"message\":\"Not Found\"}");
    }
    return Reply::Json(404, "{\"message\":\"Not Found\"}");
  }();
  std::int64_t now = server_time.load();
  reply.headers.emplace_back("Date", HttpDate(now != 0 ? now : std::time(nullptr)));
  return reply;
}

// TicketSQL, as much as RtSource writes: Queue, Status alternatives, an
// optional keyset clause on (LastUpdated, id). Anything else is a 400, so a
// wrong query fails the test instead of matching everything (as RT would).
Reply FakeRt::Search(const Received& r) {
  std::string q = r.param("query");
  std::smatch m;
  static const std::regex kQueue(R"(^Queue = '([^']*)' AND \(((?:Status = '[a-z]+'(?: OR )?)+)\))");
  if (!std::regex_search(q, m, kQueue)) return Reply::Json(400, "{\"message\":\"Couldn't parse query: " + q + "\"}");
  std::string queue = m[1];
  std::set<std::string> statuses;
  std::string status_list = m[2];
  static const std::regex kStatus(R"(Status = '([a-z]+)')");
  for (auto it = std::sregex_iterator(status_list.begin(), status_list.end(), kStatus); it != std::sregex_iterator(); ++it)
    statuses.insert((*it)[1]);
  std::string rest = m.suffix();
  std::int64_t after_t = 0, after_id = 0;
  bool keyset = false;
  static const std::regex kKeyset(
      R"(^ AND \(LastUpdated > '([0-9: -]+)' OR \(LastUpdated >= '([0-9: -]+)' AND id > (\d+)\)\)$)");
  if (!rest.empty()) {
    if (!std::regex_match(rest, m, kKeyset) || m[1] != m[2])
      return Reply::Json(400, "{\"message\":\"Couldn't parse query: " + q + "\"}");
    keyset = true;
    after_t = FromSqlTime(m[1]);
    after_id = std::stoll(m[3]);
  }
  if (r.params("orderby") != std::vector<std::string>{"LastUpdated", "id"} ||
      r.params("order") != std::vector<std::string>{"ASC", "ASC"})
    return Reply::Json(400, "{\"message\":\"test fake: unexpected order\"}");

  std::vector<Ticket> found;
  for (const auto& t : tickets) {
    if (t.queue != queue || !statuses.count(t.status)) continue;
    if (keyset && !(t.last_updated > after_t || (t.last_updated == after_t && t.id > after_id))) continue;
    found.push_back(t);
  }
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) {
    return std::tie(a.last_updated, a.id) < std::tie(b.last_updated, b.id);
  });
  int page = r.param("page").empty() ? 1 : std::stoi(r.param("page"));
  int per_page = r.param("per_page").empty() ? 20 : std::min(100, std::stoi(r.param("per_page")));
  const std::string base = "http://127.0.0.1/REST/2.0";
  json out = Page(found, page, per_page, true, [](const Ticket&) { return true; }, [&](const Ticket& t) {
    json req = json::array();
    for (const auto& p : t.requestors) req.push_back(UserJson(p, base));
    return json{{"id", std::to_string(t.id)}, {"type", "ticket"}, {"_url", base + "/ticket/" + std::to_string(t.id)},
                {"Subject", t.subject}, {"Status", t.status},
                {"Queue", {{"id", "3"}, {"type", "queue"}, {"Name", t.queue}}},
                {"Owner", {{"id", "alice"}, {"type", "user"}}}, {"Requestor", req},
                {"Created", IsoTime(t.created)}, {"LastUpdated", IsoTime(t.last_updated)},
                {"Resolved", IsoTime(t.resolved)}};
  });
  return Json(200, out);
}

}  // namespace fake_rt
