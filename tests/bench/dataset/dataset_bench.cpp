// dataset_bench: throughput of the training-data pipeline on one thread,
// against a read+write baseline measured in the same run.
//
//   dataset_bench [--data DIR] [--corpus FILE]... [--pairs N] [--work DIR] [--seed N] [--keep]
//
// 1. Reads real Q&A corpora (default: DIR/ubuntu-irc-help/pairs.jsonl and
//    DIR/twitter-customer-care/pairs.jsonl, DIR = <repo>/../shared/data; the
//    "prompt" and "completion" fields).
// 2. Replicates them into N tickets in deskbot's native ticket JSONL format
//    with deterministic variations (SplitMix64 of the ticket number):
//    - 75% mix in a second question sentence and a second answer from two other
//      random pairs (distinct tickets); the other 25% are variants of one pair
//      (near duplicates, as real help desks have many);
//    - word order shuffled in one sentence (20%), digits substituted (30%),
//      lower-cased (10%), "(ticket #N)" appended (25%);
//    - requester names from 48x48 first/last names, used in greetings and
//      sign-offs; PII inserted: e-mail (15%), phone (10%), IPv4 (10%), a
//      Luhn-valid card (2%), an AWS key (2%), "password: ..." (3%);
//    - HTML bodies (25%), quoted history ("On ... wrote:" + "> " lines or an
//      Outlook header block, 15%), signatures ("Best regards," block 30%,
//      "-- " block 10%, "Sent from my iPhone" 10%), greetings (40%);
//    - internal notes (30%), a clarifying exchange before the answer (15%),
//      unresolved tickets (2%), auto-replies (1%).
// 3. BASELINE: read the ticket file, parse every line as JSON, write it back
//    out as JSONL. No processing.
// 4. PIPELINE: read + parse into Ticket, then extract/clean, redact, filter,
//    dedupe, validate, split (random, hash-based) and export chat JSONL
//    (train + valid files) -- the same code as `deskbot dataset build/export`,
//    minus the store.
// Both measured phases parse with Boost.JSON (a reused parser and arena, the
// fastest JSON reader available here) so that input parsing, which is the
// harness's work and not the pipeline's, weighs as little as possible in both;
// the corpora and the generated tickets go through nlohmann (not timed).
// Prints a table (pairs/s per wall and per CPU second, ratio to baseline, peak
// RSS, per-stage time) and a final JSON line.
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "bot/dataset/pipeline.h"
#include "bot/dataset/prompts.h"
#include "bot/dataset/text_util.h"

namespace fs = std::filesystem;
using deskbot::Message;
using deskbot::Role;
using deskbot::Ticket;
using nlohmann::json;
namespace ds = deskbot::dataset;

namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// CPU seconds of this process: on a shared machine wall time also counts the
// time other processes held the core; CPU time is what one core spent.
double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is KiB on Linux
}

struct QA {
  std::string q, a;
};

struct Args {
  std::string data_dir;
  std::vector<std::string> corpora;
  long long pairs = 1000000;
  std::string work_dir;
  std::uint64_t seed = 1;
  bool keep = false;
};

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error("missing value for " + a);
      return argv[++i];
    };
    if (a == "--data") args->data_dir = next();
    else if (a == "--corpus") args->corpora.push_back(next());
    else if (a == "--pairs") args->pairs = std::stoll(next());
    else if (a == "--work") args->work_dir = next();
    else if (a == "--seed") args->seed = std::stoull(next());
    else if (a == "--keep") args->keep = true;
    else {
      std::cerr << "usage: dataset_bench [--data DIR] [--corpus FILE]... [--pairs N] [--work DIR] [--seed N] [--keep]\n";
      return false;
    }
  }
  if (args->corpora.empty()) {
    std::string dir = args->data_dir.empty() ? std::string(DESKBOT_SOURCE_DIR) + "/../shared/data" : args->data_dir;
    args->corpora = {dir + "/ubuntu-irc-help/pairs.jsonl", dir + "/twitter-customer-care/pairs.jsonl"};
  }
  if (args->work_dir.empty()) args->work_dir = fs::temp_directory_path().string();
  return args->pairs > 0;
}

std::vector<QA> LoadCorpora(const std::vector<std::string>& files) {
  std::vector<QA> out;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) throw std::runtime_error("cannot read corpus " + f + " (give --data DIR or --corpus FILE)");
    for (std::string line; std::getline(in, line);) {
      json j = json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("prompt") || !j.contains("completion")) continue;
      out.push_back({j["prompt"].get<std::string>(), j["completion"].get<std::string>()});
    }
  }
  if (out.empty()) throw std::runtime_error("the corpora hold no prompt/completion pairs");
  return out;
}

// --- synthetic tickets ---------------------------------------------------------

struct Rng {
  std::uint64_t s;
  std::uint64_t Next() { return s = ds::Mix64(s); }
  bool Chance(int percent) { return Next() % 100 < static_cast<std::uint64_t>(percent); }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
};

const char* const kFirst[] = {"Maria", "Jan", "Eva", "Tom", "Aisha", "Lukas", "Sofia", "Omar", "Chen", "Priya",
                              "Jonas", "Fatima", "Diego", "Hana", "Noah", "Lea", "Mateo", "Yuki", "Ivan", "Nora",
                              "Emil", "Zara", "Felix", "Amara", "Leon", "Ines", "Oskar", "Mila", "Hugo", "Elif",
                              "Samir", "Greta", "Tariq", "Lina", "Pavel", "Rosa", "Arjun", "Clara", "Kofi", "Alma",
                              "Bruno", "Dana", "Enzo", "Freya", "Goran", "Ida", "Jorge", "Kira"};
const char* const kLast[] = {"Lopez", "Novak", "Green", "Baker", "Khan", "Weber", "Rossi", "Haddad", "Wang", "Patel",
                             "Berg", "Ali", "Garcia", "Sato", "Miller", "Dubois", "Silva", "Tanaka", "Petrov", "Olsen",
                             "Larsen", "Ahmed", "Fischer", "Okafor", "Schmidt", "Costa", "Nilsson", "Horvat", "Moreau",
                             "Yilmaz", "Nasser", "Lindgren", "Rahman", "Jensen", "Kowalski", "Romero", "Iyer", "Meyer",
                             "Mensah", "Ortiz", "Conti", "Sorensen", "Marin", "Keller", "Popov", "Hansen", "Vega",
                             "Kruger"};

std::string FirstSentence(const std::string& s) {
  size_t end = s.find_first_of(".?!\n");
  return end == std::string::npos ? s : s.substr(0, end + 1);
}

std::string ShuffleSomeWords(const std::string& s, Rng& rng) {
  std::vector<std::string> words;
  size_t b = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == ' ') {
      words.push_back(s.substr(b, i - b));
      b = i + 1;
    }
  }
  if (words.size() < 4) return s;
  for (int k = 0; k < 2; ++k) {
    size_t i = rng.Below(words.size() - 1);
    std::swap(words[i], words[i + 1]);
  }
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string SubstituteDigits(std::string s, Rng& rng) {
  for (char& c : s)
    if (c >= '0' && c <= '9') c = static_cast<char>('0' + rng.Below(10));
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = ds::AsciiLower(c);
  return s;
}

std::string HtmlWrap(const std::string& text, Rng& rng) {
  std::string out = "<div dir=\"ltr\">";
  size_t b = 0;
  while (b <= text.size()) {
    size_t nl = text.find('\n', b);
    std::string para = text.substr(b, nl == std::string::npos ? std::string::npos : nl - b);
    std::string esc;
    for (char c : para) {
      if (c == '&') esc += "&amp;";
      else if (c == '<') esc += "&lt;";
      else if (c == '>') esc += "&gt;";
      else esc.push_back(c);
    }
    if (!esc.empty()) out += rng.Chance(20) ? "<p><b>" + esc + "</b></p>" : "<p>" + esc + "</p>";
    if (nl == std::string::npos) break;
    b = nl + 1;
  }
  if (rng.Chance(30)) out += "<ul><li>Windows 11</li><li>Office 365</li></ul>";
  out += "</div>";
  return out;
}

std::string Iso(long long t) {
  time_t tt = static_cast<time_t>(t);
  tm g{};
  gmtime_r(&tt, &g);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &g);
  return buf;
}

json MessageJson(int id, const char* role, bool is_public, bool html, const std::string& body, long long t) {
  return json{{"id", std::to_string(id)}, {"author", role[0] == 'a' ? "it.agent@example.com" : "user@example.com"},
              {"role", role}, {"public", is_public}, {"content_type", html ? "text/html" : "text/plain"},
              {"created_at", Iso(t)}, {"body", body}};
}

std::string MakeTicketLine(long long n, const std::vector<QA>& corpus, std::uint64_t seed) {
  Rng rng{ds::Mix64(seed * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(n))};
  const QA& base = corpus[static_cast<size_t>(n) % corpus.size()];
  std::string first = kFirst[rng.Below(48)], last = kLast[rng.Below(48)];
  std::string email = Lower(first) + "." + Lower(last) + "@example.com";
  std::string q = base.q, a = base.a;
  if (rng.Chance(75)) {
    q += " " + FirstSentence(corpus[rng.Below(corpus.size())].q);
    a += "\n" + corpus[rng.Below(corpus.size())].a;
  }
  if (rng.Chance(20)) q = ShuffleSomeWords(q, rng);
  if (rng.Chance(30)) q = SubstituteDigits(q, rng);
  if (rng.Chance(10)) q = Lower(q);
  if (rng.Chance(25)) q += " (ticket #" + std::to_string(100000 + n) + ")";
  if (rng.Chance(15)) q += " You can reach me at " + email + ".";
  if (rng.Chance(10)) q += " My phone is +44 20 7946 " + std::to_string(1000 + rng.Below(9000)) + ".";
  if (rng.Chance(10)) q += " My IP is 10." + std::to_string(rng.Below(256)) + "." + std::to_string(rng.Below(256)) + ".7.";
  if (rng.Chance(2)) q += " I paid with 4111 1111 1111 1111.";
  if (rng.Chance(2)) q += " Our key AKIAIOSFODNN7EXAMPLE leaked.";
  if (rng.Chance(3)) q += "\npassword: Winter" + std::to_string(rng.Below(100)) + "!";
  if (rng.Chance(20)) q = "Hello,\n" + q;
  if (rng.Chance(30)) q += "\n\nThanks,\n" + first;
  if (rng.Chance(10)) q += "\n\nSent from my iPhone";
  if (rng.Chance(1)) q = "Automatic reply: I am out of the office until Monday.";
  if (rng.Chance(40)) a = "Hi " + first + ",\n\n" + a;
  int sig = static_cast<int>(rng.Below(10));
  if (sig < 3) a += "\n\nBest regards,\nTom Baker\nIT Service Desk | ext. 4471";
  else if (sig == 3) a += "\n-- \nTom Baker | IT Service Desk";
  if (rng.Chance(15)) {
    a += rng.Chance(50) ? "\n\nOn Mon, 2 Mar 2026 at 09:14, " + first + " " + last + " <" + email + "> wrote:\n> " +
                              FirstSentence(base.q) + "\n> > older quoted line"
                        : "\n\n________________________________\nFrom: " + first + " " + last + "\nSent: Monday\nTo: IT\n"
                          "Subject: help\n\n" + FirstSentence(base.q);
  }
  bool q_html = rng.Chance(25), a_html = rng.Chance(25);
  long long t = 1767225600LL + n * 37;
  json msgs = json::array();
  int id = 1;
  msgs.push_back(MessageJson(id++, "requester", true, q_html, q_html ? HtmlWrap(q, rng) : q, t));
  if (rng.Chance(30)) msgs.push_back(MessageJson(id++, "agent", false, false, "internal: checked logs for " + email, t + 60));
  if (rng.Chance(15)) {
    msgs.push_back(MessageJson(id++, "agent", true, false, "Which version are you on?", t + 120));
    msgs.push_back(MessageJson(id++, "requester", true, false, "Version " + std::to_string(rng.Below(20)) + ".", t + 180));
  }
  msgs.push_back(MessageJson(id++, "agent", true, a_html, a_html ? HtmlWrap(a, rng) : a, t + 240));
  bool resolved = !rng.Chance(2);
  json ticket = {{"id", "BENCH-" + std::to_string(n)}, {"subject", FirstSentence(base.q).substr(0, 60)},
                 {"status", resolved ? "resolved" : "open"}, {"requester", {{"name", first + " " + last}, {"email", email}}},
                 {"created_at", Iso(t)}, {"updated_at", Iso(t + 300)}, {"resolved_at", Iso(t + 300)},
                 {"tags", json::array()}, {"messages", std::move(msgs)}};
  return ticket.dump(-1, ' ', false, json::error_handler_t::replace);  // cut multi-byte chars
}

// --- parsing the native format ------------------------------------------------------

long long ParseIso(std::string_view s) {
  // "YYYY-MM-DDTHH:MM:SSZ" (what the generator writes).
  if (s.size() < 19) return 0;
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t k = pos; k < pos + len; ++k) v = v * 10 + (s[k] - '0');
    return v;
  };
  tm g{};
  g.tm_year = num(0, 4) - 1900;
  g.tm_mon = num(5, 2) - 1;
  g.tm_mday = num(8, 2);
  g.tm_hour = num(11, 2);
  g.tm_min = num(14, 2);
  g.tm_sec = num(17, 2);
  return static_cast<long long>(timegm(&g));
}

std::string Str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  const auto& s = v->get_string();
  return std::string(s.data(), s.size());
}

Ticket ToTicket(const boost::json::value& jv) {
  const auto& j = jv.as_object();
  Ticket t;
  t.source = "bench";
  t.external_id = Str(j, "id");
  t.subject = Str(j, "subject");
  t.status = Str(j, "status");
  t.resolved = t.status == "resolved" || t.status == "closed";
  if (const auto* r = j.if_contains("requester"); r != nullptr && r->is_object()) {
    t.requester_name = Str(r->get_object(), "name");
    t.requester_email = Str(r->get_object(), "email");
  }
  t.created_at = ParseIso(Str(j, "created_at"));
  for (const auto& mv : j.at("messages").as_array()) {
    const auto& m = mv.as_object();
    Message msg;
    msg.external_id = Str(m, "id");
    msg.role = Str(m, "role") == "agent" ? Role::kAgent : Role::kRequester;
    const auto* pub = m.if_contains("public");
    msg.is_public = pub == nullptr || !pub->is_bool() || pub->get_bool();
    msg.author = Str(m, "author");
    msg.content_type = Str(m, "content_type");
    msg.body = Str(m, "body");
    msg.created_at = ParseIso(Str(m, "created_at"));
    t.messages.push_back(std::move(msg));
  }
  return t;
}

// One reused parser, and a fresh arena on a stack buffer per line (the
// pattern Boost.JSON documents for speed): what a fast JSONL reader does.
class LineParser {
 public:
  template <typename Fn>
  void Parse(std::string_view line, Fn&& fn) {
    unsigned char buf[32768];
    boost::json::monotonic_resource mr(buf, sizeof buf);
    parser_.reset(&mr);
    boost::system::error_code ec;
    parser_.write(line.data(), line.size(), ec);
    if (!ec) parser_.finish(ec);
    if (ec) throw std::runtime_error("bad JSON line: " + ec.message());
    boost::json::value value = parser_.release();
    fn(value);
  }

 private:
  boost::json::stream_parser parser_;
};

void Check(const util::Status& st) {
  if (!st.ok()) throw std::runtime_error(st.ToString());
}

}  // namespace

int main(int argc, char** argv) try {
  Args args;
  if (!ParseArgs(argc, argv, &args)) return 2;
  std::vector<QA> corpus = LoadCorpora(args.corpora);
  fs::create_directories(args.work_dir);
  const fs::path work(args.work_dir);
  const std::string input = (work / "dataset_bench_input.jsonl").string();
  const std::string baseline_out = (work / "dataset_bench_baseline.jsonl").string();
  const std::string train_out = (work / "dataset_bench_train.jsonl").string();
  const std::string valid_out = (work / "dataset_bench_valid.jsonl").string();

  // 1. Generate the tickets (not part of either measurement).
  auto g0 = Clock::now();
  {
    std::ofstream out(input, std::ios::binary);
    for (long long n = 0; n < args.pairs; ++n) out << MakeTicketLine(n, corpus, args.seed) << '\n';
    if (!out) throw std::runtime_error("cannot write " + input);
  }
  double generate_s = Seconds(g0, Clock::now());
  double input_mb = static_cast<double>(fs::file_size(input)) / 1e6;

  // 2. Baseline: read + parse + write, no processing.
  auto b0 = Clock::now();
  double b0_cpu = CpuSeconds();
  long long baseline_lines = 0;
  {
    std::ifstream in(input, std::ios::binary);
    auto w = ds::JsonlWriter::Open(baseline_out);
    Check(w.status());
    LineParser parser;
    for (std::string line; std::getline(in, line);) {
      parser.Parse(line, [&](const boost::json::value& v) { Check((*w)->Write(boost::json::serialize(v))); });
      ++baseline_lines;
    }
    Check((*w)->Commit());
  }
  double baseline_s = Seconds(b0, Clock::now());
  double baseline_cpu = CpuSeconds() - b0_cpu;
  double rss_after_baseline = PeakRssMb();

  // 3. The pipeline on one thread.
  auto prompts_dir = ds::FindPromptsDir(std::string(DESKBOT_SOURCE_DIR) + "/prompts");
  Check(prompts_dir.status());
  auto prompts = ds::PromptSet::Load(*prompts_dir);
  Check(prompts.status());
  ds::DatasetOptions options;  // the defaults `deskbot dataset build` uses
  auto renderer = ds::ExampleRenderer::Create(*prompts, options.markers);
  Check(renderer.status());

  auto p0 = Clock::now();
  double p0_cpu = CpuSeconds();
  double read_ms = 0, split_ms = 0, export_ms = 0;
  long long train = 0, valid = 0;
  ds::BuildReport* report = nullptr;
  ds::DatasetBuilder builder(options, prompts->system);
  {
    std::ifstream in(input, std::ios::binary);
    auto train_w = ds::JsonlWriter::Open(train_out);
    auto valid_w = ds::JsonlWriter::Open(valid_out);
    Check(train_w.status());
    Check(valid_w.status());
    std::string line, rendered;
    LineParser parser;
    while (true) {
      auto t0 = Clock::now();
      if (!std::getline(in, line)) break;
      Ticket ticket;
      parser.Parse(line, [&](const boost::json::value& v) { ticket = ToTicket(v); });
      auto t1 = Clock::now();
      read_ms += Seconds(t0, t1) * 1e3;
      std::optional<ds::RedactedPair> pair = builder.Add(ticket);
      if (!pair) continue;
      auto t2 = Clock::now();
      pair->set_split(ds::RandomSplitFor(pair->pair(), options.split));
      auto t3 = Clock::now();
      split_ms += Seconds(t2, t3) * 1e3;
      bool is_valid = pair->pair().split == deskbot::Split::kValid;
      if (renderer->Chat(*pair, &rendered).empty()) {
        Check((is_valid ? *valid_w : *train_w)->Write(rendered));
        ++(is_valid ? valid : train);
      }
      export_ms += Seconds(t3, Clock::now()) * 1e3;
    }
    auto c0 = Clock::now();
    Check((*train_w)->Commit());
    Check((*valid_w)->Commit());
    export_ms += Seconds(c0, Clock::now()) * 1e3;
    report = &builder.Finish();
  }
  double pipeline_s = Seconds(p0, Clock::now());
  double pipeline_cpu = CpuSeconds() - p0_cpu;
  double rss_after_pipeline = PeakRssMb();

  const auto& st = report->times;
  double pairs_per_s = static_cast<double>(args.pairs) / pipeline_s;
  double baseline_per_s = static_cast<double>(baseline_lines) / baseline_s;
  double pairs_per_cpu_s = static_cast<double>(args.pairs) / pipeline_cpu;
  double baseline_per_cpu_s = static_cast<double>(baseline_lines) / baseline_cpu;
  std::printf("dataset_bench: %lld tickets from %zu corpus pairs (%.1f MB of ticket JSONL, generated in %.1f s)\n",
              args.pairs, corpus.size(), input_mb, generate_s);
  std::printf("  %-34s %9s %11s %9s %11s\n", "", "wall s", "pairs/s", "CPU s", "pairs/CPU-s");
  std::printf("  %-34s %9.2f %11.0f %9.2f %11.0f\n", "baseline (read+parse+write JSONL)", baseline_s, baseline_per_s,
              baseline_cpu, baseline_per_cpu_s);
  std::printf("  %-34s %9.2f %11.0f %9.2f %11.0f\n", "full pipeline, one thread", pipeline_s, pairs_per_s,
              pipeline_cpu, pairs_per_cpu_s);
  std::printf("  ratio pipeline/baseline: %.2fx wall time, %.2fx CPU time\n", pipeline_s / baseline_s,
              pipeline_cpu / baseline_cpu);
  std::printf("  peak RSS: %.0f MB after baseline, %.0f MB after pipeline\n", rss_after_baseline, rss_after_pipeline);
  std::printf("  stages (wall ms): read+parse %.0f | clean %.0f | redact %.0f | filter %.0f | dedupe %.0f | "
              "validate %.0f | split %.0f | export %.0f\n",
              read_ms, st.clean_ms, st.redact_ms, st.filter_ms, st.dedupe_ms, st.validate_ms, split_ms, export_ms);
  std::printf("  kept %lld (train %lld, valid %lld), dropped %lld, redactions %lld\n",
              static_cast<long long>(report->kept), train, valid, static_cast<long long>(report->DroppedTotal()),
              static_cast<long long>(report->redactions.total()));
  for (const auto& [stage, reasons] : report->dropped)
    for (const auto& [reason, n] : reasons) std::printf("    dropped %s/%s: %lld\n", stage.c_str(), reason.c_str(), static_cast<long long>(n));

  json stages = {{"read_parse", read_ms}, {"clean", st.clean_ms}, {"redact", st.redact_ms}, {"filter", st.filter_ms},
                 {"dedupe", st.dedupe_ms}, {"validate", st.validate_ms}, {"split", split_ms}, {"export", export_ms}};
  json dropped = report->dropped;
  json result = {{"bench", "dataset"},
                 {"pairs", args.pairs},
                 {"corpus_pairs", corpus.size()},
                 {"input_mb", input_mb},
                 {"baseline_s", baseline_s},
                 {"pipeline_s", pipeline_s},
                 {"baseline_cpu_s", baseline_cpu},
                 {"pipeline_cpu_s", pipeline_cpu},
                 {"baseline_pairs_per_s", baseline_per_s},
                 {"pipeline_pairs_per_s", pairs_per_s},
                 {"baseline_pairs_per_cpu_s", baseline_per_cpu_s},
                 {"pipeline_pairs_per_cpu_s", pairs_per_cpu_s},
                 {"ratio_pipeline_to_baseline", pipeline_s / baseline_s},
                 {"ratio_pipeline_to_baseline_cpu", pipeline_cpu / baseline_cpu},
                 {"peak_rss_mb", rss_after_pipeline},
                 {"peak_rss_after_baseline_mb", rss_after_baseline},
                 {"kept", report->kept},
                 {"train", train},
                 {"valid", valid},
                 {"dropped", dropped},
                 {"redactions", report->redactions.total()},
                 {"stages_ms", stages}};
  std::printf("%s\n", result.dump().c_str());
  if (!args.keep)
    for (const auto& f : {input, baseline_out, train_out, valid_out}) fs::remove(f);
  if (report->kept == 0 || train + valid != report->kept) {
    std::fprintf(stderr, "dataset_bench: unexpected result: kept %lld, exported %lld\n",
                 static_cast<long long>(report->kept), train + valid);
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "dataset_bench: %s\n", e.what());
  return 1;
}

// Boost.JSON compiled into this one executable (header-only mode).
#include <boost/json/src.hpp>
