// An RFC 4180 CSV parser that streams records and keeps, for each, the exact
// bytes it came from and the line it started on -- what an importer needs to
// report "file:line: reason" and to copy a bad row verbatim to a rejects file.
// (libcsv, the Debian CSV library, reports neither, and cannot resynchronise
// after a malformed row.)
//
// Accepted: fields separated by ',', records ended by LF or CRLF (or the end
// of the input), fields optionally in double quotes, which may then hold
// commas, line breaks and doubled quotes (""). A quote inside an unquoted
// field is kept as a literal character (`24" monitor`), as most exporters
// expect. Malformed (the record is returned with `error` set and parsing
// resumes at the next record): text after a closing quote (`"a"b`), a quoted
// field still open at the end of the input, a record over the size limit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/files/byte_stream.h"

namespace files {

struct CsvRecord {
  std::vector<std::string> fields;
  std::string raw;            // the record's bytes, line break included
  std::int64_t line = 0;      // 1-based line the record starts on
  std::string error;          // why it is malformed; empty when well-formed
  bool blank() const { return error.empty() && fields.size() == 1 && fields[0].empty(); }
};

class CsvParser {
 public:
  CsvParser(ByteStream* in, std::int64_t first_line, std::size_t max_record_bytes);

  // Reads the next record; false at the end of the input.
  bool Next(CsvRecord* out);
  // The line the next record starts on.
  std::int64_t line() const { return line_; }

 private:
  ByteStream* in_;
  std::int64_t line_;
  std::size_t max_record_bytes_;
};

// Every record of `text` (tests and fuzzing).
std::vector<CsvRecord> ParseCsv(std::string_view text, std::size_t max_record_bytes = 1 << 20);

}  // namespace files
