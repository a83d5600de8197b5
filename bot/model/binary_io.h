// Little binary files for the model: a magic word, then length-prefixed
// arrays of plain values and strings. The reader checks every length against
// what is left, so a truncated or corrupt file is an error, never a crash.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "connectors/util/status.h"

namespace deskbot::model {

class BinaryWriter {
 public:
  explicit BinaryWriter(std::string magic) { buf_ = std::move(magic); }

  template <typename T>
  void Put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    buf_.append(reinterpret_cast<const char*>(&v), sizeof(T));
  }
  template <typename T>
  void PutVector(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Put<std::uint64_t>(v.size());
    buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void PutString(const std::string& s) {
    Put<std::uint64_t>(s.size());
    buf_.append(s);
  }
  void PutStrings(const std::vector<std::string>& v) {
    Put<std::uint64_t>(v.size());
    for (const auto& s : v) PutString(s);
  }
  const std::string& data() const { return buf_; }

 private:
  std::string buf_;
};

class BinaryReader {
 public:
  // `name` is used in error messages.
  BinaryReader(std::string name, const std::string& data) : name_(std::move(name)), data_(data) {}

  util::Status ExpectMagic(const std::string& magic) {
    if (data_.compare(0, magic.size(), magic) != 0)
      return util::Status::Corruption(name_ + ": not a deskbot model file (bad magic)");
    pos_ = magic.size();
    return util::Status::OK();
  }
  template <typename T>
  util::Status Get(T* v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (data_.size() - pos_ < sizeof(T)) return Truncated();
    std::memcpy(v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return util::Status::OK();
  }
  template <typename T>
  util::Status GetVector(std::vector<T>* v) {
    std::uint64_t n = 0;
    DESK_RETURN_IF_ERROR(Get(&n));
    if (n > (data_.size() - pos_) / sizeof(T)) return Truncated();
    v->resize(n);
    std::memcpy(v->data(), data_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return util::Status::OK();
  }
  util::Status GetString(std::string* s) {
    std::uint64_t n = 0;
    DESK_RETURN_IF_ERROR(Get(&n));
    if (n > data_.size() - pos_) return Truncated();
    s->assign(data_.data() + pos_, n);
    pos_ += n;
    return util::Status::OK();
  }
  util::Status GetStrings(std::vector<std::string>* v) {
    std::uint64_t n = 0;
    DESK_RETURN_IF_ERROR(Get(&n));
    if (n > data_.size() - pos_) return Truncated();  // every string needs >= 8 bytes
    v->resize(n);
    for (auto& s : *v) DESK_RETURN_IF_ERROR(GetString(&s));
    return util::Status::OK();
  }
  bool AtEnd() const { return pos_ == data_.size(); }
  util::Status Truncated() const { return util::Status::Corruption(name_ + ": truncated or corrupt"); }

 private:
  std::string name_;
  const std::string& data_;
  size_t pos_ = 0;
};

}  // namespace deskbot::model
