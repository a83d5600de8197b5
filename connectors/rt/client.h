// Request Tracker's REST2 API, in RT's own terms: tickets found by TicketSQL,
// their transactions (history) and attachments, users, and the few writes a
// help desk needs (create, comment, correspond, set status).
//
// Facts about RT 5 this client absorbs (see shared/peers/rt5/README.md):
// - ids are strings in collections ("5") and numbers in single records (5);
// - collections of history/attachments may have null total/pages and no
//   next_page for non-superusers: page until a page holds fewer than per_page;
// - TicketSQL dates are 'YYYY-MM-DD HH:MM:SS' in the requesting user's time
//   zone (keep the bot's user on UTC); anything else is silently ignored by RT
//   and matches everything, so dates only go in through TicketSqlTime();
// - POST/PUT need Content-Type: application/json even without a body;
// - writes RT refuses may still answer 200 with the reason in a message list,
//   so writes check what they can (SetStatus reads the ticket back).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/client.h"
#include "connectors/util/status.h"

namespace rt {

// Either a REST2 auth token ("Authorization: token ...") or a user name and
// password. The token wins when both are set.
//
// RT checks a token or password with a deliberately slow hash on EVERY
// request (~0.25 s); a session cookie costs ~10 ms. So with a password the
// client logs in once (POST /NoAuth/Login.html) and sends the session cookie,
// logging in again when the session expires; if the login page is not there
// (SSO setups), it falls back to basic auth. Tokens cannot open a session.
struct Auth {
  std::string token;
  std::string user;
  std::string password;
  bool session_login = true;
};

struct ClientOptions {
  std::string base_url;        // "http://127.0.0.1:8089/REST/2.0" (trailing '/' optional)
  Auth auth;
  http::ClientOptions http;    // timeouts, retries, CA file
};

// A user as RT names them: by Name (login); email and real name when asked for.
struct UserRef {
  std::string name;
  std::string email;
  std::string real_name;
};

struct User {
  std::int64_t id = 0;
  std::string name;
  std::string email;
  std::string real_name;
  bool privileged = false;
};

// Times are UTC seconds since the epoch; 0 means "not set" (RT's 1970-01-01).
struct Ticket {
  std::int64_t id = 0;
  std::string subject;
  std::string status;
  std::string queue;           // the queue's id as RT gives it ("3"), or its name if asked for
  std::string owner;           // user Name; "Nobody" when unowned
  std::vector<UserRef> requestors;
  std::int64_t created = 0;
  std::int64_t last_updated = 0;
  std::int64_t resolved = 0;
};

struct Transaction {
  std::int64_t id = 0;
  std::int64_t ticket_id = 0;  // ObjectId (0 when RT did not say)
  std::string type;            // "Create", "Correspond", "Comment", "EmailRecord", "Status", ...
  UserRef creator;
  std::int64_t created = 0;
};

struct Attachment {
  std::int64_t id = 0;
  std::int64_t transaction_id = 0;
  std::string content_type;    // as RT stores it: "text/plain", "multipart/alternative"
  std::string filename;        // "" for message bodies
  std::string subject;
  std::string content;         // plain text in collections (RT sends it decoded)
  std::int64_t content_length = 0;
};

struct TicketPage {
  std::vector<Ticket> tickets;
  int page = 1;
  int per_page = 0;
  int count = 0;
  std::optional<std::int64_t> total;  // RT may leave it null
  bool last = true;                   // no page after this one
  std::int64_t server_time = 0;       // the server's clock (Date header) when it answered; 0 if absent
};

struct NewTicket {
  std::string queue;
  std::string subject;
  std::string requestor;       // email address or user name
  std::string content;
  std::string content_type = "text/plain";
  std::string status;          // optional initial status
};

class Client {
 public:
  static util::Result<std::unique_ptr<Client>> Create(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // --- reads -----------------------------------------------------------------
  // One page (1-based) of a TicketSQL search, ordered by `order_by` ascending
  // (always give an order: RT's default is arbitrary). Requestors come with
  // their email address and real name.
  util::Result<TicketPage> SearchTickets(const std::string& ticket_sql, int page, int per_page,
                                         const std::vector<std::string>& order_by = {"LastUpdated", "id"});
  // Every page of a search.
  util::Result<std::vector<Ticket>> SearchAllTickets(const std::string& ticket_sql, int per_page = 100);
  util::Result<Ticket> GetTicket(std::int64_t id);
  // A ticket's transactions, oldest first.
  util::Result<std::vector<Transaction>> History(std::int64_t ticket_id);
  // Every attachment (MIME part) of a ticket, all transactions, oldest first.
  util::Result<std::vector<Attachment>> TicketAttachments(std::int64_t ticket_id);
  // Batched forms for harvesting many tickets in a few requests: the
  // transactions of `ticket_ids` whose type is one of `types` (all types when
  // empty), and the text/* parts of `transaction_ids`. Both oldest first.
  util::Result<std::vector<Transaction>> TransactionsOf(const std::vector<std::int64_t>& ticket_ids,
                                                        const std::vector<std::string>& types);
  util::Result<std::vector<Attachment>> TextAttachmentsOf(const std::vector<std::int64_t>& transaction_ids);
  util::Result<User> GetUser(const std::string& name);
  // GET /rt: {"Version": ...}. A cheap check of the URL and the credentials.
  util::Result<std::string> Version();

  // --- writes ----------------------------------------------------------------
  util::Result<std::int64_t> CreateTicket(const NewTicket& ticket);
  util::Status Comment(std::int64_t ticket_id, const std::string& content,
                       const std::string& content_type = "text/plain");
  // A reply to the requestors; `status` also sets the status in the same call.
  util::Status Correspond(std::int64_t ticket_id, const std::string& content,
                          const std::string& content_type = "text/plain",
                          const std::string& status = "");
  // Sets the status and reads the ticket back: RT may answer 200 to a refusal.
  util::Status SetStatus(std::int64_t ticket_id, const std::string& status);
  // Makes the calling user the owner.
  util::Status Take(std::int64_t ticket_id);
  // Marks the ticket deleted (it then vanishes from every search).
  util::Status DeleteTicket(std::int64_t ticket_id);

 private:
  class Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The body of one transaction among its parts: the first text/plain part
// without a file name, else the first such text/html part; nullptr if none.
const Attachment* PickBody(const std::vector<const Attachment*>& parts);

// 'YYYY-MM-DD HH:MM:SS' (UTC) for TicketSQL, quotes included.
std::string TicketSqlTime(std::int64_t unix_seconds);
// A TicketSQL string literal: 'it\'s' (backslash escapes, as RT's parser wants).
std::string TicketSqlQuote(std::string_view value);
// "2026-11-23T23:24:29Z" or "2026-11-23 23:24:29" -> seconds; RT's "not set"
// (1970-01-01T00:00:00Z) -> 0. Fails on anything else.
util::Result<std::int64_t> ParseRtTime(std::string_view text);

}  // namespace rt
