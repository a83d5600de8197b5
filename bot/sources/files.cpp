#include "bot/sources/files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "bot/sources/iso_time.h"

namespace deskbot {
namespace {

using files::Record;

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

std::string DefaultRejectsPath(const Config& config, const std::string& name, files::Format format) {
  return (std::filesystem::path(config.DataDir()) / "rejects" /
          (name + ".rejects." + files::FormatName(format)))
      .string();
}

// --- mapping one record to a Ticket ------------------------------------------

// Text of a field; "" when missing or null.
util::Status GetText(const Record& r, const std::string& path, std::string* out) {
  auto text = r.Text(path);
  if (!text.ok()) return text.status();
  *out = text->value_or("");
  return util::Status::OK();
}

util::Status GetRequiredText(const Record& r, const std::string& path, std::string* out) {
  DESK_RETURN_IF_ERROR(GetText(r, path, out));
  if (Trim(*out).empty()) return util::Status::InvalidArgument("missing required field '" + path + "'");
  return util::Status::OK();
}

// A time field; 0 when missing or empty.
util::Status GetTime(const Record& r, const std::string& path, UnixSeconds* out) {
  std::string text;
  DESK_RETURN_IF_ERROR(GetText(r, path, &text));
  *out = 0;
  if (Trim(text).empty()) return util::Status::OK();
  auto t = ParseIsoTime(text);
  if (!t) return util::Status::InvalidArgument("field '" + path + "' is not an ISO 8601 time");
  *out = *t;
  return util::Status::OK();
}

// Help desks name their roles differently; these are the common words.
std::optional<Role> RoleFromWord(const std::string& word) {
  std::string w = Lower(Trim(word));
  if (auto r = ParseRole(w)) return r;
  for (const char* s : {"customer", "end-user", "end_user", "enduser", "user", "client", "reporter"})
    if (w == s) return Role::kRequester;
  for (const char* s : {"staff", "support", "technician", "admin", "assignee", "owner", "operator"})
    if (w == s) return Role::kAgent;
  if (w == "bot" || w == "automation") return Role::kSystem;
  return std::nullopt;
}

bool SamePerson(const std::string& author, const Ticket& t) {
  std::string a = Lower(Trim(author));
  return !a.empty() && (a == Lower(t.requester_email) || a == Lower(t.requester_name));
}

util::Status MapMessage(const Record& r, const FileFieldMap& f, const Ticket& ticket,
                        std::size_t index, Message* m) {
  DESK_RETURN_IF_ERROR(GetText(r, f.message_id, &m->external_id));
  if (m->external_id.empty()) m->external_id = std::to_string(index + 1);
  DESK_RETURN_IF_ERROR(GetText(r, f.message_author, &m->author));
  if (!r.Has(f.message_body))
    return util::Status::InvalidArgument("missing required field '" + f.message_body + "'");
  DESK_RETURN_IF_ERROR(GetText(r, f.message_body, &m->body));

  std::string role;
  DESK_RETURN_IF_ERROR(GetText(r, f.message_role, &role));
  if (!Trim(role).empty()) {
    auto parsed = RoleFromWord(role);
    if (!parsed)
      return util::Status::InvalidArgument("field '" + f.message_role + "' is not a known role " +
                                           "(requester, agent, system)");
    m->role = *parsed;
  } else {
    // No role given: the requester wrote it if the author is the requester
    // (or it opens the ticket); anyone else is an agent.
    bool requester = SamePerson(m->author, ticket) || (index == 0 && m->author.empty());
    m->role = requester ? Role::kRequester : Role::kAgent;
  }

  auto is_public = r.Bool(f.message_public);
  if (!is_public.ok()) return is_public.status();
  m->is_public = is_public->value_or(true);

  std::string content_type;
  DESK_RETURN_IF_ERROR(GetText(r, f.message_content_type, &content_type));
  content_type = Lower(Trim(content_type));
  if (content_type.empty()) content_type = "text/plain";
  if (content_type.find("html") != std::string::npos) content_type = "text/html";
  else if (content_type.rfind("text/plain", 0) == 0) content_type = "text/plain";
  m->content_type = content_type;
  return GetTime(r, f.message_created_at, &m->created_at);
}

// The Ticket in `r`, or nullopt when it is not resolved (skipped). An error
// is the reason to reject the row.
util::Result<std::optional<Ticket>> MapTicket(const Record& r, const FilesSourceOptions& o) {
  const FileFieldMap& f = o.fields;
  Ticket t;
  t.source = o.name;
  DESK_RETURN_IF_ERROR(GetRequiredText(r, f.external_id, &t.external_id));
  t.external_id = Trim(t.external_id);
  DESK_RETURN_IF_ERROR(GetText(r, f.status, &t.status));
  t.status = Trim(t.status);
  if (o.assume_resolved) {
    t.resolved = true;
  } else {
    if (t.status.empty()) return util::Status::InvalidArgument("missing required field '" + f.status + "'");
    const std::string status = Lower(t.status);
    t.resolved = std::find(o.resolved_statuses.begin(), o.resolved_statuses.end(), status) !=
                 o.resolved_statuses.end();
  }
  if (!t.resolved) return std::optional<Ticket>();

  DESK_RETURN_IF_ERROR(GetText(r, f.subject, &t.subject));
  DESK_RETURN_IF_ERROR(GetText(r, f.requester_name, &t.requester_name));
  DESK_RETURN_IF_ERROR(GetText(r, f.requester_email, &t.requester_email));
  DESK_RETURN_IF_ERROR(GetTime(r, f.created_at, &t.created_at));
  DESK_RETURN_IF_ERROR(GetTime(r, f.updated_at, &t.updated_at));
  DESK_RETURN_IF_ERROR(GetTime(r, f.resolved_at, &t.resolved_at));
  auto tags = r.List(f.tags);
  if (!tags.ok()) return tags.status();
  t.tags = std::move(tags).value();

  if (r.Has(f.messages)) {
    auto messages = r.Objects(f.messages);
    if (!messages.ok()) return messages.status();
    for (std::size_t i = 0; i < messages->size(); ++i) {
      Message m;
      util::Status st = MapMessage((*messages)[i], f, t, i, &m);
      if (!st.ok()) return st.WithContext("message " + std::to_string(i + 1));
      t.messages.push_back(std::move(m));
    }
  } else if (r.Has(f.question) || r.Has(f.answer)) {
    Message q, a;
    DESK_RETURN_IF_ERROR(GetRequiredText(r, f.question, &q.body));
    DESK_RETURN_IF_ERROR(GetRequiredText(r, f.answer, &a.body));
    q.external_id = "question";
    q.role = Role::kRequester;
    q.author = !t.requester_email.empty() ? t.requester_email : t.requester_name;
    q.created_at = t.created_at;
    a.external_id = "answer";
    a.role = Role::kAgent;
    a.created_at = t.resolved_at != 0 ? t.resolved_at : t.updated_at;
    t.messages.push_back(std::move(q));
    t.messages.push_back(std::move(a));
  } else {
    return util::Status::InvalidArgument("missing required field '" + f.messages + "' (or '" +
                                         f.question + "' and '" + f.answer + "')");
  }
  return std::optional<Ticket>(std::move(t));
}

// --- the cursor ------------------------------------------------------------------

struct FileCursor {
  std::string fingerprint;
  files::Position position;
  std::int64_t rejects_bytes = 0;
  bool done = false;

  std::string Encode() const {
    nlohmann::json j = {{"v", 1},
                        {"file", fingerprint},
                        {"offset", position.offset},
                        {"line", position.line},
                        {"rejects", rejects_bytes},
                        {"done", done}};
    return j.dump();
  }
  // nullopt for a cursor this version cannot read: the file is then read
  // again from the start, which is safe because imports are idempotent.
  static std::optional<FileCursor> Decode(const std::string& text) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || j.value("v", 0) != 1) return std::nullopt;
    try {
      FileCursor c;
      c.fingerprint = j.at("file").get<std::string>();
      c.position.offset = j.at("offset").get<std::int64_t>();
      c.position.line = j.at("line").get<std::int64_t>();
      c.rejects_bytes = j.at("rejects").get<std::int64_t>();
      c.done = j.at("done").get<bool>();
      if (c.position.offset < 0 || c.position.line < 1 || c.rejects_bytes < 0) return std::nullopt;
      return c;
    } catch (const nlohmann::json::exception&) {
      return std::nullopt;
    }
  }
};

}  // namespace

FileFieldMap FileFieldMap::Defaults(files::Format format) {
  FileFieldMap f;
  if (format == files::Format::kCsv) {
    f.requester_name = "requester_name";
    f.requester_email = "requester_email";
  }
  return f;
}

util::Result<FilesSourceOptions> FilesSourceOptions::ForFile(const Config& config,
                                                             const std::string& path,
                                                             const std::string& name,
                                                             std::optional<files::Format> format) {
  FilesSourceOptions o;
  o.name = name;
  o.path = path;
  if (!format) format = files::FormatFromPath(path);
  if (!format)
    return util::Status::InvalidArgument("source " + name + ": cannot tell the format of " + path +
                                         " from its name; give the format (jsonl or csv)");
  o.format = *format;
  o.fields = FileFieldMap::Defaults(o.format);
  o.rejects_path = DefaultRejectsPath(config, name, o.format);
  return o;
}

util::Result<FilesSourceOptions> FilesSourceOptions::FromConfig(const Config& config,
                                                                const std::string& name) {
  auto entry = config.Source(name);
  if (!entry) return util::Status::NotFound("source '" + name + "' is not configured");
  const std::string what = "source " + name;
  const std::string type = entry->GetString("type", "");
  if (type != "files")
    return util::Status::InvalidArgument(what + ": type is '" + type + "', not 'files'");
  const std::string path = entry->GetString("path", "");
  if (path.empty()) return util::Status::InvalidArgument(what + ": 'path' is required");

  std::optional<files::Format> format;
  const std::string format_name = entry->GetString("format", "");
  if (!format_name.empty()) {
    format = files::ParseFormat(format_name);
    if (!format)
      return util::Status::InvalidArgument(what + ": format '" + format_name +
                                           "' is not jsonl or csv");
  }
  auto o = ForFile(config, entry->ResolvePath(path), name, format);
  if (!o.ok()) return o;

  const std::string rejects = entry->GetString("rejects", "");
  if (!rejects.empty()) o->rejects_path = entry->ResolvePath(rejects);

  FileFieldMap& f = o->fields;
  const std::pair<const char*, std::string*> keys[] = {
      {"external_id", &f.external_id},
      {"subject", &f.subject},
      {"status", &f.status},
      {"requester_name", &f.requester_name},
      {"requester_email", &f.requester_email},
      {"created_at", &f.created_at},
      {"updated_at", &f.updated_at},
      {"resolved_at", &f.resolved_at},
      {"tags", &f.tags},
      {"messages", &f.messages},
      {"question", &f.question},
      {"answer", &f.answer},
      {"message_id", &f.message_id},
      {"message_author", &f.message_author},
      {"message_role", &f.message_role},
      {"message_public", &f.message_public},
      {"message_content_type", &f.message_content_type},
      {"message_created_at", &f.message_created_at},
      {"message_body", &f.message_body},
  };
  for (const auto& [key, field] : keys) *field = entry->GetString(std::string("fields.") + key, *field);

  if (entry->Has("resolved_statuses")) {
    o->resolved_statuses.clear();
    for (const std::string& s : entry->GetList("resolved_statuses"))
      o->resolved_statuses.push_back(Lower(Trim(s)));
  }
  o->assume_resolved = entry->GetBool("assume_resolved", false);
  o->page_size = entry->GetInt("page_size", o->page_size);
  if (o->page_size <= 0) return util::Status::InvalidArgument(what + ": page_size must be positive");
  std::int64_t max_row = entry->GetInt("max_row_bytes", static_cast<std::int64_t>(o->max_row_bytes));
  if (max_row <= 0) return util::Status::InvalidArgument(what + ": max_row_bytes must be positive");
  o->max_row_bytes = static_cast<std::size_t>(max_row);
  return o;
}

FilesSource::FilesSource(FilesSourceOptions options) : options_(std::move(options)) {}

util::Result<HarvestPage> FilesSource::NextPage(const std::optional<std::string>& cursor) {
  const std::string what = "source " + options_.name;
  auto fingerprint = files::Fingerprint(options_.path);
  if (!fingerprint.ok()) return fingerprint.status().WithContext(what);

  FileCursor from;
  from.fingerprint = *fingerprint;
  if (cursor) {
    auto saved = FileCursor::Decode(*cursor);
    if (saved && saved->fingerprint == *fingerprint) {
      if (saved->done) {  // unchanged since it was read to the end
        HarvestPage page;
        page.done = true;
        page.next_cursor = *cursor;
        return page;
      }
      from = *saved;
    }
  }

  files::ReaderOptions ro;
  ro.format = options_.format;
  ro.max_row_bytes = options_.max_row_bytes;
  ro.required = {options_.fields.external_id};
  if (!options_.assume_resolved) ro.required.push_back(options_.fields.status);
  if (options_.format == files::Format::kCsv) ro.columns = {options_.fields.question, options_.fields.answer};
  auto reader = files::Reader::Open(options_.path, ro, from.position);
  if (!reader.ok()) return reader.status().WithContext(what);
  auto rejects = files::RejectsFile::Open(options_.rejects_path, from.rejects_bytes,
                                          (*reader)->header_raw());
  if (!rejects.ok()) return rejects.status().WithContext(what);

  HarvestPage page;
  auto reject = [&](const files::Row& row, const std::string& reason) -> util::Status {
    page.rejects.push_back({options_.path + ":" + std::to_string(row.line), reason});
    return (*rejects)->Add(row.raw).WithContext(what);
  };
  for (std::int64_t n = 0; n < options_.page_size; ++n) {
    auto row = (*reader)->Next();
    if (!row.ok()) return row.status().WithContext(what);
    if (!row->has_value()) {
      page.done = true;
      break;
    }
    const files::Row& r = **row;
    if (!r.error.empty()) {
      DESK_RETURN_IF_ERROR(reject(r, r.error));
      continue;
    }
    auto ticket = MapTicket(*r.record, options_);
    if (!ticket.ok()) {
      DESK_RETURN_IF_ERROR(reject(r, ticket.status().message()));
    } else if (!ticket->has_value()) {
      ++page.skipped;
    } else {
      page.tickets.push_back(std::move(**ticket));
    }
  }
  FileCursor next;
  next.fingerprint = *fingerprint;
  next.position = (*reader)->position();
  next.rejects_bytes = (*rejects)->size();
  next.done = page.done;
  page.next_cursor = next.Encode();
  return page;
}

}  // namespace deskbot
