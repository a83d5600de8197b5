// Reads a ticket export file row by row without loading it whole: JSONL (one
// JSON object per line) or CSV (RFC 4180, header row first). A row that
// cannot be read is returned with the reason and its exact bytes, so the
// caller can report "file:line: reason", copy it to a rejects file, and go on.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/files/record.h"
#include "connectors/util/status.h"

namespace files {

enum class Format { kJsonl, kCsv };
const char* FormatName(Format format);                  // "jsonl" | "csv"
std::optional<Format> ParseFormat(std::string_view name);  // jsonl, ndjson, csv
// From the file name: *.jsonl / *.ndjson / *.csv (any case).
std::optional<Format> FormatFromPath(const std::string& path);

// Where a reader stands: the byte offset of the next row and its line number.
struct Position {
  std::int64_t offset = 0;
  std::int64_t line = 1;
};

// A row the reader or its caller refused.
struct RowError {
  std::string file;
  std::int64_t line = 0;
  std::string reason;
  std::string ToString() const;  // "file:line: reason"
};

struct Row {
  std::int64_t line = 0;          // 1-based line the row starts on
  std::string raw;                // its bytes as read, line break included
  std::optional<Record> record;   // set when the row is well-formed
  std::string error;              // why it is not; empty otherwise
};

struct ReaderOptions {
  Format format = Format::kJsonl;
  // Fields every row must have (present, not null, not empty text). For CSV
  // these are columns, checked once against the header.
  std::vector<std::string> required;
  // CSV only: columns the header must have, whose values may be empty.
  std::vector<std::string> columns;
  // A longer row is refused (and only its first bytes kept), so one runaway
  // quote cannot exhaust memory.
  std::size_t max_row_bytes = std::size_t{256} << 20;
};

class Reader {
 public:
  // Opens `path` and positions it at `start` (a Position from an earlier
  // reader of the same file; {} for the beginning). A CSV header that lacks
  // a required column, or repeats one, is an error here, naming file:line.
  static util::Result<std::unique_ptr<Reader>> Open(const std::string& path,
                                                    const ReaderOptions& options,
                                                    const Position& start = {});
  ~Reader();

  // The next row (blank lines are skipped); nullopt at the end of the file.
  // An error only for I/O: malformed rows come back as rows with `error` set.
  util::Result<std::optional<Row>> Next();

  // After the last row returned: where a later reader resumes.
  Position position() const;
  const std::string& path() const;
  Format format() const;
  // The CSV header line exactly as read (to head a CSV rejects file); empty for JSONL.
  const std::string& header_raw() const;
  const std::vector<std::string>& columns() const;

  RowError ErrorFor(const Row& row, std::string reason) const {
    return RowError{path(), row.line, std::move(reason)};
  }

 private:
  struct Impl;
  explicit Reader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Appends refused rows, verbatim, to a file the operator can fix and import
// again. For CSV the header line is written first so the file stays valid CSV.
class RejectsFile {
 public:
  // Keeps the first `keep_bytes` of an existing file (what an earlier,
  // committed part of this run wrote) and drops the rest, so a resumed run
  // writes each reject once. keep_bytes = 0 removes the old file. The file
  // is created only when the first row is added.
  static util::Result<std::unique_ptr<RejectsFile>> Open(const std::string& path,
                                                         std::int64_t keep_bytes,
                                                         std::string header_raw);
  ~RejectsFile();
  util::Status Add(std::string_view raw);
  // Bytes in the file now (0 when it does not exist).
  std::int64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  RejectsFile() = default;
  std::string path_;
  std::string header_;
  std::int64_t size_ = 0;
};

// Identifies a file's contents cheaply: size, modification time and a hash of
// the first and last 64 KiB. A different fingerprint means "read it again".
util::Result<std::string> Fingerprint(const std::string& path);

}  // namespace files
