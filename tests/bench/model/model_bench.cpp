// model_bench: how fast the local model trains and answers with many pairs
// indexed, against plain BM25 retrieval over the same pairs in the same run.
//
//   model_bench [--data DIR] [--pairs N] [--queries Q] [--threads T] [--json]
//
// The corpus: the real help-desk pairs of DIR (../shared/data: ubuntu-irc-help
// and twitter-customer-care), or the repo's small sample when DIR is absent,
// replicated with variations (words dropped and swapped, ticket numbers) up
// to N training pairs. Queries are fresh variations of the same questions.
// Training uses T threads (default 2); answering is measured on one thread
// pinned to one core, after a warm-up.
#include <sched.h>
#include <time.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bot/model/bm25.h"
#include "bot/model/local_model.h"
#include "bot/model/qa_bench.h"
#include "bot/model/text.h"

namespace fs = std::filesystem;
using namespace deskbot::model;
using Clock = std::chrono::steady_clock;

namespace {

struct Args {
  std::string data = std::string(DESKBOT_SOURCE_DIR) + "/../shared/data";
  size_t pairs = 100000;
  size_t queries = 2000;
  int threads = 2;
  bool json = false;
};

double Ms(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); }

// CPU time of this thread: what a query costs on one core, whatever else
// the machine is running (wall-clock tails include being preempted).
double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double PeakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

std::vector<QaRow> BaseRows(const Args& args, std::string* origin) {
  std::vector<QaRow> rows;
  for (const char* set : {"ubuntu-irc-help", "twitter-customer-care"}) {
    std::string path = args.data + "/" + set + "/pairs.jsonl";
    if (!fs::exists(path)) continue;
    auto r = ReadQaJsonl(path, "", nullptr);
    if (!r.ok()) continue;
    rows.insert(rows.end(), r->begin(), r->end());
    *origin += std::string(origin->empty() ? "" : " + ") + set;
  }
  if (rows.empty()) {
    auto r = ReadQaJsonl(std::string(DESKBOT_TEST_DATA_DIR) + "/model/qa_small.jsonl", "", nullptr);
    if (r.ok()) rows = std::move(r).value();
    *origin = "tests/data/model/qa_small.jsonl (no " + args.data + ")";
  }
  return rows;
}

// A reworded copy: some words dropped, two swapped, a reference number added.
std::string Vary(const std::string& text, std::mt19937_64& rng) {
  std::istringstream in(text);
  std::vector<std::string> words;
  std::string w;
  std::uniform_real_distribution<double> u(0, 1);
  while (in >> w)
    if (u(rng) > 0.1) words.push_back(w);
  if (words.size() > 2 && u(rng) < 0.5) {
    size_t i = rng() % (words.size() - 1);
    std::swap(words[i], words[i + 1]);
  }
  std::string out;
  for (const auto& x : words) out += (out.empty() ? "" : " ") + x;
  if (u(rng) < 0.3) out += " (ref " + std::to_string(10000 + rng() % 90000) + ")";
  return out.empty() ? text : out;
}

std::vector<TrainingExample> Synthesize(const std::vector<QaRow>& base, size_t n, std::mt19937_64& rng) {
  std::vector<TrainingExample> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const QaRow& r = base[rng() % base.size()];
    TrainingExample e;
    e.question = Vary(r.question, rng);
    e.answer = r.answer;
    if (rng() % 2) e.answer += " (ticket #" + std::to_string(100000 + rng() % 900000) + ")";
    e.source = "bench";
    e.ticket_id = "B-" + std::to_string(i);
    out.push_back(std::move(e));
  }
  return out;
}

void PinToOneCore() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &set);
  sched_setaffinity(0, sizeof set, &set);
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "model_bench: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--data") args.data = next();
    else if (a == "--pairs") args.pairs = std::stoul(next());
    else if (a == "--queries") args.queries = std::stoul(next());
    else if (a == "--threads") args.threads = std::stoi(next());
    else if (a == "--json") args.json = true;
    else {
      std::cerr << "usage: model_bench [--data DIR] [--pairs N] [--queries Q] [--threads T] [--json]\n";
      return 2;
    }
  }
  std::string origin;
  auto base = BaseRows(args, &origin);
  if (base.empty()) {
    std::cerr << "model_bench: no base data\n";
    return 1;
  }
  std::mt19937_64 rng(20240611);
  auto train = Synthesize(base, args.pairs, rng);
  auto valid = Synthesize(base, std::max<size_t>(200, args.pairs / 50), rng);
  std::vector<std::string> queries;
  for (size_t i = 0; i < args.queries; ++i) queries.push_back(Vary(base[rng() % base.size()].question, rng));
  const double rss_data = PeakRssMb();

  // --- training (T threads) ---
  LocalModelOptions options;
  options.threads = args.threads;
  options.embed.threads = args.threads;
  TrainReport report;
  auto t0 = Clock::now();
  auto model = LocalModel::Train(train, valid, {}, options, &report);
  auto t1 = Clock::now();
  if (!model.ok()) {
    std::cerr << "model_bench: " << model.status().ToString() << "\n";
    return 1;
  }
  const double train_s = Ms(t0, t1) / 1000;
  const double rss_train = PeakRssMb();

  // --- the baseline: BM25 over the questions, the same tokenisation ---
  auto b0 = Clock::now();
  Vocabulary vocab;
  std::vector<std::vector<std::int32_t>> docs;
  std::vector<std::string> terms;
  for (const auto& e : train) {
    terms.clear();
    Terms(e.question, &terms);
    std::vector<std::int32_t> ids;
    for (const auto& t : terms) ids.push_back(vocab.Add(t));
    docs.push_back(std::move(ids));
  }
  auto bm25 = Bm25Index::Build(docs, vocab.size());
  const double bm25_build_s = Ms(b0, Clock::now()) / 1000;
  ScoreBuffer scores;
  scores.Resize(train.size());

  // --- answering, one core ---
  PinToOneCore();
  std::vector<std::pair<float, std::uint32_t>> hits;
  auto bm25_answer = [&](const std::string& q) {
    terms.clear();
    Terms(q, &terms);
    scores.Clear();
    for (const auto& t : terms) bm25.Accumulate(vocab.Find(t), 1.0f, &scores);
    scores.TopK(1, -1, &hits);
    return hits.empty() ? std::string() : train[hits[0].second].answer;
  };
  size_t warm = std::min<size_t>(100, queries.size());
  for (size_t i = 0; i < warm; ++i) {
    (void)(*model)->Suggest(queries[i]);
    bm25_answer(queries[i]);
  }
  std::vector<double> model_ms, bm25_ms, model_cpu, bm25_cpu;
  size_t answered = 0;
  for (const auto& q : queries) {
    double c0 = ThreadCpuMs();
    auto q0 = Clock::now();
    auto s = (*model)->Suggest(q);
    auto q1 = Clock::now();
    double c1 = ThreadCpuMs();
    std::string a = bm25_answer(q);
    auto q2 = Clock::now();
    double c2 = ThreadCpuMs();
    model_ms.push_back(Ms(q0, q1));
    bm25_ms.push_back(Ms(q1, q2));
    model_cpu.push_back(c1 - c0);
    bm25_cpu.push_back(c2 - c1);
    if (s.ok() && !s->abstained) ++answered;
  }
  const double rss_end = PeakRssMb();

  // --- files ---
  const fs::path dir = fs::temp_directory_path() / ("deskbot-model-bench-" + std::to_string(::getpid()));
  auto s0 = Clock::now();
  auto checksum = (*model)->Save(dir.string());
  auto s1 = Clock::now();
  auto loaded = LocalModel::Load(dir.string(), checksum.ok() ? *checksum : "");
  auto s2 = Clock::now();
  std::uintmax_t bytes = 0;
  for (const auto& f : fs::directory_iterator(dir)) bytes += f.file_size();
  fs::remove_all(dir);
  if (!checksum.ok() || !loaded.ok()) {
    std::cerr << "model_bench: save/load failed\n";
    return 1;
  }

  const double m50 = Percentile(model_ms, 0.5), m99 = Percentile(model_ms, 0.99);
  const double b50 = Percentile(bm25_ms, 0.5), b99 = Percentile(bm25_ms, 0.99);
  nlohmann::json j = {
      {"corpus", origin},
      {"pairs", train.size()},
      {"valid_pairs", valid.size()},
      {"queries", queries.size()},
      {"train_threads", args.threads},
      {"train_seconds", train_s},
      {"train_stages", report.stage_seconds},
      {"bm25_build_seconds", bm25_build_s},
      {"model_ms", {{"p50", m50}, {"p99", m99}, {"max", Percentile(model_ms, 1.0)}}},
      {"bm25_ms", {{"p50", b50}, {"p99", b99}, {"max", Percentile(bm25_ms, 1.0)}}},
      {"model_cpu_ms", {{"p50", Percentile(model_cpu, 0.5)}, {"p99", Percentile(model_cpu, 0.99)}}},
      {"bm25_cpu_ms", {{"p50", Percentile(bm25_cpu, 0.5)}, {"p99", Percentile(bm25_cpu, 0.99)}}},
      {"p99_ratio_model_over_bm25", b99 > 0 ? m99 / b99 : 0},
      {"answered_share", static_cast<double>(answered) / queries.size()},
      {"peak_rss_mb", {{"data", rss_data}, {"after_train", rss_train}, {"end", rss_end}}},
      {"model_files_mb", bytes / 1048576.0},
      {"save_seconds", Ms(s0, s1) / 1000},
      {"load_seconds", Ms(s1, s2) / 1000}};
  std::printf("corpus: %s, replicated to %zu training pairs (+%zu valid); %zu queries\n", origin.c_str(),
              train.size(), valid.size(), queries.size());
  std::printf("training (%d threads): %.1f s   [BM25-only index: %.1f s]\n", args.threads, train_s, bm25_build_s);
  for (const auto& [stage, s] : report.stage_seconds) std::printf("  %-18s %6.1f s\n", stage.c_str(), s);
  std::printf("answer latency, one core: model p50 %.3f ms p99 %.3f ms | BM25-only p50 %.3f ms p99 %.3f ms "
              "(p99 ratio %.1fx)\n",
              m50, m99, b50, b99, b99 > 0 ? m99 / b99 : 0);
  std::printf("  thread CPU time per answer: model p50 %.3f ms p99 %.3f ms | BM25-only p50 %.3f ms p99 %.3f ms\n",
              Percentile(model_cpu, 0.5), Percentile(model_cpu, 0.99), Percentile(bm25_cpu, 0.5),
              Percentile(bm25_cpu, 0.99));
  std::printf("peak RSS: %.0f MB after loading data, %.0f MB after training, %.0f MB at the end\n", rss_data,
              rss_train, rss_end);
  std::printf("model files %.1f MB, saved in %.1f s, loaded (checksums verified) in %.1f s\n", bytes / 1048576.0,
              Ms(s0, s1) / 1000, Ms(s1, s2) / 1000);
  if (args.json) std::printf("%s\n", j.dump().c_str());
  return 0;
}
