#include "bot/sources/rt.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "connectors/http/url.h"

namespace deskbot {

using json = nlohmann::json;
using util::Result;
using util::Status;

namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "text/html; charset=utf-8" -> "text/html".
std::string MimeType(const std::string& content_type) {
  std::string t = Lower(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  return t;
}

bool IsRequestor(const rt::UserRef& who, const rt::Ticket& ticket) {
  for (const auto& r : ticket.requestors) {
    if (!who.name.empty() && Lower(who.name) == Lower(r.name)) return true;
    if (!who.email.empty() && Lower(who.email) == Lower(r.email)) return true;
    if (!who.name.empty() && Lower(who.name) == Lower(r.email)) return true;
  }
  return false;
}

// The harvest position, kept as the source's cursor.
struct CursorState {
  std::int64_t high_water = 0;           // largest LastUpdated harvested
  std::int64_t pos_t = 0, pos_id = 0;    // keyset position reached in this run
  bool complete = true;                  // the run that wrote it finished
  std::map<std::int64_t, std::int64_t> seen;  // id -> LastUpdated, near high_water

  std::string ToJson() const {
    json seen_json = json::object();
    for (const auto& [id, t] : seen) seen_json[std::to_string(id)] = t;
    return json{{"v", 1}, {"hw", high_water}, {"t", pos_t}, {"id", pos_id},
                {"complete", complete}, {"seen", seen_json}}
        .dump();
  }

  static Result<CursorState> Parse(const std::string& text) {
    json j = json::parse(text, nullptr, false);
    auto bad = [] { return Status::Corruption("the stored cursor is not an RT cursor"); };
    if (!j.is_object() || j.value("v", 0) != 1) return bad();
    CursorState s;
    try {
      s.high_water = j.at("hw").get<std::int64_t>();
      s.pos_t = j.at("t").get<std::int64_t>();
      s.pos_id = j.at("id").get<std::int64_t>();
      s.complete = j.at("complete").get<bool>();
      for (const auto& [id, t] : j.at("seen").items()) s.seen[std::stoll(id)] = t.get<std::int64_t>();
    } catch (const std::exception&) {
      return bad();
    }
    return s;
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// Mapping

Ticket MapRtTicket(const std::string& source, const rt::Ticket& ticket,
                   const std::vector<rt::Transaction>& transactions,
                   const std::vector<rt::Attachment>& parts,
                   const std::vector<std::string>& resolved_statuses) {
  Ticket out;
  out.source = source;
  out.external_id = std::to_string(ticket.id);
  out.subject = ticket.subject;
  out.status = ticket.status;
  out.resolved = std::any_of(resolved_statuses.begin(), resolved_statuses.end(),
                             [&](const std::string& s) { return Lower(s) == Lower(ticket.status); });
  for (const auto& r : ticket.requestors) {
    if (r.email.empty() && r.real_name.empty()) continue;
    out.requester_name = r.real_name;
    out.requester_email = r.email;
    break;
  }
  if (out.requester_email.empty() && !ticket.requestors.empty() &&
      ticket.requestors.front().name.find('@') != std::string::npos)
    out.requester_email = ticket.requestors.front().name;  // RT names unprivileged users by address
  out.created_at = ticket.created;
  out.updated_at = ticket.last_updated;
  out.resolved_at = ticket.resolved;

  std::map<std::int64_t, std::vector<const rt::Attachment*>> parts_of;
  for (const auto& a : parts) parts_of[a.transaction_id].push_back(&a);

  std::vector<const rt::Transaction*> mine;
  for (const auto& x : transactions)
    if (x.ticket_id == ticket.id || x.ticket_id == 0) mine.push_back(&x);
  std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) { return a->id < b->id; });

  for (const rt::Transaction* x : mine) {
    Message m;
    if (x->type == "Create") {
      m.role = Role::kRequester;
    } else if (x->type == "Correspond") {
      m.role = IsRequestor(x->creator, ticket) ? Role::kRequester : Role::kAgent;
    } else if (x->type == "Comment") {
      m.role = Role::kAgent;
      m.is_public = false;
    } else {
      continue;  // EmailRecord, Status, Set, AddWatcher, ...
    }
    auto it = parts_of.find(x->id);
    if (it == parts_of.end()) continue;
    std::vector<const rt::Attachment*> sorted = it->second;
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->id < b->id; });
    const rt::Attachment* body = rt::PickBody(sorted);
    if (body == nullptr) continue;  // only files attached: nothing to learn from
    m.external_id = std::to_string(x->id);
    m.author = x->creator.name;
    m.body = body->content;
    m.content_type = MimeType(body->content_type);
    m.created_at = x->created != 0 ? x->created : ticket.created;
    out.messages.push_back(std::move(m));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Options

Result<RtSourceOptions> RtSourceOptions::FromConfig(const Config& config, const std::string& name) {
  auto entry = config.Source(name);
  if (!entry) return Status::NotFound("source '" + name + "' is not configured");
  const std::string what = "source " + name;
  const std::string type = entry->GetString("type", "");
  if (type != "rt") return Status::InvalidArgument(what + ": type is '" + type + "', not 'rt'");

  RtSourceOptions o;
  o.name = name;
  o.url = entry->GetString("url", "");
  if (o.url.empty()) return Status::InvalidArgument(what + ": 'url' is required (e.g. https://rt.example.com/REST/2.0)");
  if (auto u = http::ParseUrl(o.url); !u.ok()) return u.status().WithContext(what + ": url");
  o.queue = entry->GetString("queue", "");
  if (o.queue.empty()) return Status::InvalidArgument(what + ": 'queue' is required");
  o.filter = entry->GetString("filter", "");
  if (entry->Has("resolved_statuses")) o.resolved_statuses = entry->GetList("resolved_statuses");
  if (o.resolved_statuses.empty()) return Status::InvalidArgument(what + ": 'resolved_statuses' is empty");

  std::int64_t page_size = entry->GetInt("page_size", 100);
  if (page_size < 1 || page_size > 100)
    return Status::InvalidArgument(what + ": page_size must be 1..100 (RT's limit), not " + std::to_string(page_size));
  o.page_size = static_cast<int>(page_size);
  o.overlap_seconds = entry->GetInt("overlap_seconds", 300);
  if (o.overlap_seconds < 0) return Status::InvalidArgument(what + ": overlap_seconds must not be negative");
  std::int64_t timeout = entry->GetInt("timeout_seconds", 60);
  if (timeout < 1 || timeout > 3600) return Status::InvalidArgument(what + ": timeout_seconds must be 1..3600");
  o.timeout_seconds = static_cast<int>(timeout);
  std::string ca = entry->GetString("ca_file", "");
  if (!ca.empty()) o.ca_file = entry->ResolvePath(ca);

  auto token = entry->Secret("token");
  if (!token.ok()) return token.status().WithContext(what);
  if (*token && !(*token)->empty()) {
    o.auth.token = **token;
  } else {
    o.auth.user = entry->GetString("user", "");
    auto password = entry->Secret("password");
    if (!password.ok()) return password.status().WithContext(what);
    if (o.auth.user.empty() || !*password)
      return Status::InvalidArgument(what + ": no credentials: set " + EnvNameFor("sources." + name + ".token") +
                                     " or token_file (or user with " +
                                     EnvNameFor("sources." + name + ".password") + " or password_file)");
    o.auth.password = **password;
  }
  return o;
}

// ---------------------------------------------------------------------------
// The source

RtSource::RtSource(RtSourceOptions options, std::unique_ptr<rt::Client> client)
    : options_(std::move(options)), client_(std::move(client)) {}

Result<std::unique_ptr<RtSource>> RtSource::Create(RtSourceOptions options) {
  rt::ClientOptions co;
  co.base_url = options.url;
  co.auth = options.auth;
  co.http.request_timeout = std::chrono::seconds(options.timeout_seconds);
  co.http.connect_timeout = std::chrono::seconds(std::min(options.timeout_seconds, 10));
  co.http.ca_file = options.ca_file;
  co.http.retry = options.retry;
  auto client = rt::Client::Create(std::move(co));
  if (!client.ok()) return client.status().WithContext("source " + options.name);
  return std::unique_ptr<RtSource>(new RtSource(std::move(options), std::move(client).value()));
}

std::string RtSource::QueryAfter(std::int64_t t, std::int64_t id) const {
  std::string statuses;
  for (const auto& s : options_.resolved_statuses)
    statuses += (statuses.empty() ? "" : " OR ") + std::string("Status = ") + rt::TicketSqlQuote(s);
  std::string sql = "Queue = " + rt::TicketSqlQuote(options_.queue) + " AND (" + statuses + ")";
  if (!options_.filter.empty()) sql += " AND (" + options_.filter + ")";
  if (t > 0 || id > 0) {
    // Keyset paging: strictly after (t, id) in (LastUpdated, id) order. TicketSQL's
    // "=" on a date means the whole day, so ">= t AND NOT > t" stands for "= t".
    const std::string at = rt::TicketSqlTime(t);
    sql += " AND (LastUpdated > " + at + " OR (LastUpdated >= " + at + " AND id > " + std::to_string(id) + "))";
  }
  return sql;
}

Status RtSource::FetchConversations(const std::vector<rt::Ticket>& tickets,
                                    std::vector<rt::Transaction>* transactions,
                                    std::vector<rt::Attachment>* parts, HarvestPage* page) {
  std::vector<std::int64_t> ids;
  for (const auto& t : tickets) ids.push_back(t.id);
  static const std::vector<std::string> kTypes = {"Create", "Correspond", "Comment"};

  // A few batched searches for the whole page...
  auto batch = client_->TransactionsOf(ids, kTypes);
  if (batch.ok()) {
    std::vector<std::int64_t> txn_ids;
    for (const auto& x : *batch) txn_ids.push_back(x.id);
    auto texts = client_->TextAttachmentsOf(txn_ids);
    if (texts.ok()) {
      *transactions = std::move(batch).value();
      *parts = std::move(texts).value();
      return Status::OK();
    }
  }
  // ...and, when they fail (an RT without JSON searches, a transient error),
  // ticket by ticket, so a persistent error names the ticket it is about.
  transactions->clear();
  parts->clear();
  for (const auto& t : tickets) {
    const std::string which = "ticket " + std::to_string(t.id);
    auto history = client_->History(t.id);
    auto attachments = history.ok() ? client_->TicketAttachments(t.id) : Result<std::vector<rt::Attachment>>(history.status());
    if (!history.ok() || !attachments.ok()) {
      const Status& st = history.ok() ? attachments.status() : history.status();
      if (st.code() == Status::Code::kNotFound) {  // deleted since the search
        page->rejects.push_back({which, st.message()});
        continue;
      }
      return st.WithContext(which);
    }
    for (auto& x : *history) transactions->push_back(std::move(x));
    for (auto& a : *attachments) parts->push_back(std::move(a));
  }
  return Status::OK();
}

Result<HarvestPage> RtSource::NextPage(const std::optional<std::string>& cursor) {
  const std::string what = "source " + options_.name;
  CursorState state;
  if (cursor) {
    auto parsed = CursorState::Parse(*cursor);
    if (!parsed.ok()) return parsed.status().WithContext(what);
    state = std::move(parsed).value();
  }
  if (state.complete) {
    // A new run: step back by the overlap to catch late commits.
    if (state.high_water > 0) {
      state.pos_t = std::max<std::int64_t>(1, state.high_water - options_.overlap_seconds);
      state.pos_id = 0;
    }
    state.complete = false;
  }

  auto found = client_->SearchTickets(QueryAfter(state.pos_t, state.pos_id), 1, options_.page_size,
                                      {"LastUpdated", "id"});
  if (!found.ok()) return found.status().WithContext(what);

  HarvestPage page;
  std::vector<rt::Ticket> changed;
  for (const auto& t : found->tickets) {
    auto seen = state.seen.find(t.id);
    if (seen != state.seen.end() && seen->second == t.last_updated) continue;  // unchanged since harvested
    changed.push_back(t);
  }

  if (!changed.empty()) {
    std::vector<rt::Transaction> transactions;
    std::vector<rt::Attachment> parts;
    Status st = FetchConversations(changed, &transactions, &parts, &page);
    if (!st.ok()) return st.WithContext(what);
    std::set<std::int64_t> rejected;
    for (const auto& r : page.rejects) rejected.insert(std::stoll(r.where.substr(r.where.find(' ') + 1)));
    for (const auto& t : changed) {
      if (rejected.count(t.id)) continue;
      Ticket mapped = MapRtTicket(options_.name, t, transactions, parts, options_.resolved_statuses);
      if (!mapped.resolved) {  // the search asks for resolved ones; RT may differ in case
        page.skipped++;
        continue;
      }
      page.tickets.push_back(std::move(mapped));
    }
  }

  // A ticket changed again within the second we read it keeps its
  // LastUpdated, so only tickets older than the server's clock (minus a
  // second of slack) count as seen; the others are read again next run.
  const std::int64_t server_now = found->server_time > 0 ? found->server_time : std::time(nullptr);
  for (const auto& t : found->tickets) {
    if (t.last_updated < server_now - 1) state.seen[t.id] = t.last_updated;
    else state.seen.erase(t.id);
    state.high_water = std::max(state.high_water, t.last_updated);
    // Ordered by (LastUpdated, id): the last one is the new position.
    state.pos_t = t.last_updated;
    state.pos_id = t.id;
  }
  const std::int64_t keep_from = state.high_water - options_.overlap_seconds;
  std::erase_if(state.seen, [&](const auto& kv) { return kv.second < keep_from; });

  page.done = found->last;
  state.complete = page.done;
  page.next_cursor = state.ToJson();
  return page;
}

Result<std::unique_ptr<TicketSource>> MakeRtSource(const Config& config, const std::string& name) {
  auto options = RtSourceOptions::FromConfig(config, name);
  if (!options.ok()) return options.status();
  auto source = RtSource::Create(std::move(options).value());
  if (!source.ok()) return source.status();
  return std::unique_ptr<TicketSource>(std::move(source).value());
}

}  // namespace deskbot
