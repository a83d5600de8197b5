// The harvest loop: pages from a TicketSource into the Store, each page and
// its cursor in one transaction, so an interrupted harvest resumes after the
// last stored page and never stores a ticket twice.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bot/core/interfaces.h"
#include "bot/core/store.h"

namespace deskbot {

struct HarvestReport {
  std::string source;
  std::int64_t pages = 0;
  std::int64_t tickets_new = 0;      // not in the store before
  std::int64_t tickets_updated = 0;  // replaced in place
  std::int64_t skipped = 0;          // read but not resolved
  std::vector<HarvestReject> rejects;
  std::int64_t tickets() const { return tickets_new + tickets_updated; }
};

struct HarvestOptions {
  // Start from the stored cursor (false: from the beginning).
  bool resume = true;
  // Store each page's cursor (false for one-off imports, which must not move
  // a configured source's cursor).
  bool save_cursor = true;
  // Called after each stored page with the totals so far (progress output).
  std::function<void(const HarvestReport&)> on_page;
};

// Harvests until the source says it is done. On error, the pages already
// stored stay stored (the message says how many) and the error names the
// source, the page and, through the source or store, the ticket and reason.
// New/updated counts assume no other process writes tickets meanwhile.
util::Result<HarvestReport> Harvest(TicketSource& source, Store& store,
                                    const HarvestOptions& options = {});

}  // namespace deskbot
