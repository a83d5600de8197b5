// FilesSource: tickets from an export file (JSONL or CSV), for a [[sources]]
// entry with type = "files":
//
//   [[sources]]
//   name = "export"
//   type = "files"
//   path = "exports/tickets.csv"      # relative to the config file
//   format = "csv"                    # "jsonl" | "csv"; default from the extension
//   rejects = "rejects/export.csv"    # default <data_dir>/rejects/<name>.rejects.<ext>
//   resolved_statuses = ["resolved", "closed", "solved"]   # the default
//   assume_resolved = false           # true: every row is resolved (Q/A lists)
//   page_size = 500                   # rows per page (one transaction each)
//   [sources.fields]                  # deskbot field = field in the file
//   external_id = "Ticket ID"
//   question = "Question"
//
// Fields (the defaults read deskbot's native JSONL export, one ticket a line:
// {"id","subject","status","requester":{"name","email"},"created_at",...,
// "tags":[...],"messages":[{"id","author","role","public","content_type",
// "created_at","body"}]} with ISO 8601 UTC times):
//   external_id ("id"), subject, status, requester_name ("requester.name";
//   CSV "requester_name"), requester_email ("requester.email"; CSV
//   "requester_email"), created_at, updated_at, resolved_at, tags, messages,
//   and inside each message: message_id ("id"), message_author ("author"),
//   message_role ("role"), message_public ("public"), message_content_type
//   ("content_type"), message_created_at ("created_at"), message_body ("body").
//   A row without messages but with question and answer (the flat CSV shape)
//   becomes a two-message ticket: the requester's question, the agent's answer.
//
// Rows that cannot be read or mapped (malformed JSON, a missing field, bad
// UTF-8, a wrong type) are copied verbatim to the rejects file and reported
// as "file:line: reason"; the other rows import. Only resolved tickets are
// returned; the others are counted as skipped.
//
// Cursor: the file's fingerprint and the byte offset reached, so re-running
// on an unchanged file reads nothing, a resumed harvest continues where the
// last stored page ended, and a changed file is read again from the start
// (imports are idempotent). The cursor also holds the rejects file's size at
// that point, so a resumed harvest does not write a reject twice.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bot/core/config.h"
#include "bot/core/interfaces.h"
#include "connectors/files/reader.h"

namespace deskbot {

struct FileFieldMap {
  std::string external_id = "id";
  std::string subject = "subject";
  std::string status = "status";
  std::string requester_name = "requester.name";
  std::string requester_email = "requester.email";
  std::string created_at = "created_at";
  std::string updated_at = "updated_at";
  std::string resolved_at = "resolved_at";
  std::string tags = "tags";
  std::string messages = "messages";
  std::string question = "question";
  std::string answer = "answer";
  std::string message_id = "id";
  std::string message_author = "author";
  std::string message_role = "role";
  std::string message_public = "public";
  std::string message_content_type = "content_type";
  std::string message_created_at = "created_at";
  std::string message_body = "body";

  // The defaults for a format (CSV names the requester columns flatly).
  static FileFieldMap Defaults(files::Format format);
};

struct FilesSourceOptions {
  std::string name;                  // the source name tickets are stored under
  std::string path;
  files::Format format = files::Format::kJsonl;
  std::string rejects_path;
  FileFieldMap fields;
  std::vector<std::string> resolved_statuses = {"resolved", "closed", "solved"};  // lower case
  bool assume_resolved = false;
  std::int64_t page_size = 500;
  std::size_t max_row_bytes = std::size_t{256} << 20;

  // The [[sources]] entry `name` of `config` (which must have type = "files").
  static util::Result<FilesSourceOptions> FromConfig(const Config& config, const std::string& name);
  // A one-off file (`deskbot import`): format from the extension unless
  // given, default fields, rejects under the data directory.
  static util::Result<FilesSourceOptions> ForFile(const Config& config, const std::string& path,
                                                  const std::string& name,
                                                  std::optional<files::Format> format);
};

class FilesSource final : public TicketSource {
 public:
  explicit FilesSource(FilesSourceOptions options);
  const std::string& name() const override { return options_.name; }
  util::Result<HarvestPage> NextPage(const std::optional<std::string>& cursor) override;
  const FilesSourceOptions& options() const { return options_; }

 private:
  FilesSourceOptions options_;
};

}  // namespace deskbot
