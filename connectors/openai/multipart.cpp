#include "connectors/openai/multipart.h"

#include <filesystem>
#include <fstream>
#include <random>

namespace openai {
namespace {

std::string RandomBoundary() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string b = "deskbot-form-";
  for (int i = 0; i < 32; ++i) b += "0123456789abcdef"[hex(rd)];
  return b;
}

// Names and filenames go inside quotes in Content-Disposition. Escape the
// quote and line breaks as browsers do (HTML's multipart/form-data encoding),
// so a filename can never end the header or inject another one.
std::string QuoteParam(const std::string& value) {
  std::string out;
  for (char c : value) {
    switch (c) {
      case '"': out += "%22"; break;
      case '\r': out += "%0D"; break;
      case '\n': out += "%0A"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

MultipartForm::MultipartForm() : boundary_(RandomBoundary()) {}
MultipartForm::MultipartForm(std::string boundary) : boundary_(std::move(boundary)) {}

void MultipartForm::AddField(std::string name, std::string value) {
  parts_.push_back({std::move(name), "", "", std::move(value), ""});
}

void MultipartForm::AddFile(std::string name, std::string path, std::string filename,
                            std::string content_type) {
  parts_.push_back({std::move(name), std::move(filename), std::move(content_type), "",
                    std::move(path)});
}

void MultipartForm::AddFileContent(std::string name, std::string content, std::string filename,
                                   std::string content_type) {
  parts_.push_back({std::move(name), std::move(filename), std::move(content_type),
                    std::move(content), ""});
}

std::string MultipartForm::content_type() const {
  return "multipart/form-data; boundary=" + boundary_;
}

std::string MultipartForm::PartHeader(const Part& part) const {
  std::string h = "--" + boundary_ + "\r\n";
  h += "Content-Disposition: form-data; name=\"" + QuoteParam(part.name) + "\"";
  const bool is_file = !part.path.empty() || !part.content_type.empty();
  if (is_file) h += "; filename=\"" + QuoteParam(part.filename) + "\"";
  h += "\r\n";
  if (is_file) h += "Content-Type: " + part.content_type + "\r\n";
  h += "\r\n";
  return h;
}

std::string MultipartForm::Closing() const { return "--" + boundary_ + "--\r\n"; }

util::Result<uint64_t> MultipartForm::ContentLength() const {
  uint64_t total = 0;
  for (const Part& part : parts_) {
    total += PartHeader(part).size() + 2;  // + CRLF after the data
    if (part.path.empty()) {
      total += part.data.size();
      continue;
    }
    std::error_code ec;
    uint64_t size = std::filesystem::file_size(part.path, ec);
    if (ec) {
      return util::Status::IOError("multipart: cannot read " + part.path + ": " + ec.message());
    }
    total += size;
  }
  return total + Closing().size();
}

util::Status MultipartForm::WriteTo(const Sink& sink, std::size_t chunk_bytes) const {
  if (chunk_bytes == 0) chunk_bytes = 64 * 1024;
  for (const Part& part : parts_) {
    DESK_RETURN_IF_ERROR(sink(PartHeader(part)));
    if (part.path.empty()) {
      DESK_RETURN_IF_ERROR(sink(part.data));
    } else {
      std::error_code ec;
      uint64_t expected = std::filesystem::file_size(part.path, ec);
      std::ifstream in(part.path, std::ios::binary);
      if (ec || !in) {
        return util::Status::IOError("multipart: cannot read " + part.path +
                                     (ec ? ": " + ec.message() : ""));
      }
      std::string buf(chunk_bytes, '\0');
      uint64_t sent = 0;
      while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        std::streamsize got = in.gcount();
        if (got <= 0) break;
        sent += static_cast<uint64_t>(got);
        DESK_RETURN_IF_ERROR(sink(std::string_view(buf.data(), static_cast<std::size_t>(got))));
      }
      if (in.bad()) return util::Status::IOError("multipart: read error in " + part.path);
      // A Content-Length computed earlier must stay true.
      if (sent != expected) {
        return util::Status::IOError("multipart: " + part.path + " changed size while uploading");
      }
    }
    DESK_RETURN_IF_ERROR(sink("\r\n"));
  }
  return sink(Closing());
}

util::Result<std::string> MultipartForm::Encode() const {
  std::string body;
  auto size = ContentLength();
  if (size.ok()) body.reserve(static_cast<std::size_t>(*size));
  util::Status st = WriteTo([&body](std::string_view piece) {
    body.append(piece);
    return util::Status::OK();
  });
  if (!st.ok()) return st;
  return body;
}

}  // namespace openai
