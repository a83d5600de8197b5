// Fuzz target for the export row parsers (CSV records, JSONL objects and
// field lookups). libFuzzer entry point; also run over a corpus with random
// mutations as an ordinary test (fuzz_corpus_test.cpp) where libFuzzer is not
// available. Aborts when an invariant breaks.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connectors/files/csv.h"
#include "connectors/files/record.h"

namespace {

void Require(bool ok) {
  if (!ok) std::abort();
}

void FuzzCsv(std::string_view text) {
  constexpr std::size_t kMax = 4096;
  auto records = files::ParseCsv(text, kMax);
  std::string joined;
  bool truncated = false;
  std::int64_t last_line = 0;
  for (const auto& r : records) {
    Require(!r.fields.empty());
    Require(r.line > last_line);
    Require(r.raw.size() <= kMax);
    last_line = r.line;
    if (r.raw.size() == kMax) truncated = true;
    joined += r.raw;
    // Field bytes come from the raw bytes: never more of them.
    std::size_t field_bytes = 0;
    for (const auto& f : r.fields) field_bytes += f.size();
    Require(field_bytes <= r.raw.size());
  }
  // Every byte belongs to exactly one record (unless a record was cut).
  if (!truncated) Require(joined == text);
  if (!text.empty()) Require(!records.empty());
}

void FuzzJsonLine(std::string_view line) {
  auto record = files::Record::FromJson(line);
  if (!record.ok()) {
    Require(!record.status().message().empty());
    return;
  }
  for (const char* path : {"id", "requester.name", "messages", "messages.0.body", "tags", "a.b.c"}) {
    (void)record->Text(path);
    (void)record->Bool(path);
    (void)record->List(path);
    auto objects = record->Objects(path);
    if (objects.ok())
      for (const auto& o : *objects) (void)o.Text("body");
    (void)record->KindOf(path);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  FuzzCsv(text);
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    FuzzJsonLine(text.substr(start, nl - start));
    start = nl + 1;
  }
  (void)files::FindInvalidUtf8(text);
  return 0;
}
