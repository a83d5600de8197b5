// The seams of deskbot: where a ticket system, a model or a chat plugs in.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bot/core/types.h"
#include "connectors/util/status.h"

namespace deskbot {

// A record a source could not turn into a ticket: set aside (e.g. copied to
// a rejects file) and reported, while the rest of the harvest goes on.
struct HarvestReject {
  std::string where;                 // "export.csv:17", "ticket 42"
  std::string reason;                // "malformed JSON: ...", "missing required field 'id'"
};

// One page of a harvest: tickets changed since the cursor, and the cursor to
// store with them (in the same transaction) once they are stored.
struct HarvestPage {
  std::vector<Ticket> tickets;       // resolved tickets only, messages filled in
  std::optional<std::string> next_cursor;
  bool done = false;                 // no more pages for now
  std::vector<HarvestReject> rejects;  // records of this page that were set aside
  std::int64_t skipped = 0;          // records read but not returned (not resolved)
};

// A ticket system. Adapters in bot/sources map a connector's terms onto Ticket.
class TicketSource {
 public:
  virtual ~TicketSource() = default;
  virtual const std::string& name() const = 0;
  // The next page after `cursor` (nullopt: from the beginning). Errors name the
  // source, the ticket and the reason.
  virtual util::Result<HarvestPage> NextPage(const std::optional<std::string>& cursor) = 0;
};

// A source ticket an answer was learned from.
struct SourceRef {
  std::string source;
  std::string ticket_external_id;
  std::string question;             // the stored (redacted) question, for display
  double score = 0;
};

struct Suggestion {
  std::string text;                  // empty when abstained
  double confidence = 0;             // calibrated: P(answer is right)
  bool abstained = true;             // below the threshold: "I don't know"
  std::vector<SourceRef> sources;
  std::string model_version;         // which version answered
};

// Anything that can suggest an answer to a question.
class AnswerModel {
 public:
  virtual ~AnswerModel() = default;
  virtual util::Result<Suggestion> Suggest(const std::string& question) const = 0;
};

}  // namespace deskbot
