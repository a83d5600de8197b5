#include "bot/sources/files.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bot/sources/factory.h"
#include "bot/sources/harvest.h"
#include "bot/store/sqlite_store.h"
#include "tests/unit/store/temp_dir.h"

using deskbot::testing::TempDir;
namespace fs = std::filesystem;

namespace deskbot {
namespace {

const std::string kData = std::string(DESKBOT_TEST_DATA_DIR) + "/files/";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// The lines of the file at 1-based `numbers`, each with its line break.
std::string Lines(const std::string& path, std::vector<int> numbers) {
  std::istringstream in(Slurp(path));
  std::string line, out;
  for (int n = 1; std::getline(in, line); ++n)
    if (std::find(numbers.begin(), numbers.end(), n) != numbers.end()) out += line + "\n";
  return out;
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<SqliteStore> store;
  Fixture() {
    auto s = SqliteStore::Open(dir.File("deskbot.db"));
    REQUIRE(s.ok());
    store = std::move(s).value();
  }
  Config ConfigFor(const std::string& entries) {
    auto c = Config::LoadString("data_dir = \"" + dir.File("data") + "\"\n" + entries);
    INFO(c.status().ToString());
    REQUIRE(c.ok());
    return std::move(c).value();
  }
  std::unique_ptr<TicketSource> Source(const Config& config, const std::string& name) {
    auto s = MakeSource(config, name);
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    return std::move(s).value();
  }
  HarvestReport HarvestOk(TicketSource& source, const HarvestOptions& options = {}) {
    auto r = Harvest(source, *store, options);
    INFO(r.status().ToString());
    REQUIRE(r.ok());
    return std::move(r).value();
  }
  Ticket Get(const std::string& source, const std::string& id) {
    auto t = store->GetTicket(source, id);
    REQUIRE(t.ok());
    INFO(source + "/" + id);
    REQUIRE(t->has_value());
    return **t;
  }
};

std::string FilesEntry(const std::string& name, const std::string& path,
                       const std::string& extra = "") {
  return "[[sources]]\nname = \"" + name + "\"\ntype = \"files\"\npath = \"" + path + "\"\n" + extra;
}

TEST_CASE("files source: native JSONL export", "[sources][files]") {
  Fixture f;
  Config config = f.ConfigFor(FilesEntry("export", kData + "tickets.jsonl"));
  auto source = f.Source(config, "export");
  HarvestReport report = f.HarvestOk(*source);
  CHECK(report.source == "export");
  CHECK(report.tickets_new == 3);
  CHECK(report.tickets_updated == 0);
  CHECK(report.skipped == 2);  // open, pending
  CHECK(report.rejects.empty());
  CHECK(*f.store->CountTickets() == 3);
  CHECK_FALSE(fs::exists(f.dir.File("data/rejects/export.rejects.jsonl")));

  Ticket t = f.Get("export", "HD-1001");
  CHECK(t.subject == "VPN drops every 10 minutes");
  CHECK(t.status == "resolved");
  CHECK(t.resolved);
  CHECK(t.requester_name == "Maria Lopez");
  CHECK(t.requester_email == "maria.lopez@example.com");
  CHECK(t.tags == std::vector<std::string>{"vpn", "network"});
  CHECK(t.created_at == 1772442840);
  CHECK(t.resolved_at == 1772451600);
  REQUIRE(t.messages.size() == 3);
  CHECK(t.messages[0].role == Role::kRequester);
  CHECK(t.messages[0].content_type == "text/html");
  CHECK(t.messages[0].author == "maria.lopez@example.com");
  CHECK(t.messages[1].role == Role::kAgent);
  CHECK_FALSE(t.messages[1].is_public);
  CHECK(t.messages[2].is_public);
  CHECK(t.messages[2].external_id == "3");
  CHECK(t.messages[2].body.find("Tom Baker | IT Service Desk") != std::string::npos);

  // Numeric id, no roles (inferred from the author), offset time, tags as text.
  Ticket p = f.Get("export", "1003");
  CHECK(p.created_at == 1772625600);
  CHECK(p.tags == std::vector<std::string>{"printer", "hardware"});
  REQUIRE(p.messages.size() == 2);
  CHECK(p.messages[0].role == Role::kRequester);
  CHECK(p.messages[1].role == Role::kAgent);
  CHECK(p.messages[1].external_id == "2");
  CHECK(p.messages[0].content_type == "text/plain");

  // "Solved" in any case; role words of other help desks; content type params.
  Ticket s = f.Get("export", "HD-1004");
  CHECK(s.messages[0].role == Role::kRequester);
  CHECK(s.messages[1].role == Role::kAgent);
  CHECK(s.messages[1].content_type == "text/html");

  CHECK_FALSE(f.store->GetTicket("export", "HD-1002")->has_value());
  CHECK_FALSE(f.store->GetTicket("export", "HD-1005")->has_value());
}

TEST_CASE("files source: flat CSV with embedded newlines and quotes", "[sources][files]") {
  Fixture f;
  Config config = f.ConfigFor(FilesEntry("qa", kData + "qa.csv"));
  auto source = f.Source(config, "qa");
  HarvestReport report = f.HarvestOk(*source);
  CHECK(report.tickets_new == 3);
  CHECK(report.skipped == 1);
  CHECK(report.rejects.empty());

  Ticket t = f.Get("qa", "Q-2");
  CHECK(t.status == "closed");
  CHECK(t.requester_name == "Ken Ito");
  CHECK(t.requester_email == "ken@example.com");
  CHECK(t.created_at == 1772524800);
  REQUIRE(t.messages.size() == 2);
  CHECK(t.messages[0].role == Role::kRequester);
  CHECK(t.messages[0].body == "Which driver do I need for the HP 4250, the \"PCL6\" one?");
  CHECK(t.messages[0].author == "ken@example.com");
  CHECK(t.messages[1].role == Role::kAgent);
  CHECK(t.messages[1].is_public);
  CHECK(t.messages[1].body ==
        "Yes, PCL6.\nInstall it from the software center:\n1. open Software Center\n"
        "2. search \"HP 4250\"\n\nRegards, IT");
  CHECK(t.messages[1].created_at == 1772528400);
  CHECK(f.Get("qa", "Q-4").subject == "VPN, again");
  CHECK_FALSE(f.store->GetTicket("qa", "Q-3")->has_value());
}

TEST_CASE("files source: a CSV without a required column imports nothing and says why",
          "[sources][files]") {
  Fixture f;
  Config config = f.ConfigFor(FilesEntry("qa", kData + "qa_missing_column.csv"));
  auto source = f.Source(config, "qa");
  auto report = Harvest(*source, *f.store);
  REQUIRE_FALSE(report.ok());
  const std::string& msg = report.status().message();
  INFO(msg);
  CHECK(msg.find("harvest qa: page 1") != std::string::npos);
  CHECK(msg.find("qa_missing_column.csv:1: missing required column 'answer'") != std::string::npos);
  CHECK(*f.store->CountTickets() == 0);
  CHECK_FALSE(f.store->GetCursor("qa")->has_value());
}

TEST_CASE("files source: malformed rows are rejected, the rest imports", "[sources][files]") {
  Fixture f;
  const std::string path = kData + "tickets_with_errors.jsonl";
  Config config = f.ConfigFor(FilesEntry("export", path));
  auto source = f.Source(config, "export");
  HarvestReport report = f.HarvestOk(*source);
  CHECK(report.tickets_new == 4);
  CHECK(*f.store->CountTickets() == 4);
  for (const char* id : {"HD-2001", "HD-2002", "HD-2006", "HD-2009"}) f.Get("export", id);

  REQUIRE(report.rejects.size() == 5);
  CHECK(report.rejects[0].where == path + ":3");
  CHECK(report.rejects[0].reason.rfind("malformed JSON: ", 0) == 0);
  CHECK(report.rejects[1].where == path + ":4");
  CHECK(report.rejects[1].reason == "missing required field 'id'");
  CHECK(report.rejects[2].where == path + ":5");
  CHECK(report.rejects[2].reason == "field 'messages' is text, expected a list of objects");
  CHECK(report.rejects[3].where == path + ":7");
  CHECK(report.rejects[3].reason == "field 'created_at' is not an ISO 8601 time");
  CHECK(report.rejects[4].where == path + ":8");
  CHECK(report.rejects[4].reason ==
        "message 2: field 'role' is not a known role (requester, agent, system)");

  // The rejects file holds exactly those lines, verbatim, ready to fix.
  const std::string rejects = f.dir.File("data/rejects/export.rejects.jsonl");
  CHECK(Slurp(rejects) == Lines(path, {3, 4, 5, 7, 8}));
}

TEST_CASE("files source: invalid UTF-8 rows are rejected in CSV and JSONL", "[sources][files]") {
  Fixture f;
  const std::string csv = f.dir.File("latin1.csv");
  Write(csv,
        "id,status,question,answer\r\n"
        "1,resolved,Where is the caf\xE9?,Floor 2.\r\n"
        "2,resolved,Where is HR?,Floor 3.\r\n");
  const std::string jsonl = f.dir.File("latin1.jsonl");
  Write(jsonl,
        "{\"id\":\"1\",\"status\":\"resolved\",\"question\":\"caf\xE9\",\"answer\":\"x\"}\n"
        "{\"id\":\"2\",\"status\":\"resolved\",\"question\":\"tea\",\"answer\":\"y\"}\n");
  Config config = f.ConfigFor(FilesEntry("csv", csv) + FilesEntry("jsonl", jsonl));
  for (const char* name : {"csv", "jsonl"}) {
    auto source = f.Source(config, name);
    HarvestReport report = f.HarvestOk(*source);
    CHECK(report.tickets_new == 1);
    REQUIRE(report.rejects.size() == 1);
    CHECK(report.rejects[0].reason.rfind("invalid UTF-8 at byte", 0) == 0);
    CHECK(f.Get(name, "2").messages.size() == 2);
    CHECK_FALSE(f.store->GetTicket(name, "1")->has_value());
  }
  // The CSV rejects file starts with the header, then the row byte for byte.
  CHECK(Slurp(f.dir.File("data/rejects/csv.rejects.csv")) ==
        "id,status,question,answer\r\n1,resolved,Where is the caf\xE9?,Floor 2.\r\n");
}

TEST_CASE("files source: a 10 MB body is stored whole", "[sources][files]") {
  Fixture f;
  std::string body;
  body.reserve(10 * 1024 * 1024 + 100);
  while (body.size() < 10 * 1024 * 1024) body += "The VPN log line says timeout. ";
  const std::string path = f.dir.File("big.csv");
  Write(path, "id,status,question,answer\nB-1,resolved,\"" + body + "\",short answer\nB-2,resolved,q,a\n");
  Config config = f.ConfigFor(FilesEntry("big", path));
  auto source = f.Source(config, "big");
  HarvestReport report = f.HarvestOk(*source);
  CHECK(report.tickets_new == 2);
  Ticket t = f.Get("big", "B-1");
  CHECK(t.messages[0].body.size() == body.size());
  CHECK(t.messages[0].body == body);
}

TEST_CASE("files source: harvesting an unchanged file again adds nothing", "[sources][files]") {
  Fixture f;
  const std::string path = f.dir.File("t.jsonl");
  fs::copy_file(kData + "tickets_with_errors.jsonl", path);
  Config config = f.ConfigFor(FilesEntry("export", path));
  auto source = f.Source(config, "export");
  f.HarvestOk(*source);
  const std::string rejects_path = f.dir.File("data/rejects/export.rejects.jsonl");
  const std::string rejects = Slurp(rejects_path);
  const auto cursor = f.store->GetCursor("export")->value();

  HarvestReport again = f.HarvestOk(*source);
  CHECK(again.pages == 1);
  CHECK(again.tickets() == 0);
  CHECK(again.rejects.empty());
  CHECK(again.skipped == 0);
  CHECK(*f.store->CountTickets() == 4);
  CHECK(Slurp(rejects_path) == rejects);
  CHECK(f.store->GetCursor("export")->value() == cursor);

  // The file changes: it is read again; known tickets update in place.
  std::ofstream(path, std::ios::app)
      << "{\"id\":\"HD-2010\",\"status\":\"resolved\",\"question\":\"q\",\"answer\":\"a\"}\n";
  HarvestReport changed = f.HarvestOk(*source);
  CHECK(changed.tickets_new == 1);
  CHECK(changed.tickets_updated == 4);
  CHECK(changed.rejects.size() == 5);
  CHECK(Slurp(rejects_path) == rejects);  // started over, not appended twice
  CHECK(*f.store->CountTickets() == 5);
}

// Delegates to a real source but fails the page after `fail_after` pages.
class FailingSource : public TicketSource {
 public:
  FailingSource(TicketSource& inner, int fail_after) : inner_(inner), fail_after_(fail_after) {}
  const std::string& name() const override { return inner_.name(); }
  util::Result<HarvestPage> NextPage(const std::optional<std::string>& cursor) override {
    if (calls_++ == fail_after_) return util::Status::Unavailable("connection reset");
    return inner_.NextPage(cursor);
  }

 private:
  TicketSource& inner_;
  int fail_after_;
  int calls_ = 0;
};

TEST_CASE("files source: an interrupted harvest resumes and stores each ticket once",
          "[sources][files]") {
  Fixture f;
  const std::string path = kData + "tickets_with_errors.jsonl";
  Config config = f.ConfigFor(FilesEntry("export", path, "page_size = 3\n"));
  auto source = f.Source(config, "export");

  // Each broken run stores one page (3 rows) and fails on the next.
  for (int run = 0; run < 2; ++run) {
    const int fail_after = 1;
    FailingSource failing(*source, fail_after);
    auto broken = Harvest(failing, *f.store);
    REQUIRE_FALSE(broken.ok());
    INFO(broken.status().message());
    CHECK(broken.status().code() == util::Status::Code::kUnavailable);
    CHECK(broken.status().message().find("harvest export: page " + std::to_string(fail_after + 1)) !=
          std::string::npos);
    CHECK(broken.status().message().find("connection reset") != std::string::npos);
    CHECK(broken.status().message().find("pages 1-1 with") != std::string::npos);
    CHECK(broken.status().message().find("resumes after them") != std::string::npos);
  }
  // Rows 1-6 are stored: HD-2001, HD-2002, HD-2006.
  CHECK(*f.store->CountTickets() == 3);

  HarvestReport rest = f.HarvestOk(*source);
  CHECK(rest.tickets_new == 1);       // HD-2009
  CHECK(rest.tickets_updated == 0);   // nothing read twice
  CHECK(rest.rejects.size() == 2);    // rows 7 and 8
  CHECK(*f.store->CountTickets() == 4);
  CHECK(Slurp(f.dir.File("data/rejects/export.rejects.jsonl")) == Lines(path, {3, 4, 5, 7, 8}));
}

TEST_CASE("files source: a page that fails to store is written again on resume",
          "[sources][files]") {
  // The source wrote page 2's rejects, then the store refused the page: the
  // resumed harvest must not leave page 2's rejects in the file twice.
  Fixture f;
  const std::string path = f.dir.File("t.jsonl");
  Write(path,
        "{\"id\":\"1\",\"status\":\"resolved\",\"question\":\"q\",\"answer\":\"a\"}\n"
        "not json 1\n"
        "{\"id\":\"2\",\"status\":\"resolved\",\"question\":\"q\",\"answer\":\"a\"}\n"
        "not json 2\n");
  Config config = f.ConfigFor(FilesEntry("export", path, "page_size = 2\n"));
  auto source = f.Source(config, "export");

  // Page 1 stored; then page 2 read (its reject written) but never stored.
  auto page1 = source->NextPage(std::nullopt);
  REQUIRE(page1.ok());
  REQUIRE(f.store->UpsertTickets("export", page1->tickets, page1->next_cursor).ok());
  auto page2 = source->NextPage(page1->next_cursor);
  REQUIRE(page2.ok());
  CHECK(Slurp(f.dir.File("data/rejects/export.rejects.jsonl")) == "not json 1\nnot json 2\n");

  HarvestReport report = f.HarvestOk(*source);
  CHECK(report.tickets_new == 1);
  CHECK(Slurp(f.dir.File("data/rejects/export.rejects.jsonl")) == "not json 1\nnot json 2\n");
}

TEST_CASE("files source: field mapping, statuses and settings from the config",
          "[sources][files]") {
  Fixture f;
  Config config = f.ConfigFor(FilesEntry("hd", kData + "helpdesk_export.csv",
                                         "resolved_statuses = [\"Done\"]\n"
                                         "rejects = \"" + f.dir.File("hd-rejects.csv") + "\"\n"
                                         "[sources.fields]\n"
                                         "external_id = \"Ticket ID\"\n"
                                         "subject = \"Title\"\n"
                                         "status = \"State\"\n"
                                         "requester_name = \"Customer\"\n"
                                         "created_at = \"Opened\"\n"
                                         "resolved_at = \"Closed\"\n"
                                         "question = \"Customer Question\"\n"
                                         "answer = \"Agent Reply\"\n"));
  auto options = FilesSourceOptions::FromConfig(config, "hd");
  REQUIRE(options.ok());
  CHECK(options->format == files::Format::kCsv);
  CHECK(options->rejects_path == f.dir.File("hd-rejects.csv"));
  CHECK(options->resolved_statuses == std::vector<std::string>{"done"});

  auto source = f.Source(config, "hd");
  HarvestReport report = f.HarvestOk(*source);
  CHECK(report.tickets_new == 1);
  CHECK(report.skipped == 1);
  Ticket t = f.Get("hd", "77");
  CHECK(t.subject == "Badge does not open door");
  CHECK(t.requester_name == "Ravi Kumar");
  CHECK(t.created_at == 1768032000);
  CHECK(t.messages[0].author == "Ravi Kumar");
  CHECK(t.messages[1].body == "We re-encoded your badge; try again.");

  // assume_resolved: a Q/A list without statuses.
  const std::string qa = f.dir.File("faq.csv");
  Write(qa, "question,answer,id\nWhere is HR?,Floor 3.,faq-1\n");
  Config faq = f.ConfigFor(FilesEntry("faq", qa, "assume_resolved = true\n"));
  auto faq_source = f.Source(faq, "faq");
  CHECK(f.HarvestOk(*faq_source).tickets_new == 1);
  CHECK(f.Get("faq", "faq-1").resolved);
}

TEST_CASE("files source: bad settings name the source", "[sources][files]") {
  Fixture f;
  Config config = f.ConfigFor(FilesEntry("a", "x.txt") + FilesEntry("b", "x.csv", "format = \"xml\"\n") +
                              "[[sources]]\nname = \"c\"\ntype = \"files\"\n" +
                              "[[sources]]\nname = \"d\"\ntype = \"zendesk\"\n" +
                              FilesEntry("e", "x.csv", "page_size = 0\n"));
  auto a = MakeSource(config, "a");
  CHECK(a.status().message().find("cannot tell the format") != std::string::npos);
  CHECK(MakeSource(config, "b").status().message() == "source b: format 'xml' is not jsonl or csv");
  CHECK(MakeSource(config, "c").status().message() == "source c: 'path' is required");
  CHECK(MakeSource(config, "d").status().message() == "source d: unknown type 'zendesk' (known: files)");
  CHECK(MakeSource(config, "e").status().message() == "source e: page_size must be positive");
  auto missing = MakeSource(config, "nope");
  CHECK(missing.status().code() == util::Status::Code::kNotFound);
  CHECK(missing.status().message().find("configured: a, b, c, d, e") != std::string::npos);

  // A missing file is an error of the harvest, naming source and path.
  auto e = MakeSource(f.ConfigFor(FilesEntry("gone", f.dir.File("gone.jsonl"))), "gone");
  REQUIRE(e.ok());
  auto r = Harvest(**e, *f.store);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("source gone: ") != std::string::npos);
  CHECK(r.status().message().find("gone.jsonl") != std::string::npos);
}

// A source that returns the same empty page forever.
class StuckSource : public TicketSource {
 public:
  const std::string& name() const override { return name_; }
  util::Result<HarvestPage> NextPage(const std::optional<std::string>& cursor) override {
    HarvestPage page;
    page.next_cursor = cursor;
    return page;
  }

 private:
  std::string name_ = "stuck";
};

TEST_CASE("harvest: a source that makes no progress is an error, not a hang", "[sources]") {
  Fixture f;
  StuckSource stuck;
  auto r = Harvest(stuck, *f.store);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("made no progress") != std::string::npos);
}

TEST_CASE("harvest: a one-off import neither reads nor moves the cursor", "[sources]") {
  Fixture f;
  Config config = f.ConfigFor("");
  auto options = FilesSourceOptions::ForFile(config, kData + "qa.csv", "import", std::nullopt);
  REQUIRE(options.ok());
  CHECK(options->rejects_path == f.dir.File("data/rejects/import.rejects.csv"));
  FilesSource source(*options);
  HarvestOptions once;
  once.resume = false;
  once.save_cursor = false;
  CHECK(f.HarvestOk(source, once).tickets_new == 3);
  CHECK_FALSE(f.store->GetCursor("import")->has_value());
  HarvestReport again = f.HarvestOk(source, once);  // read again on purpose
  CHECK(again.tickets_updated == 3);
  CHECK(again.tickets_new == 0);
}

}  // namespace
}  // namespace deskbot
