#include "connectors/files/byte_stream.h"

#include <cerrno>
#include <cstring>

namespace files {
namespace {
constexpr std::size_t kBufferBytes = 1 << 18;
}

util::Result<std::unique_ptr<ByteStream>> ByteStream::OpenFile(const std::string& path,
                                                               std::int64_t offset) {
  std::unique_ptr<ByteStream> s(new ByteStream());
  s->file_ = std::fopen(path.c_str(), "rb");
  if (s->file_ == nullptr)
    return util::Status::IOError(path + ": cannot open: " + std::strerror(errno));
  s->storage_.resize(kBufferBytes);
  s->buf_ = s->storage_.data();
  if (offset > 0) DESK_RETURN_IF_ERROR(s->Seek(offset).WithContext(path));
  return s;
}

ByteStream::ByteStream(std::string_view memory)
    : buf_(memory.data()), end_(memory.size()) {}

ByteStream::~ByteStream() {
  if (file_ != nullptr) std::fclose(file_);
}

util::Status ByteStream::Seek(std::int64_t offset) {
  if (file_ == nullptr) {
    if (offset < 0 || static_cast<std::size_t>(offset) > end_)
      return util::Status::InvalidArgument("seek past the end");
    pos_ = static_cast<std::size_t>(offset);
    offset_ = offset;
    return util::Status::OK();
  }
  if (fseeko(file_, static_cast<off_t>(offset), SEEK_SET) != 0)
    return util::Status::IOError(std::string("cannot seek: ") + std::strerror(errno));
  pos_ = end_ = 0;
  offset_ = offset;
  return util::Status::OK();
}

bool ByteStream::Fill() {
  if (file_ == nullptr || failed_) return false;
  std::size_t n = std::fread(storage_.data(), 1, storage_.size(), file_);
  if (n == 0) {
    if (std::ferror(file_)) failed_ = true;
    return false;
  }
  pos_ = 0;
  end_ = n;
  return true;
}

bool ByteStream::ReadLine(std::string* line, std::size_t max_bytes, bool* too_long) {
  *too_long = false;
  bool any = false;
  for (;;) {
    if (pos_ == end_ && !Fill()) return any;
    any = true;
    const char* start = buf_ + pos_;
    std::size_t avail = end_ - pos_;
    const void* nl = std::memchr(start, '\n', avail);
    std::size_t take = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) + 1 : avail;
    std::size_t room = line->size() < max_bytes ? max_bytes - line->size() : 0;
    if (take > room) *too_long = true;
    line->append(start, std::min(take, room));
    pos_ += take;
    offset_ += static_cast<std::int64_t>(take);
    if (nl) return true;
  }
}

}  // namespace files
