// One record of a ticket export, in the file's own terms: a JSON object
// (JSONL) or a CSV row (every value text). Fields are addressed by dotted
// paths ("requester.name", "messages.0.body"); a key that itself contains dots
// is found first. CSV rows are flat: a path is just the column name.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

namespace files {

class Record {
 public:
  enum class Kind { kMissing, kNull, kText, kNumber, kBool, kList, kObject };

  Record();
  ~Record();
  Record(const Record&);
  Record& operator=(const Record&);
  Record(Record&&) noexcept;
  Record& operator=(Record&&) noexcept;

  // A CSV row: column names and values, in order.
  static Record FromRow(const std::vector<std::string>& columns,
                        const std::vector<std::string>& values);
  // A JSON object. Returns the reason when `json` is not one (malformed JSON,
  // invalid UTF-8, another JSON type); the reason never quotes the input.
  static util::Result<Record> FromJson(std::string_view json);

  Kind KindOf(std::string_view path) const;
  bool Has(std::string_view path) const;  // present and not null

  // A scalar as text: strings as they are, numbers in decimal, booleans as
  // "true"/"false". nullopt when missing or null; kInvalidArgument ("field
  // 'x' is a list, expected text") for lists and objects.
  util::Result<std::optional<std::string>> Text(std::string_view path) const;
  // A JSON boolean, 0/1, or text true/false/yes/no/1/0 (any case).
  util::Result<std::optional<bool>> Bool(std::string_view path) const;
  // A JSON list of scalars, or text split at ',' and ';' (trimmed, empty
  // items dropped). Empty when missing or null.
  util::Result<std::vector<std::string>> List(std::string_view path) const;
  // The elements of a JSON list of objects. Empty when missing or null.
  util::Result<std::vector<Record>> Objects(std::string_view path) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

const char* KindName(Record::Kind kind);  // "missing", "text", "number", ...

// The byte offset of the first invalid UTF-8 sequence in `text`, or -1 when
// it is all valid UTF-8 (overlong forms and surrogates are invalid).
std::int64_t FindInvalidUtf8(std::string_view text);

}  // namespace files
