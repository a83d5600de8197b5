#include "connectors/files/csv.h"

namespace files {

CsvParser::CsvParser(ByteStream* in, std::int64_t first_line, std::size_t max_record_bytes)
    : in_(in), line_(first_line), max_record_bytes_(max_record_bytes) {}

bool CsvParser::Next(CsvRecord* out) {
  out->fields.clear();
  out->raw.clear();
  out->error.clear();
  out->line = line_;
  if (in_->Peek() < 0) return false;

  std::string field;
  bool in_quotes = false;     // inside "..."
  bool after_quote = false;   // just after the closing quote of a field
  bool oversized = false;
  bool field_started = false;  // a byte of the current field was read
  std::int64_t quote_line = 0;
  auto fail = [out](std::string reason) {
    if (out->error.empty()) out->error = std::move(reason);
  };
  auto keep = [&](char c, bool data) {
    // Past the limit the record is still read to its end (to resume at the
    // next one), but no longer kept.
    if (out->raw.size() >= max_record_bytes_) {
      if (!oversized) {
        oversized = true;
        out->error = "record is larger than " + std::to_string(max_record_bytes_) + " bytes";
      }
      return;
    }
    out->raw.push_back(c);
    if (data) field.push_back(c);
  };

  for (;;) {
    int c = in_->Get();
    if (c < 0) {  // end of input ends the record
      if (in_quotes)
        fail("quoted field opened on line " + std::to_string(quote_line) + " is never closed");
      break;
    }
    const char ch = static_cast<char>(c);
    if (in_quotes) {
      if (ch == '"') {
        keep(ch, false);
        if (in_->Peek() == '"') {  // "" is one quote
          in_->Get();
          keep('"', true);
        } else {
          in_quotes = false;
          after_quote = true;
        }
      } else {
        if (ch == '\n') ++line_;
        keep(ch, true);
      }
      continue;
    }
    if (ch == '\n' || (ch == '\r' && in_->Peek() == '\n')) {
      if (ch == '\r') {
        keep(ch, false);
        in_->Get();
      }
      keep('\n', false);
      ++line_;
      break;
    }
    if (ch == ',') {
      keep(ch, false);
      out->fields.push_back(std::move(field));
      field.clear();
      after_quote = false;
      field_started = false;
      continue;
    }
    if (after_quote) {
      fail("unexpected text after the closing quote of field " +
           std::to_string(out->fields.size() + 1));
      keep(ch, true);
      continue;
    }
    if (ch == '"' && !field_started) {  // only a field's first byte opens quotes
      field_started = true;
      keep(ch, false);
      in_quotes = true;
      quote_line = line_;
      continue;
    }
    field_started = true;
    keep(ch, true);
  }
  out->fields.push_back(std::move(field));
  if (in_->failed()) fail("read error");
  return true;
}

std::vector<CsvRecord> ParseCsv(std::string_view text, std::size_t max_record_bytes) {
  ByteStream in(text);
  CsvParser parser(&in, 1, max_record_bytes);
  std::vector<CsvRecord> out;
  CsvRecord rec;
  while (parser.Next(&rec)) out.push_back(rec);
  return out;
}

}  // namespace files
