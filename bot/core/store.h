// The Store: everything deskbot keeps. SQLite (bot/store/sqlite_store) is the
// embedded default; a PostgreSQL implementation can satisfy the same interface
// for several replicas. Every method is one transaction.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bot/core/types.h"
#include "connectors/util/status.h"

namespace deskbot {

using util::Result;
using util::Status;

class Store {
 public:
  virtual ~Store() = default;

  // --- tickets and harvest cursors -----------------------------------------
  // Inserts or replaces (by source + external_id) the tickets with their
  // messages, and, when `cursor` is set, stores it as the source's harvest
  // cursor -- all in one transaction, so a killed harvest resumes exactly
  // where its last committed page ended.
  virtual Status UpsertTickets(const std::string& source, std::span<const Ticket> tickets,
                               const std::optional<std::string>& cursor) = 0;
  virtual Result<std::optional<std::string>> GetCursor(const std::string& source) = 0;
  virtual Result<std::optional<Ticket>> GetTicket(const std::string& source,
                                                  const std::string& external_id) = 0;
  // Visits every stored ticket in id order; return false from `fn` to stop.
  virtual Status ForEachTicket(const std::function<bool(const Ticket&)>& fn) = 0;
  virtual Result<std::int64_t> CountTickets() = 0;

  // --- training pairs ------------------------------------------------------
  // Replaces all pairs of origin "harvested" with `pairs` and records the
  // snapshot, in one transaction. Approved and edited pairs are kept.
  // Returns the new snapshot's id.
  virtual Result<std::int64_t> ReplaceHarvestedPairs(std::span<const Pair> pairs,
                                                     const DatasetSnapshot& snapshot) = 0;
  virtual Result<std::int64_t> AddPair(const Pair& pair) = 0;
  virtual Status ForEachPair(const std::function<bool(const Pair&)>& fn) = 0;
  virtual Result<std::int64_t> AddPreferencePair(const PreferencePair& pair) = 0;
  virtual Status ForEachPreferencePair(const std::function<bool(const PreferencePair&)>& fn) = 0;
  virtual Result<std::optional<DatasetSnapshot>> LatestSnapshot() = 0;

  // --- model registry ------------------------------------------------------
  virtual Result<std::int64_t> AddModelVersion(const ModelVersion& version) = 0;
  virtual Status UpdateModelVersion(const ModelVersion& version) = 0;
  virtual Result<std::vector<ModelVersion>> ListModelVersions() = 0;
  virtual Result<std::optional<ModelVersion>> GetModelVersion(std::int64_t id) = 0;
  // Marks `id` promoted and the previously promoted version retired, atomically.
  virtual Status PromoteModelVersion(std::int64_t id, const std::string& note) = 0;

  // --- audit log -----------------------------------------------------------
  virtual Status AppendAudit(const AuditEntry& entry) = 0;
  virtual Result<std::vector<AuditEntry>> ListAudit(std::int64_t limit) = 0;
};

}  // namespace deskbot
