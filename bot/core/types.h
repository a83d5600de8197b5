// The domain of deskbot: tickets harvested from a help desk, the training
// pairs made from them, and the model versions trained on those pairs.
// Plain structs with no behaviour; core/ includes nothing else of bot/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace deskbot {

using UnixSeconds = std::int64_t;

// The wall clock as the store keeps times: Unix seconds, and Unix
// milliseconds (the chat service's queues).
UnixSeconds NowSeconds();
std::int64_t NowMs();

enum class Role { kRequester, kAgent, kSystem };
const char* RoleName(Role role);                    // "requester" | "agent" | "system"
std::optional<Role> ParseRole(const std::string& s);

// One message of a ticket's conversation, as the ticket system had it.
struct Message {
  std::string external_id;          // the system's id of the message (RT transaction id)
  Role role = Role::kRequester;
  bool is_public = true;            // false: an internal note, never used as an answer
  std::string author;               // login or address, as the source names people
  std::string body;                 // raw body as harvested (text or HTML)
  std::string content_type = "text/plain";  // "text/plain" | "text/html"
  UnixSeconds created_at = 0;
};

// A ticket as harvested. Keyed by (source, external_id): importing the same
// ticket again replaces it in place.
struct Ticket {
  std::int64_t id = 0;              // store's id, 0 until stored
  std::string source;               // configured source name ("rt", "export")
  std::string external_id;          // the system's ticket id
  std::string subject;
  std::string status;               // the system's status word ("resolved", "solved", ...)
  bool resolved = false;            // the source adapter's verdict
  std::string requester_name;       // used to redact the requester's own name
  std::string requester_email;
  std::vector<std::string> tags;
  UnixSeconds created_at = 0;
  UnixSeconds updated_at = 0;
  UnixSeconds resolved_at = 0;
  std::vector<Message> messages;    // in conversation order
};

enum class PairOrigin { kHarvested, kApproved, kEdited };
const char* PairOriginName(PairOrigin origin);       // "harvested" | "approved" | "edited"
std::optional<PairOrigin> ParsePairOrigin(const std::string& s);

enum class Split { kTrain, kValid };
const char* SplitName(Split split);                  // "train" | "valid"
std::optional<Split> ParseSplit(const std::string& s);

// A cleaned, redacted question and the answer that resolved it.
struct Pair {
  std::int64_t id = 0;
  std::string source;
  std::string ticket_external_id;   // empty for pairs that came from chat
  std::string question;
  std::string answer;
  PairOrigin origin = PairOrigin::kHarvested;
  double weight = 1.0;
  Split split = Split::kTrain;
  UnixSeconds created_at = 0;       // when the question was asked (for time splits)
};

// An agent's edit: the edited answer is preferred to the model's suggestion.
struct PreferencePair {
  std::int64_t id = 0;
  std::string question;
  std::string preferred;
  std::string rejected;
  UnixSeconds created_at = 0;
};

// A record of one `dataset build`: what the model trained on.
struct DatasetSnapshot {
  std::int64_t id = 0;
  std::string content_hash;         // hash over the pairs, so two builds can be compared
  std::int64_t train_pairs = 0;
  std::int64_t valid_pairs = 0;
  std::string report_json;          // the build report
  UnixSeconds created_at = 0;
};

enum class ModelState { kCandidate, kPromoted, kRetired, kFailed };
const char* ModelStateName(ModelState state);        // "candidate" | "promoted" | "retired" | "failed"
std::optional<ModelState> ParseModelState(const std::string& s);

// One trained model version in the registry.
struct ModelVersion {
  std::int64_t id = 0;
  std::string backend = "local";    // "local" | "openai" | ...
  std::int64_t snapshot_id = 0;     // the DatasetSnapshot it was trained on
  ModelState state = ModelState::kCandidate;
  std::string path;                 // model directory on disk (local backend)
  std::string checksum;             // SHA-256 of the model files, checked on load
  std::string remote_id;            // e.g. a fine-tuning job or model id
  std::string metrics_json;         // evaluation on the validation split
  std::string note;                 // why it was (not) promoted
  UnixSeconds created_at = 0;
  UnixSeconds updated_at = 0;
};

// One entry of the audit log: who did what, and whether they were allowed.
struct AuditEntry {
  std::int64_t id = 0;
  std::string actor;
  std::string action;
  std::string detail;
  UnixSeconds at = 0;
};

}  // namespace deskbot
