#include "connectors/files/reader.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/unit/store/temp_dir.h"

using deskbot::testing::TempDir;
namespace fs = std::filesystem;

namespace files {
namespace {

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Reader> OpenOrDie(const std::string& path, const ReaderOptions& options,
                                  const Position& start = {}) {
  auto r = Reader::Open(path, options, start);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

std::vector<Row> ReadAll(Reader& reader) {
  std::vector<Row> rows;
  for (;;) {
    auto row = reader.Next();
    REQUIRE(row.ok());
    if (!row->has_value()) break;
    rows.push_back(std::move(**row));
  }
  return rows;
}

TEST_CASE("reader: format from the file name", "[files][reader]") {
  CHECK(FormatFromPath("x/tickets.JSONL") == Format::kJsonl);
  CHECK(FormatFromPath("x.ndjson") == Format::kJsonl);
  CHECK(FormatFromPath("x.csv") == Format::kCsv);
  CHECK_FALSE(FormatFromPath("x.txt").has_value());
  CHECK_FALSE(FormatFromPath("noext").has_value());
  CHECK(ParseFormat("CSV") == Format::kCsv);
}

TEST_CASE("reader: JSONL with a malformed line in the middle", "[files][reader]") {
  TempDir dir;
  const std::string path = dir.File("t.jsonl");
  Write(path,
        "{\"id\":\"1\",\"status\":\"resolved\"}\n"
        "\n"
        "{\"id\":\"2\",\"status\":\"resolved\"\n"   // missing brace
        "{\"status\":\"resolved\"}\r\n"              // missing id
        "[\"not\",\"an\",\"object\"]\n"
        "{\"id\":\"  \",\"status\":\"closed\"}\n"    // blank id
        "{\"id\":3,\"status\":\"closed\"}");         // no final newline
  ReaderOptions opts;
  opts.required = {"id"};
  auto reader = OpenOrDie(path, opts);
  auto rows = ReadAll(*reader);
  REQUIRE(rows.size() == 6);
  CHECK(rows[0].record.has_value());
  CHECK(rows[0].line == 1);
  CHECK(rows[1].line == 3);
  CHECK(rows[1].error.rfind("malformed JSON", 0) == 0);
  CHECK(rows[1].raw == "{\"id\":\"2\",\"status\":\"resolved\"\n");
  CHECK(rows[2].line == 4);
  CHECK(rows[2].error == "missing required field 'id'");
  CHECK(rows[2].raw == "{\"status\":\"resolved\"}\r\n");
  CHECK(rows[3].error.find("expected a JSON object") != std::string::npos);
  CHECK(rows[4].error == "missing required field 'id'");
  REQUIRE(rows[5].record.has_value());
  CHECK(rows[5].line == 7);
  CHECK(rows[5].record->Text("id")->value() == "3");
  CHECK(reader->ErrorFor(rows[1], "x").ToString() == path + ":3: x");
  CHECK(reader->position().offset == static_cast<std::int64_t>(fs::file_size(path)));
}

TEST_CASE("reader: resumes from a saved position", "[files][reader]") {
  TempDir dir;
  for (Format format : {Format::kJsonl, Format::kCsv}) {
    const std::string path = dir.File(std::string("t.") + FormatName(format));
    if (format == Format::kJsonl) {
      Write(path, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n");
    } else {
      Write(path, "id,body\na,\"x\ny\"\nb,z\nc,w\n");
    }
    ReaderOptions opts;
    opts.format = format;
    auto first = OpenOrDie(path, opts);
    auto row = first->Next();
    REQUIRE(row->has_value());
    CHECK((*row)->record->Text("id")->value() == "a");
    Position pos = first->position();

    auto second = OpenOrDie(path, opts, pos);
    auto rest = ReadAll(*second);
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].record->Text("id")->value() == "b");
    CHECK(rest[1].record->Text("id")->value() == "c");
    CHECK(rest[1].line == (format == Format::kCsv ? 5 : 3));
  }
}

TEST_CASE("reader: CSV header problems are file errors naming file:line", "[files][reader]") {
  TempDir dir;
  const std::string path = dir.File("t.csv");
  ReaderOptions opts;
  opts.format = Format::kCsv;
  opts.required = {"id", "status", "answer"};

  Write(path, "\n\nid,status,question\n1,resolved,q\n");
  auto missing = Reader::Open(path, opts);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message() ==
        path + ":3: missing required column 'answer' (columns: id, status, question)");

  Write(path, "id,status,answer,status\n");
  auto dup = Reader::Open(path, opts);
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message() == path + ":1: column 'status' appears twice");

  Write(path, "");
  CHECK(Reader::Open(path, opts).status().message().find("no header row") != std::string::npos);

  auto none = Reader::Open(dir.File("absent.csv"), opts);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == util::Status::Code::kIOError);
}

TEST_CASE("reader: CSV rows with wrong field counts, empty required values, bad UTF-8",
          "[files][reader]") {
  TempDir dir;
  const std::string path = dir.File("t.csv");
  Write(path,
        "\xEF\xBB\xBF id , status ,answer\r\n"   // BOM and padded names
        "1,resolved,fine\r\n"
        "2,resolved\r\n"                        // short
        "3,resolved,a,extra\r\n"                // long
        ",resolved,no id\r\n"                   // empty id
        "5,resolved,caf\xE9\r\n"                // Latin-1, not UTF-8
        "6,closed,\"multi\r\nline\"\r\n");
  ReaderOptions opts;
  opts.format = Format::kCsv;
  opts.required = {"id"};
  auto reader = OpenOrDie(path, opts);
  CHECK(reader->columns() == std::vector<std::string>{"id", "status", "answer"});
  CHECK(reader->header_raw() == " id , status ,answer\r\n");
  auto rows = ReadAll(*reader);
  REQUIRE(rows.size() == 6);
  CHECK(rows[0].record->Text("answer")->value() == "fine");
  CHECK(rows[1].error == "row has 2 fields, the header has 3");
  CHECK(rows[1].line == 3);
  CHECK(rows[2].error == "row has 4 fields, the header has 3");
  CHECK(rows[3].error == "missing required field 'id' (empty)");
  CHECK(rows[4].error == "invalid UTF-8 at byte 15 of the row");
  CHECK(rows[4].raw == "5,resolved,caf\xE9\r\n");
  CHECK(rows[5].record->Text("answer")->value() == "multi\r\nline");
  CHECK(rows[5].line == 7);
}

TEST_CASE("reader: a 10 MB body is read whole, in both formats", "[files][reader]") {
  TempDir dir;
  std::string body(10 * 1024 * 1024, 'a');
  for (std::size_t i = 0; i < body.size(); i += 1000) body[i] = ' ';
  {
    std::ofstream out(dir.File("big.jsonl"), std::ios::binary);
    out << "{\"id\":\"1\"}\n{\"id\":\"2\",\"body\":\"" << body << "\"}\n{\"id\":\"3\"}\n";
    std::ofstream csv(dir.File("big.csv"), std::ios::binary);
    csv << "id,body\n1,x\n2,\"" << body << "\nend\"\n3,y\n";
  }
  for (const char* name : {"big.jsonl", "big.csv"}) {
    ReaderOptions opts;
    opts.format = *FormatFromPath(name);
    auto reader = OpenOrDie(dir.File(name), opts);
    auto rows = ReadAll(*reader);
    REQUIRE(rows.size() == 3);
    REQUIRE(rows[1].record.has_value());
    auto got = rows[1].record->Text("body");
    CHECK(got->value().size() >= body.size());
    CHECK(got->value().compare(0, body.size(), body) == 0);
    CHECK(rows[2].record->Text("id")->value() == "3");
  }

  // Over the configured limit: refused with a reason, the next row still read.
  ReaderOptions small;
  small.max_row_bytes = 1024 * 1024;
  auto reader = OpenOrDie(dir.File("big.jsonl"), small);
  auto rows = ReadAll(*reader);
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].error == "line is longer than 1048576 bytes");
  CHECK(rows[2].record.has_value());
}

TEST_CASE("rejects: verbatim rows, CSV header first, truncation on resume", "[files][rejects]") {
  TempDir dir;
  const std::string path = dir.File("rejects/x.rejects.csv");
  {
    auto rejects = RejectsFile::Open(path, 0, "id,body\r\n");
    REQUIRE(rejects.ok());
    CHECK_FALSE(fs::exists(path));  // nothing to reject yet: no file
    REQUIRE((*rejects)->Add("1,\"a\nb\"\r\n").ok());
    REQUIRE((*rejects)->Add("2,no newline").ok());
    CHECK(Slurp(path) == "id,body\r\n1,\"a\nb\"\r\n2,no newline\n");
    CHECK((*rejects)->size() == static_cast<std::int64_t>(fs::file_size(path)));
  }
  const std::int64_t keep = static_cast<std::int64_t>(std::string("id,body\r\n1,\"a\nb\"\r\n").size());
  {
    auto rejects = RejectsFile::Open(path, keep, "id,body\r\n");
    REQUIRE(rejects.ok());
    CHECK((*rejects)->size() == keep);
    REQUIRE((*rejects)->Add("3,c\n").ok());
    CHECK(Slurp(path) == "id,body\r\n1,\"a\nb\"\r\n3,c\n");
  }
  {
    auto rejects = RejectsFile::Open(path, 0, "");
    REQUIRE(rejects.ok());
    CHECK_FALSE(fs::exists(path));  // a fresh run starts a fresh file
  }
}

TEST_CASE("fingerprint: changes when the file does", "[files][fingerprint]") {
  TempDir dir;
  const std::string path = dir.File("t.jsonl");
  Write(path, "{\"id\":\"1\"}\n");
  auto a = Fingerprint(path);
  auto b = Fingerprint(path);
  REQUIRE(a.ok());
  CHECK(*a == *b);
  Write(path, "{\"id\":\"2\"}\n");  // same size, new content
  auto c = Fingerprint(path);
  CHECK(*c != *a);
  CHECK_FALSE(Fingerprint(dir.File("absent")).ok());
}

}  // namespace
}  // namespace files
