// multipart/form-data bodies (RFC 7578), as POST /files wants them.
//
// A file part is read from disk only when the body is written, in chunks, so
// a caller that can stream (WriteTo + ContentLength) never holds the whole
// file in memory; Encode() is the simple all-in-memory form.
//
//   MultipartForm form;
//   form.AddField("purpose", "fine-tune");
//   form.AddFile("file", "/data/train.jsonl", "train.jsonl", "application/jsonl");
//   headers["Content-Type"] = form.content_type();
//   auto body = form.Encode();
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

namespace openai {

class MultipartForm {
 public:
  // A random boundary: 32 hex digits after a fixed prefix. Collisions with
  // file content are astronomically unlikely, so content is not scanned.
  MultipartForm();
  explicit MultipartForm(std::string boundary);

  void AddField(std::string name, std::string value);
  // A file part read from `path` when the body is written.
  void AddFile(std::string name, std::string path, std::string filename,
               std::string content_type = "application/octet-stream");
  // A file part whose bytes are already in memory.
  void AddFileContent(std::string name, std::string content, std::string filename,
                      std::string content_type = "application/octet-stream");

  const std::string& boundary() const { return boundary_; }
  // "multipart/form-data; boundary=..."
  std::string content_type() const;

  // Exact size of the body WriteTo produces (stats the files).
  util::Result<uint64_t> ContentLength() const;

  using Sink = std::function<util::Status(std::string_view)>;
  // Writes the body to `sink` in pieces of at most `chunk_bytes` for file data.
  // Fails if a file cannot be read or changed size since ContentLength().
  util::Status WriteTo(const Sink& sink, std::size_t chunk_bytes = 64 * 1024) const;

  // The whole body in memory.
  util::Result<std::string> Encode() const;

 private:
  struct Part {
    std::string name;
    std::string filename;      // empty for a plain field
    std::string content_type;  // empty for a plain field
    std::string data;          // a field's value or in-memory file content
    std::string path;          // a file read from disk when non-empty
  };
  std::string PartHeader(const Part& part) const;
  std::string Closing() const;

  std::string boundary_;
  std::vector<Part> parts_;
};

}  // namespace openai
