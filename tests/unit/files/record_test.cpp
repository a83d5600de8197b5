#include "connectors/files/record.h"

#include <catch2/catch.hpp>

namespace files {
namespace {

Record Json(const std::string& text) {
  auto r = Record::FromJson(text);
  INFO(r.status().ToString());
  REQUIRE(r.ok());
  return std::move(r).value();
}

TEST_CASE("record: dotted paths, list indexes and keys with dots", "[files][record]") {
  Record r = Json(R"({"id":1001,"requester":{"name":"Maria","email":null},
                     "a.b":"literal","messages":[{"body":"hi"},{"body":"there"}]})");
  CHECK(r.Text("requester.name")->value() == "Maria");
  CHECK_FALSE(r.Text("requester.email")->has_value());  // null
  CHECK_FALSE(r.Has("requester.email"));
  CHECK_FALSE(r.Text("requester.phone")->has_value());  // missing
  CHECK(r.KindOf("requester.phone") == Record::Kind::kMissing);
  CHECK(r.Text("a.b")->value() == "literal");
  CHECK(r.Text("messages.1.body")->value() == "there");
  CHECK_FALSE(r.Has("messages.2.body"));
  CHECK(r.Text("id")->value() == "1001");  // numbers read as text
  CHECK(r.KindOf("messages") == Record::Kind::kList);
}

TEST_CASE("record: wrong types are errors that name the field", "[files][record]") {
  Record r = Json(R"({"requester":{"name":"x"},"tags":[1,{"x":1}],"public":"maybe","n":2.0})");
  auto text = r.Text("requester");
  REQUIRE_FALSE(text.ok());
  CHECK(text.status().message() == "field 'requester' is an object, expected text");
  CHECK_FALSE(r.List("tags").ok());
  CHECK(r.Bool("public").status().message() == "field 'public' is not true/false");
  CHECK_FALSE(r.Objects("requester").ok());
  CHECK(r.Text("n")->value() == "2");
}

TEST_CASE("record: booleans and lists from JSON and from text", "[files][record]") {
  Record r = Json(R"({"a":true,"b":"no","c":1,"d":"YES","tags":["vpn","net"],"csv":"vpn; net , ,x"})");
  CHECK(r.Bool("a")->value() == true);
  CHECK(r.Bool("b")->value() == false);
  CHECK(r.Bool("c")->value() == true);
  CHECK(r.Bool("d")->value() == true);
  CHECK_FALSE(r.Bool("missing")->has_value());
  CHECK(*r.List("tags") == std::vector<std::string>{"vpn", "net"});
  CHECK(*r.List("csv") == std::vector<std::string>{"vpn", "net", "x"});
  CHECK(r.List("missing")->empty());
}

TEST_CASE("record: CSV rows are flat", "[files][record]") {
  Record r = Record::FromRow({"id", "requester.name", "public"}, {"7", "Tom", "false"});
  CHECK(r.Text("requester.name")->value() == "Tom");
  CHECK(r.Text("id")->value() == "7");
  CHECK(r.Bool("public")->value() == false);
  CHECK_FALSE(r.Has("requester"));
}

TEST_CASE("record: FromJson refuses non-objects and never quotes the input", "[files][record]") {
  auto bad = Record::FromJson(R"({"id":"1","body":"secret-token-123" oops})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().rfind("malformed JSON: ", 0) == 0);
  CHECK(bad.status().message().find("secret-token-123") == std::string::npos);
  CHECK(bad.status().message().find("oops") == std::string::npos);

  auto list = Record::FromJson("[1,2]");
  REQUIRE_FALSE(list.ok());
  CHECK(list.status().message() == "wrong type: the line is a list, expected a JSON object");

  auto utf = Record::FromJson("{\"body\":\"caf\xC3\"}");
  REQUIRE_FALSE(utf.ok());
  CHECK(utf.status().message() == "invalid UTF-8 at byte 13");
}

TEST_CASE("utf8: valid text passes, broken sequences are found", "[files][utf8]") {
  CHECK(FindInvalidUtf8("plain ascii") == -1);
  CHECK(FindInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == -1);  // é € 😀
  CHECK(FindInvalidUtf8("ab\xC3") == 2);              // truncated
  CHECK(FindInvalidUtf8("ab\xC0\x80") == 2);          // overlong NUL
  CHECK(FindInvalidUtf8("\xED\xA0\x80") == 0);        // UTF-16 surrogate
  CHECK(FindInvalidUtf8("x\xFF") == 1);
  CHECK(FindInvalidUtf8("\xF4\x90\x80\x80") == 0);    // beyond U+10FFFF
}

}  // namespace
}  // namespace files
