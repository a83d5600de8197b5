// RtSource: resolved tickets from Request Tracker (REST2), for a [[sources]]
// entry with type = "rt":
//
//   [[sources]]
//   name = "rt"
//   type = "rt"
//   url = "https://rt.example.com/REST/2.0"
//   queue = "Helpdesk"
//   # token: env DESKBOT_SOURCES_RT_TOKEN or token_file = "/run/secrets/rt-token"
//   # (or user = "helpdesk-bot" with DESKBOT_SOURCES_RT_PASSWORD / password_file)
//   page_size = 100                 # tickets per page (RT caps it at 100)
//   overlap_seconds = 300           # re-read window behind the high-water mark
//   timeout_seconds = 60            # per HTTP request
//   resolved_statuses = ["resolved"]
//   filter = "Owner = 'alice'"      # optional TicketSQL ANDed to the search
//   ca_file = "certs/rt-ca.pem"     # optional: trust this CA instead of the system's
//
// Mapping: the Create transaction is the requester's question; a Correspond
// by someone who is not a requestor is an agent's public answer, one by a
// requestor a requester message; a Comment is an agent's internal note
// (is_public = false). Everything else (EmailRecord, Status, Set...) is
// skipped. Each message's text is the transaction's first text/plain part
// without a file name, else its text/html part.
//
// Cursor (JSON): the high-water LastUpdated, the keyset position (LastUpdated,
// id) reached, the (id -> LastUpdated) of tickets seen within overlap_seconds
// of the high-water mark, and whether the last run finished. A new run
// starts overlap_seconds behind the high-water mark (RT's clock has second
// precision and commits can land late) and skips tickets already seen with
// the same LastUpdated, so a re-run fetches nothing new; an interrupted run
// resumes at its keyset position. Each page costs one search plus a few
// batched transaction/attachment searches, not two requests per ticket.
//
// The bot's RT user must have its time zone on UTC (TicketSQL dates are read
// in the user's zone).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bot/core/config.h"
#include "bot/core/interfaces.h"
#include "connectors/rt/client.h"

namespace deskbot {

struct RtSourceOptions {
  std::string name;
  std::string url;                   // REST2 base, ".../REST/2.0"
  std::string queue;
  rt::Auth auth;
  std::string filter;                // extra TicketSQL, ANDed
  std::vector<std::string> resolved_statuses = {"resolved"};
  int page_size = 100;
  std::int64_t overlap_seconds = 300;
  int timeout_seconds = 60;
  std::string ca_file;
  http::RetryPolicy retry;

  // The [[sources]] entry `name` (type = "rt"). Errors name the source and
  // the setting, never a secret's value.
  static util::Result<RtSourceOptions> FromConfig(const Config& config, const std::string& name);
};

class RtSource final : public TicketSource {
 public:
  static util::Result<std::unique_ptr<RtSource>> Create(RtSourceOptions options);
  const std::string& name() const override { return options_.name; }
  util::Result<HarvestPage> NextPage(const std::optional<std::string>& cursor) override;

  // The TicketSQL of a page starting after keyset position (t, id).
  std::string QueryAfter(std::int64_t t, std::int64_t id) const;

 private:
  RtSource(RtSourceOptions options, std::unique_ptr<rt::Client> client);
  util::Status FetchConversations(const std::vector<rt::Ticket>& tickets,
                                  std::vector<rt::Transaction>* transactions,
                                  std::vector<rt::Attachment>* parts, HarvestPage* page);

  RtSourceOptions options_;
  std::unique_ptr<rt::Client> client_;
};

// One RT ticket, its transactions and their text parts (any order; other
// tickets' entries are ignored) as a deskbot Ticket.
Ticket MapRtTicket(const std::string& source, const rt::Ticket& ticket,
                   const std::vector<rt::Transaction>& transactions,
                   const std::vector<rt::Attachment>& parts,
                   const std::vector<std::string>& resolved_statuses = {"resolved"});

// For the factory: MakeSource(config, name) for type = "rt".
util::Result<std::unique_ptr<TicketSource>> MakeRtSource(const Config& config, const std::string& name);

}  // namespace deskbot
