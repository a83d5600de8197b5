#include <catch2/catch.hpp>

#include "connectors/openai/multipart.h"
#include "test_util.h"

using openai::MultipartForm;

TEST_CASE("openai: multipart: exact bytes for a field and a file from disk", "[openai][multipart]") {
  openai_test::TempDir dir;
  std::string content = "{\"messages\":[]}\n{\"messages\":[]}\n";
  std::string path = dir.File("train.jsonl", content);

  MultipartForm form("XyZ");
  form.AddField("purpose", "fine-tune");
  form.AddFile("file", path, "train.jsonl");
  CHECK(form.content_type() == "multipart/form-data; boundary=XyZ");

  const std::string expected =
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"purpose\"\r\n"
      "\r\n"
      "fine-tune\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"train.jsonl\"\r\n"
      "Content-Type: application/octet-stream\r\n"
      "\r\n" +
      content +
      "\r\n"
      "--XyZ--\r\n";
  auto body = form.Encode();
  REQUIRE(body.ok());
  CHECK(*body == expected);
  auto length = form.ContentLength();
  REQUIRE(length.ok());
  CHECK(*length == expected.size());
}

TEST_CASE("openai: multipart: streaming in small chunks gives the same body", "[openai][multipart]") {
  openai_test::TempDir dir;
  std::string content(10000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7);
  std::string path = dir.File("blob.jsonl", content);
  MultipartForm form;
  form.AddField("purpose", "fine-tune");
  form.AddFile("file", path, "blob.jsonl");

  std::string streamed;
  int pieces = 0;
  std::size_t largest = 0;
  auto st = form.WriteTo(
      [&](std::string_view piece) {
        streamed.append(piece);
        ++pieces;
        largest = std::max(largest, piece.size());
        return util::Status::OK();
      },
      /*chunk_bytes=*/1024);
  REQUIRE(st.ok());
  CHECK(pieces > 10);              // the file came in pieces, not at once
  CHECK(largest <= 1024);
  auto whole = form.Encode();
  REQUIRE(whole.ok());
  CHECK(streamed == *whole);
  CHECK(whole->find(content) != std::string::npos);  // binary bytes intact
}

TEST_CASE("openai: multipart: boundaries are random and names are escaped", "[openai][multipart]") {
  MultipartForm a, b;
  CHECK(a.boundary() != b.boundary());
  CHECK(a.boundary().size() >= 32);

  MultipartForm form("B");
  form.AddFileContent("file", "x", "evil\"\r\nX-Injected: 1.jsonl", "application/jsonl");
  auto body = form.Encode();
  REQUIRE(body.ok());
  CHECK(body->find("filename=\"evil%22%0D%0AX-Injected: 1.jsonl\"") != std::string::npos);
  CHECK(body->find("\r\nX-Injected") == std::string::npos);
  CHECK(body->find("Content-Type: application/jsonl\r\n") != std::string::npos);
}

TEST_CASE("openai: multipart: a missing file is an I/O error naming it", "[openai][multipart]") {
  MultipartForm form;
  form.AddFile("file", "/nonexistent/dir/train.jsonl", "train.jsonl");
  auto body = form.Encode();
  REQUIRE_FALSE(body.ok());
  CHECK(body.status().code() == util::Status::Code::kIOError);
  CHECK(body.status().message().find("/nonexistent/dir/train.jsonl") != std::string::npos);
  CHECK_FALSE(form.ContentLength().ok());
}

TEST_CASE("openai: multipart: a sink error stops the write", "[openai][multipart]") {
  MultipartForm form;
  form.AddField("a", "1");
  form.AddField("b", "2");
  int calls = 0;
  auto st = form.WriteTo([&](std::string_view) {
    ++calls;
    return util::Status::IOError("socket closed");
  });
  CHECK(st.message() == "socket closed");
  CHECK(calls == 1);
}
