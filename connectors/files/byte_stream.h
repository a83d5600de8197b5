// A buffered byte reader over a file or a memory buffer that knows its byte
// offset, so a reader can say where a record starts and resume there later.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/util/status.h"

namespace files {

class ByteStream {
 public:
  // Opens `path` and positions it at byte `offset`.
  static util::Result<std::unique_ptr<ByteStream>> OpenFile(const std::string& path,
                                                            std::int64_t offset = 0);
  // Reads `memory`, which must outlive the stream (tests, fuzzing).
  explicit ByteStream(std::string_view memory);
  ~ByteStream();
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  // The next byte (0..255), or -1 at the end of the input or on a read error.
  int Get() {
    if (pos_ == end_ && !Fill()) return -1;
    ++offset_;
    return static_cast<unsigned char>(buf_[pos_++]);
  }
  int Peek() {
    if (pos_ == end_ && !Fill()) return -1;
    return static_cast<unsigned char>(buf_[pos_]);
  }

  // Appends bytes up to and including the next '\n' (or the end) to `line`,
  // keeping at most `max_bytes` of them; the rest of a longer line is read
  // and dropped, and *too_long set. Returns false when nothing was left.
  bool ReadLine(std::string* line, std::size_t max_bytes, bool* too_long);

  // Bytes consumed from the start of the input.
  std::int64_t offset() const { return offset_; }
  // A read error happened (as opposed to the end of the input).
  bool failed() const { return failed_; }
  // Re-positions a file stream at `offset` (and forgets what was buffered).
  util::Status Seek(std::int64_t offset);

 private:
  ByteStream() = default;
  bool Fill();

  std::FILE* file_ = nullptr;
  std::vector<char> storage_;  // the buffer of a file stream
  const char* buf_ = nullptr;
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::int64_t offset_ = 0;
  bool failed_ = false;
};

}  // namespace files
