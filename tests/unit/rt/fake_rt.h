// A fake RT 5 REST2 server for unit tests: canned tickets, transactions and
// attachments in the JSON shapes RT 5.0.3 really sends (see
// shared/peers/rt5/README.md: ids as strings in collections, null total/pages
// on history/attachment collections, plain Content in collections), with
// TicketSQL keyset filtering, paging and JSON searches good enough for
// RtSource. Knobs let tests break it in the ways RT breaks.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/http/test_server.h"

namespace fake_rt {

struct Person {
  std::string name, email, real_name;
};

struct Ticket {
  std::int64_t id = 0;
  std::string subject;
  std::string status = "resolved";
  std::string queue = "Helpdesk";
  std::vector<Person> requestors;
  std::int64_t created = 0, last_updated = 0, resolved = 0;
};

struct Txn {
  std::int64_t id = 0, ticket = 0;
  std::string type;
  Person creator;
  std::int64_t created = 0;
};

struct Part {
  std::int64_t id = 0, txn = 0;
  std::string content_type, filename, content;
};

// "2026-11-23T23:24:29Z"
std::string IsoTime(std::int64_t t);

class FakeRt {
 public:
  FakeRt();  // seeded like the RT peer: tickets 1..5 (4 open), see fake_rt.cpp
  ~FakeRt();

  std::string base_url() const;  // "http://127.0.0.1:<port>/REST/2.0"

  // The data (lock mu() while changing it from a test).
  std::mutex& mu() { return mu_; }
  std::vector<Ticket> tickets;
  std::vector<Txn> txns;
  std::vector<Part> parts;

  // Knobs.
  std::string token = "1-30-0123456789abcdef0123456789abcdef";  // accepted credentials
  std::string password = "botpass";                              // for user helpdesk-bot
  bool has_login_page = true;
  std::atomic<bool> fail_batch{false};        // 500 on POST /transactions and /attachments
  std::atomic<bool> refuse_writes{false};     // 200 ["Permission Denied"], nothing changed
  std::set<std::int64_t> fail_history;        // 500 on /ticket/<id>/history
  std::set<std::int64_t> missing;             // 404 on /ticket/<id>/...
  std::atomic<std::int64_t> server_time{0};   // Date header; 0 = now

  // What was asked.
  int Count(const std::string& what) const;   // "search", "transactions", "attachments", "history", "login", ...
  std::vector<std::string> ticket_queries() const;
  std::vector<testing_http::Received> received() const { return server_->received(); }
  void ExpireSessions();

 private:
  testing_http::Reply Handle(const testing_http::Received& r);
  testing_http::Reply Search(const testing_http::Received& r);

  mutable std::mutex mu_;
  std::map<std::string, int> counts_;
  std::vector<std::string> queries_;
  std::set<std::string> sessions_;
  int next_session_ = 1;
  std::unique_ptr<testing_http::TestServer> server_;
};

}  // namespace fake_rt
