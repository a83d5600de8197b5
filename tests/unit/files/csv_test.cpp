#include "connectors/files/csv.h"

#include <catch2/catch.hpp>

namespace files {
namespace {

using Fields = std::vector<std::string>;

TEST_CASE("csv: plain records, LF and CRLF, last line without a break", "[files][csv]") {
  auto recs = ParseCsv("id,subject\r\n1,VPN\n2,Printer");
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].fields == Fields{"id", "subject"});
  CHECK(recs[0].raw == "id,subject\r\n");
  CHECK(recs[1].fields == Fields{"1", "VPN"});
  CHECK(recs[1].line == 2);
  CHECK(recs[2].fields == Fields{"2", "Printer"});
  CHECK(recs[2].raw == "2,Printer");
  CHECK(recs[2].line == 3);
  for (const auto& r : recs) CHECK(r.error.empty());
}

TEST_CASE("csv: quoted fields hold commas, quotes and line breaks", "[files][csv]") {
  const std::string text =
      "1,\"Hello, world\",\"She said \"\"hi\"\"\"\n"
      "2,\"line one\nline two\r\nline three\",x\n"
      "3,\"\",\n";
  auto recs = ParseCsv(text);
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].fields == Fields{"1", "Hello, world", "She said \"hi\""});
  CHECK(recs[1].fields == Fields{"2", "line one\nline two\r\nline three", "x"});
  CHECK(recs[1].line == 2);
  CHECK(recs[2].line == 5);  // the quoted breaks moved the line count on
  CHECK(recs[2].fields == Fields{"3", "", ""});
  // The raw bytes of every record concatenate back to the input.
  std::string joined;
  for (const auto& r : recs) joined += r.raw;
  CHECK(joined == text);
}

TEST_CASE("csv: a quote inside an unquoted field is literal", "[files][csv]") {
  auto recs = ParseCsv("5,Screen 24\" monitor,ok\n");
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].error.empty());
  CHECK(recs[0].fields == Fields{"5", "Screen 24\" monitor", "ok"});
}

TEST_CASE("csv: text after a closing quote is an error and parsing goes on", "[files][csv]") {
  auto recs = ParseCsv("1,\"abc\"def,x\n2,fine,y\n");
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].error.find("after the closing quote of field 2") != std::string::npos);
  CHECK(recs[0].raw == "1,\"abc\"def,x\n");
  CHECK(recs[1].error.empty());
  CHECK(recs[1].fields == Fields{"2", "fine", "y"});
  CHECK(recs[1].line == 2);
}

TEST_CASE("csv: an unterminated quote is reported with the line it opened on", "[files][csv]") {
  auto recs = ParseCsv("1,ok\n2,\"never closed\n3,more\n");
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].error.empty());
  CHECK(recs[1].line == 2);
  CHECK(recs[1].error == "quoted field opened on line 2 is never closed");
  CHECK(recs[1].raw == "2,\"never closed\n3,more\n");
}

TEST_CASE("csv: a record over the size limit is refused but the next one is read", "[files][csv]") {
  std::string big(5000, 'x');
  auto recs = ParseCsv("1," + big + "\n2,small\n", 1000);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].error == "record is larger than 1000 bytes");
  CHECK(recs[0].raw.size() == 1000);
  CHECK(recs[1].error.empty());
  CHECK(recs[1].fields == Fields{"2", "small"});
}

TEST_CASE("csv: blank lines are blank records, a lone CR is data", "[files][csv]") {
  auto recs = ParseCsv("a\n\nb\rc\n");
  REQUIRE(recs.size() == 3);
  CHECK(recs[1].blank());
  CHECK_FALSE(recs[0].blank());
  CHECK(recs[2].fields == Fields{"b\rc"});
  CHECK(ParseCsv("").empty());
}

}  // namespace
}  // namespace files
