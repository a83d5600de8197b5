#include "connectors/files/record.h"

#include <utf8proc.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>

namespace files {

using json = nlohmann::json;

struct Record::Impl {
  json value = json::object();
  bool flat = false;  // a CSV row: no dotted paths
};

namespace {

// Resolves a dotted path: the whole key first, then segment by segment
// (numeric segments index lists).
const json* Find(const json& root, std::string_view path, bool flat) {
  if (!root.is_object()) return nullptr;
  auto it = root.find(std::string(path));
  if (it != root.end()) return &*it;
  if (flat) return nullptr;
  const json* node = &root;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t dot = path.find('.', start);
    if (dot == std::string_view::npos) dot = path.size();
    std::string key(path.substr(start, dot - start));
    if (node->is_object()) {
      auto child = node->find(key);
      if (child == node->end()) return nullptr;
      node = &*child;
    } else if (node->is_array() && !key.empty() &&
               std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      std::size_t index = std::stoul(key.substr(0, 9));
      if (key.size() > 9 || index >= node->size()) return nullptr;
      node = &(*node)[index];
    } else {
      return nullptr;
    }
    start = dot + 1;
  }
  return node;
}

Record::Kind KindOfJson(const json* j) {
  if (j == nullptr) return Record::Kind::kMissing;
  switch (j->type()) {
    case json::value_t::null: return Record::Kind::kNull;
    case json::value_t::string: return Record::Kind::kText;
    case json::value_t::boolean: return Record::Kind::kBool;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return Record::Kind::kNumber;
    case json::value_t::array: return Record::Kind::kList;
    default: return Record::Kind::kObject;
  }
}

util::Status WrongType(std::string_view path, const json* j, const char* expected) {
  return util::Status::InvalidArgument("field '" + std::string(path) + "' is " +
                                       KindName(KindOfJson(j)) + ", expected " + expected);
}

std::optional<std::string> ScalarText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "true" : "false";
  if (j.is_number_integer() || j.is_number_unsigned()) return j.dump();
  if (j.is_number_float()) {
    // 42.0 from a spreadsheet-minded exporter is the id 42.
    double d = j.get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(d)) && std::abs(d) < 1e15)
      return std::to_string(static_cast<std::int64_t>(d));
    return j.dump();
  }
  return std::nullopt;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// nlohmann's messages end with "; last read: '<input>'": drop the input, so
// that a reject reason never carries ticket text (or a secret) into logs.
std::string CleanJsonError(const std::string& what) {
  std::string msg = what;
  auto tag = msg.find("] ");
  if (msg.rfind("[json.exception", 0) == 0 && tag != std::string::npos) msg = msg.substr(tag + 2);
  auto last = msg.find("; last read: '");
  if (last != std::string::npos) {
    auto expected = msg.find("'; expected", last);
    msg.erase(last, expected == std::string::npos ? std::string::npos : expected + 1 - last);
  }
  return msg;
}

}  // namespace

const char* KindName(Record::Kind kind) {
  switch (kind) {
    case Record::Kind::kMissing: return "missing";
    case Record::Kind::kNull: return "null";
    case Record::Kind::kText: return "text";
    case Record::Kind::kNumber: return "a number";
    case Record::Kind::kBool: return "a boolean";
    case Record::Kind::kList: return "a list";
    case Record::Kind::kObject: return "an object";
  }
  return "?";
}

std::int64_t FindInvalidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  std::size_t i = 0;
  while (i < text.size()) {
    if (p[i] < 0x80) {  // ASCII fast path
      ++i;
      continue;
    }
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p + i, static_cast<utf8proc_ssize_t>(text.size() - i), &cp);
    if (n <= 0) return static_cast<std::int64_t>(i);
    i += static_cast<std::size_t>(n);
  }
  return -1;
}

Record::Record() : impl_(std::make_unique<Impl>()) {}
Record::~Record() = default;
Record::Record(const Record& other) : impl_(std::make_unique<Impl>(*other.impl_)) {}
Record& Record::operator=(const Record& other) {
  if (this != &other) impl_ = std::make_unique<Impl>(*other.impl_);
  return *this;
}
Record::Record(Record&&) noexcept = default;
Record& Record::operator=(Record&&) noexcept = default;

Record Record::FromRow(const std::vector<std::string>& columns,
                       const std::vector<std::string>& values) {
  Record r;
  r.impl_->flat = true;
  for (std::size_t i = 0; i < columns.size() && i < values.size(); ++i)
    r.impl_->value[columns[i]] = values[i];
  return r;
}

util::Result<Record> Record::FromJson(std::string_view text) {
  std::int64_t bad = FindInvalidUtf8(text);
  if (bad >= 0)
    return util::Status::InvalidArgument("invalid UTF-8 at byte " + std::to_string(bad + 1));
  Record r;
  try {
    r.impl_->value = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return util::Status::InvalidArgument("malformed JSON: " + CleanJsonError(e.what()));
  }
  if (!r.impl_->value.is_object())
    return util::Status::InvalidArgument(std::string("wrong type: the line is ") +
                                         KindName(KindOfJson(&r.impl_->value)) +
                                         ", expected a JSON object");
  return r;
}

Record::Kind Record::KindOf(std::string_view path) const {
  return KindOfJson(Find(impl_->value, path, impl_->flat));
}

bool Record::Has(std::string_view path) const {
  Kind k = KindOf(path);
  return k != Kind::kMissing && k != Kind::kNull;
}

util::Result<std::optional<std::string>> Record::Text(std::string_view path) const {
  const json* j = Find(impl_->value, path, impl_->flat);
  if (j == nullptr || j->is_null()) return std::optional<std::string>();
  auto text = ScalarText(*j);
  if (!text) return WrongType(path, j, "text");
  return text;
}

util::Result<std::optional<bool>> Record::Bool(std::string_view path) const {
  const json* j = Find(impl_->value, path, impl_->flat);
  if (j == nullptr || j->is_null()) return std::optional<bool>();
  if (j->is_boolean()) return std::optional<bool>(j->get<bool>());
  if (j->is_number_integer() || j->is_number_unsigned()) {
    auto v = j->get<std::int64_t>();
    if (v == 0 || v == 1) return std::optional<bool>(v == 1);
  }
  if (j->is_string()) {
    std::string s = Lower(Trim(j->get<std::string>()));
    if (s.empty()) return std::optional<bool>();
    if (s == "true" || s == "yes" || s == "1" || s == "t" || s == "y") return std::optional<bool>(true);
    if (s == "false" || s == "no" || s == "0" || s == "f" || s == "n") return std::optional<bool>(false);
    return util::Status::InvalidArgument("field '" + std::string(path) +
                                         "' is not true/false");
  }
  return WrongType(path, j, "true/false");
}

util::Result<std::vector<std::string>> Record::List(std::string_view path) const {
  std::vector<std::string> out;
  const json* j = Find(impl_->value, path, impl_->flat);
  if (j == nullptr || j->is_null()) return out;
  if (j->is_array()) {
    for (const auto& el : *j) {
      auto text = ScalarText(el);
      if (!text) return WrongType(std::string(path) + "[]", &el, "text");
      out.push_back(std::move(*text));
    }
    return out;
  }
  if (j->is_string()) {
    const std::string& s = j->get_ref<const std::string&>();
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t end = s.find_first_of(",;", start);
      if (end == std::string::npos) end = s.size();
      std::string item = Trim(std::string_view(s).substr(start, end - start));
      if (!item.empty()) out.push_back(std::move(item));
      start = end + 1;
    }
    return out;
  }
  return WrongType(path, j, "a list");
}

util::Result<std::vector<Record>> Record::Objects(std::string_view path) const {
  std::vector<Record> out;
  const json* j = Find(impl_->value, path, impl_->flat);
  if (j == nullptr || j->is_null()) return out;
  if (!j->is_array()) return WrongType(path, j, "a list of objects");
  for (std::size_t i = 0; i < j->size(); ++i) {
    const json& el = (*j)[i];
    if (!el.is_object())
      return WrongType(std::string(path) + "." + std::to_string(i), &el, "an object");
    Record r;
    r.impl_->value = el;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace files
