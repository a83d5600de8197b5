#include "connectors/files/reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>

#include "connectors/files/byte_stream.h"
#include "connectors/files/csv.h"

namespace files {
namespace fs = std::filesystem;

namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool IsBlank(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); });
}

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

const char* FormatName(Format format) { return format == Format::kCsv ? "csv" : "jsonl"; }

std::optional<Format> ParseFormat(std::string_view name) {
  std::string n = Lower(std::string(name));
  if (n == "jsonl" || n == "ndjson") return Format::kJsonl;
  if (n == "csv") return Format::kCsv;
  return std::nullopt;
}

std::optional<Format> FormatFromPath(const std::string& path) {
  std::string ext = Lower(fs::path(path).extension().string());
  if (ext.empty()) return std::nullopt;
  return ParseFormat(ext.substr(1));
}

std::string RowError::ToString() const {
  return file + ":" + std::to_string(line) + ": " + reason;
}

struct Reader::Impl {
  std::string path;
  ReaderOptions options;
  std::unique_ptr<ByteStream> in;
  std::int64_t line = 1;                 // line of the next row
  // CSV only.
  std::unique_ptr<CsvParser> csv;
  std::string header_raw;
  std::vector<std::string> columns;
  std::vector<std::size_t> required_columns;

  util::Status ReadHeader();
  util::Result<std::optional<Row>> NextJsonl();
  util::Result<std::optional<Row>> NextCsv();
  std::string CheckRequired(const Record& record) const;
};

util::Status Reader::Impl::ReadHeader() {
  CsvRecord header;
  for (;;) {
    if (!csv->Next(&header)) return util::Status::InvalidArgument(path + ": empty CSV file (no header row)");
    if (!header.blank()) break;
  }
  const std::string where = path + ":" + std::to_string(header.line);
  if (!header.error.empty()) return util::Status::InvalidArgument(where + ": header row: " + header.error);
  if (FindInvalidUtf8(header.raw) >= 0)
    return util::Status::InvalidArgument(where + ": header row is not valid UTF-8");
  header_raw = header.raw;
  std::set<std::string> seen;
  for (std::string name : header.fields) {
    name = Trim(name);
    if (!name.empty() && !seen.insert(name).second)
      return util::Status::InvalidArgument(where + ": column '" + name + "' appears twice");
    columns.push_back(name);
  }
  auto require = [&](const std::string& want) -> util::Result<std::size_t> {
    auto it = std::find(columns.begin(), columns.end(), want);
    if (it != columns.end()) return static_cast<std::size_t>(it - columns.begin());
    std::string have;
    for (const auto& c : columns) have += (have.empty() ? "" : ", ") + c;
    return util::Status::InvalidArgument(where + ": missing required column '" + want +
                                         "' (columns: " + have + ")");
  };
  for (const std::string& want : options.required) {
    auto index = require(want);
    if (!index.ok()) return index.status();
    required_columns.push_back(*index);
  }
  for (const std::string& want : options.columns) {
    auto index = require(want);
    if (!index.ok()) return index.status();
  }
  return util::Status::OK();
}

std::string Reader::Impl::CheckRequired(const Record& record) const {
  for (const std::string& want : options.required) {
    auto text = record.Text(want);
    if (!record.Has(want) || (text.ok() && text->has_value() && Trim(**text).empty()))
      return "missing required field '" + want + "'";
  }
  return "";
}

util::Result<std::optional<Row>> Reader::Impl::NextJsonl() {
  for (;;) {
    Row row;
    row.line = line;
    bool too_long = false;
    if (!in->ReadLine(&row.raw, options.max_row_bytes, &too_long)) {
      if (in->failed()) return util::Status::IOError(path + ": read error after line " + std::to_string(line - 1));
      return std::optional<Row>();
    }
    ++line;
    if (row.line == 1 && row.raw.compare(0, kBom.size(), kBom) == 0) row.raw.erase(0, kBom.size());
    std::string_view text = row.raw;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    if (too_long) {
      row.error = "line is longer than " + std::to_string(options.max_row_bytes) + " bytes";
      return std::optional<Row>(std::move(row));
    }
    if (IsBlank(std::string(text))) continue;
    auto record = Record::FromJson(text);
    if (!record.ok()) {
      row.error = record.status().message();
    } else {
      row.error = CheckRequired(*record);
      if (row.error.empty()) row.record = std::move(record).value();
    }
    return std::optional<Row>(std::move(row));
  }
}

util::Result<std::optional<Row>> Reader::Impl::NextCsv() {
  CsvRecord rec;
  for (;;) {
    if (!csv->Next(&rec)) {
      if (in->failed()) return util::Status::IOError(path + ": read error near line " + std::to_string(csv->line()));
      return std::optional<Row>();
    }
    if (!rec.blank()) break;
  }
  Row row;
  row.line = rec.line;
  row.raw = std::move(rec.raw);
  if (!rec.error.empty()) {
    row.error = rec.error;
  } else if (std::int64_t bad = FindInvalidUtf8(row.raw); bad >= 0) {
    row.error = "invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the row";
  } else if (rec.fields.size() != columns.size()) {
    row.error = "row has " + std::to_string(rec.fields.size()) + " fields, the header has " +
                std::to_string(columns.size());
  } else {
    for (std::size_t col : required_columns) {
      if (Trim(rec.fields[col]).empty()) {
        row.error = "missing required field '" + columns[col] + "' (empty)";
        break;
      }
    }
    if (row.error.empty()) row.record = Record::FromRow(columns, rec.fields);
  }
  return std::optional<Row>(std::move(row));
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;

util::Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path,
                                                   const ReaderOptions& options,
                                                   const Position& start) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->options = options;
  auto in = ByteStream::OpenFile(path);
  if (!in.ok()) return in.status();
  impl->in = std::move(in).value();

  if (options.format == Format::kCsv) {
    // Skip a UTF-8 byte order mark (spreadsheets write one).
    if (impl->in->Peek() == 0xEF) {
      std::string head;
      for (std::size_t i = 0; i < kBom.size() && impl->in->Peek() == static_cast<unsigned char>(kBom[i]); ++i)
        head.push_back(static_cast<char>(impl->in->Get()));
      if (head != kBom) DESK_RETURN_IF_ERROR(impl->in->Seek(0));
    }
    impl->csv = std::make_unique<CsvParser>(impl->in.get(), 1, options.max_row_bytes);
    DESK_RETURN_IF_ERROR(impl->ReadHeader());
    if (start.offset > impl->in->offset()) {
      DESK_RETURN_IF_ERROR(impl->in->Seek(start.offset).WithContext(path));
      impl->csv = std::make_unique<CsvParser>(impl->in.get(), start.line, options.max_row_bytes);
    }
  } else if (start.offset > 0) {
    DESK_RETURN_IF_ERROR(impl->in->Seek(start.offset).WithContext(path));
    impl->line = start.line;
  }
  return std::unique_ptr<Reader>(new Reader(std::move(impl)));
}

util::Result<std::optional<Row>> Reader::Next() {
  return impl_->options.format == Format::kCsv ? impl_->NextCsv() : impl_->NextJsonl();
}

Position Reader::position() const {
  std::int64_t line = impl_->csv ? impl_->csv->line() : impl_->line;
  return Position{impl_->in->offset(), line};
}

const std::string& Reader::path() const { return impl_->path; }
Format Reader::format() const { return impl_->options.format; }
const std::string& Reader::header_raw() const { return impl_->header_raw; }
const std::vector<std::string>& Reader::columns() const { return impl_->columns; }

// --- rejects ------------------------------------------------------------------

util::Result<std::unique_ptr<RejectsFile>> RejectsFile::Open(const std::string& path,
                                                             std::int64_t keep_bytes,
                                                             std::string header_raw) {
  std::unique_ptr<RejectsFile> r(new RejectsFile());
  r->path_ = path;
  r->header_ = std::move(header_raw);
  if (!r->header_.empty() && r->header_.back() != '\n') r->header_ += '\n';
  std::error_code ec;
  if (fs::exists(path, ec)) {
    auto size = static_cast<std::int64_t>(fs::file_size(path, ec));
    if (ec) return util::Status::IOError("rejects file " + path + ": " + ec.message());
    if (keep_bytes <= 0) {
      fs::remove(path, ec);
    } else if (keep_bytes < size) {
      fs::resize_file(path, static_cast<std::uintmax_t>(keep_bytes), ec);
      size = keep_bytes;
    }
    if (ec) return util::Status::IOError("rejects file " + path + ": " + ec.message());
    r->size_ = keep_bytes <= 0 ? 0 : size;
  }
  return r;
}

RejectsFile::~RejectsFile() = default;

util::Status RejectsFile::Add(std::string_view raw) {
  std::error_code ec;
  auto dir = fs::path(path_).parent_path();
  if (!dir.empty()) fs::create_directories(dir, ec);
  std::FILE* f = std::fopen(path_.c_str(), "ab");
  if (f == nullptr)
    return util::Status::IOError("rejects file " + path_ + ": " + std::strerror(errno));
  std::string data;
  if (size_ == 0) data = header_;
  data.append(raw);
  if (data.empty() || data.back() != '\n') data.push_back('\n');
  bool ok = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return util::Status::IOError("rejects file " + path_ + ": write failed");
  size_ += static_cast<std::int64_t>(data.size());
  return util::Status::OK();
}

// --- fingerprint ------------------------------------------------------------------

util::Result<std::string> Fingerprint(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return util::Status::IOError(path + ": " + ec.message());
  auto mtime = fs::last_write_time(path, ec);
  if (ec) return util::Status::IOError(path + ": " + ec.message());
  auto mtime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();

  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return util::Status::IOError(path + ": cannot open: " + std::strerror(errno));
  constexpr std::size_t kChunk = 64 * 1024;
  std::vector<char> buf(kChunk);
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a 64
  auto mix = [&hash, &buf](std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      hash ^= static_cast<unsigned char>(buf[i]);
      hash *= 1099511628211ull;
    }
  };
  mix(std::fread(buf.data(), 1, kChunk, f));
  if (size > 2 * kChunk && fseeko(f, static_cast<off_t>(size - kChunk), SEEK_SET) == 0)
    mix(std::fread(buf.data(), 1, kChunk, f));
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return util::Status::IOError(path + ": read error");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::to_string(size) + ":" + std::to_string(mtime_ns) + ":" + hex;
}

}  // namespace files
