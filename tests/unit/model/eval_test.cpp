// The evaluation harness: metrics computed by hand on small cases.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "bot/model/eval.h"

using namespace deskbot::model;

TEST_CASE("eval: retrieval metrics", "[model]") {
  QueryOutcome a;  // right answer first
  a.relevant = {true, false, false};
  QueryOutcome b;  // right answers at ranks 2 and 4
  b.relevant = {false, true, false, true};
  QueryOutcome c;  // nothing right
  c.relevant = {false, false};
  auto m = Summarize({a, b, c}, 0.9);
  CHECK(m.queries == 3);
  CHECK(m.p1 == Approx(1.0 / 3));
  CHECK(m.mrr == Approx((1.0 + 0.5 + 0) / 3));
  CHECK(m.p5 == Approx((1.0 / 5 + 2.0 / 5) / 3));
  CHECK(m.map == Approx((1.0 + (0.5 + 0.5) / 2) / 3));
  CHECK(m.recall5 == Approx((1.0 + 1.0) / 3));
  // One more relevant answer exists than b found: recall halves for b.
  b.relevant_total = 4;
  auto m2 = Summarize({a, b, c}, 0.9);
  CHECK(m2.recall5 == Approx((1.0 + 0.5) / 3));
  CHECK(m2.map == Approx((1.0 + (0.5 + 0.5) / 4) / 3));
}

TEST_CASE("eval: answers at the threshold, calibration error", "[model]") {
  std::vector<QueryOutcome> v(4);
  v[0].relevant = {true};
  v[0].confidence = 0.9;
  v[1].relevant = {false};
  v[1].confidence = 0.8;
  v[2].relevant = {true};
  v[2].confidence = 0.3;
  v[2].answered = false;
  v[3].relevant = {};
  v[3].confidence = 0.1;
  v[3].answered = false;
  auto m = Summarize(v, 0.9);
  CHECK(m.coverage == Approx(0.5));
  CHECK(m.precision == Approx(0.5));
  CHECK(m.coverage_at_target == Approx(0.25));  // only the 0.9 answer keeps precision >= 90%
  // Bins: 0.9 right (|1-0.9|), 0.8 wrong (0.8), 0.3 right (0.7), 0.1 wrong (0.1); each 1/4.
  CHECK(m.ece == Approx((0.1 + 0.8 + 0.7 + 0.1) / 4));
}

TEST_CASE("eval: threshold for a target precision", "[model]") {
  std::vector<std::pair<double, bool>> cc = {{0.95, true}, {0.9, true}, {0.85, false}, {0.8, true},
                                             {0.7, true},  {0.6, true}, {0.5, false},  {0.4, false}};
  // Prefix precision: 1, 1, 2/3, 3/4, 4/5, 5/6, 5/7, 5/8 -> >= 0.8 last at 0.6.
  CHECK(ChooseThreshold(cc, 0.8) == Approx(0.6));
  CHECK(ChooseThreshold(cc, 1.0) == Approx(0.9));
  CHECK(CoverageAtPrecision(cc, 0.8) == Approx(6.0 / 8));
  // Nothing reaches it: abstain on everything.
  std::vector<std::pair<double, bool>> bad = {{0.9, false}, {0.5, true}};
  CHECK(ChooseThreshold(bad, 0.9) > 0.9);
  CHECK(CoverageAtPrecision(bad, 0.9) == 0);
  // Ties are answered together.
  std::vector<std::pair<double, bool>> tie = {{0.7, true}, {0.7, false}};
  CHECK(ChooseThreshold(tie, 0.9) > 0.7);
}

TEST_CASE("eval: random and time splits", "[model]") {
  auto r1 = RandomSplit(1000, 0.2, 42), r2 = RandomSplit(1000, 0.2, 42), r3 = RandomSplit(1000, 0.2, 43);
  CHECK(r1 == r2);
  CHECK(r1 != r3);
  auto n = std::count(r1.begin(), r1.end(), true);
  CHECK(n > 150);
  CHECK(n < 250);
  std::vector<std::int64_t> times = {50, 10, 40, 20, 30};
  auto t = TimeSplit(times, 0.4);
  CHECK(t == std::vector<bool>{true, false, true, false, false});
}

TEST_CASE("eval: metrics to JSON and back, by name", "[model]") {
  EvalMetrics m;
  m.p1 = 0.5;
  m.rouge_l = 0.25;
  m.queries = 7;
  auto back = EvalMetrics::FromJson(m.ToJson());
  CHECK(back.p1 == 0.5);
  CHECK(back.rouge_l == 0.25);
  CHECK(back.queries == 7);
  CHECK(m.Get("p1") == 0.5);
  CHECK(m.Get("rougeL") == 0.25);
  CHECK(std::isnan(m.Get("nope")));
}

#include <fstream>

#include "bot/model/qa_bench.h"
#include "tests/unit/store/temp_dir.h"

TEST_CASE("eval: Fixed prints a metric with a fixed number of decimals", "[model]") {
  CHECK(Fixed(2.0 / 3) == "0.667");
  CHECK(Fixed(0.5) == "0.500");
  CHECK(Fixed(12.345678, 2) == "12.35");
  CHECK(Fixed(0.06, 1) == "0.1");
  CHECK(Fixed(-0.0004) == "-0.000");
  CHECK(Fixed(3, 0) == "3");
  CHECK(Fixed(1e30, 0) == "1000000000000000019884624838656");  // whole, not cut short
}

TEST_CASE("eval: a paired bootstrap interval on the difference between two systems", "[model]") {
  // Identical systems: no difference, and no doubt about it.
  std::vector<double> a{1, 0, 1, 0, 1}, b = a;
  auto same = PairedBootstrap(a, b);
  CHECK(same.mean == 0);
  CHECK(same.lo == 0);
  CHECK(same.hi == 0);
  // B right on every query A gets wrong: +1 per discordant query, exactly.
  std::vector<double> never(40, 0), always(40, 1);
  auto all = PairedBootstrap(never, always);
  CHECK(all.mean == 1);
  CHECK(all.lo == 1);
  CHECK(all.hi == 1);
  // 10 wins and 7 losses in 97 (the twitter valid rows' shape): +3.1 points,
  // an interval that holds the mean and 0, and is narrower with 10x the rows.
  std::vector<double> x(97, 0), y(97, 0);
  for (int i = 0; i < 10; ++i) y[i] = 1;
  for (int i = 10; i < 17; ++i) x[i] = 1;
  auto small = PairedBootstrap(x, y);
  CHECK(small.mean == Approx(3.0 / 97));
  CHECK(small.lo < 0);
  CHECK(small.hi > small.mean);
  CHECK(small.lo < small.mean);
  std::vector<double> x10, y10;
  for (int k = 0; k < 10; ++k) {
    x10.insert(x10.end(), x.begin(), x.end());
    y10.insert(y10.end(), y.begin(), y.end());
  }
  auto large = PairedBootstrap(x10, y10);
  CHECK(large.mean == Approx(small.mean));
  CHECK(large.hi - large.lo < (small.hi - small.lo) / 2);
  // Seeded: the same interval every run.
  auto again = PairedBootstrap(x, y);
  CHECK(again.lo == small.lo);
  CHECK(again.hi == small.hi);
  // Nothing to compare.
  CHECK(PairedBootstrap({}, {}).mean == 0);
}

TEST_CASE("qa bench: rows are read with their label, a bad line is named", "[model]") {
  deskbot::testing::TempDir dir;
  const std::string path = dir.File("qa.jsonl");
  std::ofstream(path) << R"({"id":"a","prompt":"q1","completion":"a1","split":"train","doc":"7"})" << "\n"
                      << R"({"question":"q2","answer":"a2","split":"valid","doc":8})" << "\n"
                      << R"({"id":"c","prompt":"","completion":"a3","split":"train"})" << "\n";
  size_t skipped = 0;
  auto rows = ReadQaJsonl(path, "doc", &skipped);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0].label == "7");
  CHECK((*rows)[1].label == "8");
  CHECK((*rows)[1].question == "q2");
  CHECK((*rows)[1].id == "2");
  CHECK(skipped == 1);

  std::ofstream(path, std::ios::app) << "{not json\n";
  auto bad = ReadQaJsonl(path, "doc", nullptr);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("qa.jsonl:4: not a JSON object") != std::string::npos);
  CHECK_FALSE(ReadQaJsonl(dir.File("missing.jsonl"), "", nullptr).ok());
}

TEST_CASE("qa bench: chat rows give the asker's opening and the closing reply", "[model]") {
  deskbot::testing::TempDir dir;
  const std::string path = dir.File("chat.jsonl");
  std::ofstream(path)
      << R"({"id":"t1","split":"train","messages":[{"role":"system","content":"Be brief."},)"
      << R"({"role":"user","content":"VPN drops"},{"role":"user","content":"every hour"},)"
      << R"({"role":"assistant","content":"Which client?"},{"role":"user","content":"AnyConnect"},)"
      << R"({"role":"assistant","content":"Update it to 5.1."}]})" << "\n"
      << R"({"id":"t2","messages":[{"role":"user","content":"no reply yet"}]})" << "\n"
      << R"({"id":"t3","messages":"not a list"})" << "\n"
      << R"({"id":"t4","messages":[7,{"role":"user","content":3},{"role":"assistant"}]})" << "\n";
  size_t skipped = 0;
  auto rows = ReadQaJsonl(path, "", &skipped);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].question == "VPN drops\nevery hour");
  CHECK((*rows)[0].answer == "Update it to 5.1.");
  CHECK((*rows)[0].split == "train");
  CHECK(skipped == 3);
}

// The sample help desk's rows with train/valid splits and a "topic" label.
static std::string SampleQaFile() { return std::string(DESKBOT_TEST_DATA_DIR) + "/model/qa_small.jsonl"; }

// Data sets name the tuning split "valid", "validation" or "dev"; a "test"
// split in the training file is neither trained nor tuned on.
TEST_CASE("qa bench: the tuning split by its other names, test rows left alone", "[model]") {
  deskbot::testing::TempDir dir;
  const std::string original = SampleQaFile();
  auto all = ReadQaJsonl(original, "topic", nullptr);
  REQUIRE(all.ok());
  std::ofstream renamed(dir.File("renamed.jsonl"));
  size_t n_train = 0, n_valid = 0;
  for (const auto& r : *all) {
    nlohmann::json j = {{"id", r.id}, {"question", r.question}, {"answer", r.answer}, {"topic", r.label}};
    if (r.split == "valid") {
      j["split"] = n_valid++ % 2 ? "validation" : "dev";
    } else {
      j["split"] = r.split;
      n_train += r.split == "train";
      if (n_train <= 3) {  // a held-out copy with another answer: must not be learned
        nlohmann::json t = j;
        t["split"] = "test";
        t["answer"] = "Unrelated text that no test row shares.";
        renamed << t.dump() << "\n";
      }
    }
    renamed << j.dump() << "\n";
  }
  renamed.close();
  QaBenchOptions options{dir.File("renamed.jsonl"), dir.File("renamed.jsonl"), "topic", {}};
  auto result = RunQaBench(options);
  REQUIRE(result.ok());
  CHECK(result->train_rows == n_train);
  CHECK(result->valid_rows == n_valid);
  CHECK(result->queries == n_valid);
  CHECK(result->report.calibration == "valid");
  auto reference = RunQaBench({original, original, "topic", {}});
  REQUIRE(reference.ok());
  CHECK(result->bm25.p1 == reference->bm25.p1);
  CHECK(result->bm25.f1 == reference->bm25.f1);
  CHECK(result->model.p1 == reference->model.p1);
}

// The sample help desk's rows, split into a training file of chat rows
// without splits (one split's export) and a test file of its valid rows.
TEST_CASE("qa bench: a training file without splits trains on every row", "[model]") {
  deskbot::testing::TempDir dir;
  auto all = ReadQaJsonl(SampleQaFile(), "topic", nullptr);
  REQUIRE(all.ok());
  std::ofstream train(dir.File("train.jsonl")), test(dir.File("test.jsonl"));
  size_t n_train = 0, n_test = 0;
  for (const auto& r : *all) {
    nlohmann::json j;
    if (r.split == "train") {
      j["messages"] = {{{"role", "user"}, {"content", r.question}}, {{"role", "assistant"}, {"content", r.answer}}};
      j["topic"] = r.label;
      train << j.dump() << "\n";
      ++n_train;
    } else if (r.split == "valid") {
      j = {{"prompt", r.question}, {"completion", r.answer}, {"topic", r.label}};
      test << j.dump() << "\n";
      ++n_test;
    }
  }
  train.close();
  test.close();
  QaBenchOptions split_file{dir.File("train.jsonl"), dir.File("test.jsonl"), "topic", {}};
  auto result = RunQaBench(split_file);
  REQUIRE(result.ok());
  CHECK(result->train_rows == n_train);
  CHECK(result->valid_rows == 0);
  CHECK(result->queries == n_test);
  CHECK(result->test_rows_in_train == 0);
  CHECK(result->report.calibration == "train-holdout");
  CHECK(result->ToText().find("tuned on held-out training questions (0 valid rows)") != std::string::npos);
  CHECK(result->ToText().find("warning") == std::string::npos);
  // The same rows as the original file's train/valid run, so the same BM25.
  QaBenchOptions original{SampleQaFile(), SampleQaFile(), "topic", {}};
  auto reference = RunQaBench(original);
  REQUIRE(reference.ok());
  CHECK(reference->report.calibration == "valid");
  CHECK(reference->ToText().find("tuned on " + std::to_string(reference->valid_rows) + " valid rows") !=
        std::string::npos);
  CHECK(result->bm25.p1 == reference->bm25.p1);
  CHECK(result->bm25.f1 == reference->bm25.f1);
  // The paired comparison is made of the same rows the averages are.
  REQUIRE(result->p1_gain);
  REQUIRE(result->model.row_p1.size() == n_test);
  REQUIRE(result->bm25.row_f1.size() == n_test);
  CHECK(result->p1_gain->mean == Approx(*result->model.p1 - *result->bm25.p1));
  CHECK(result->f1_gain.mean == Approx(result->model.f1 - result->bm25.f1));
  CHECK(result->p1_gain->lo <= result->p1_gain->mean);
  CHECK(result->p1_gain->hi >= result->p1_gain->mean);
  auto gain = result->ToJson()["model_minus_bm25"];
  CHECK(gain["p1"].get<double>() == Approx(result->p1_gain->mean * 100).margin(0.006));
  CHECK(gain["p1_ci95"].size() == 2);
  CHECK(gain["f1_ci95"][0].get<double>() <= gain["f1"].get<double>());
  CHECK(result->ToText().find("model - bm25, paired over the same rows: P@1 ") != std::string::npos);
  INFO("model " << *result->model.p1 << " bm25 " << *result->bm25.p1 << " (original model " << *reference->model.p1 << ")");
  CHECK(*result->model.p1 >= *result->bm25.p1);

  // Testing on the training rows is allowed, and said.
  QaBenchOptions leaky{dir.File("train.jsonl"), SampleQaFile(), "topic", {}};
  auto leaked = RunQaBench(leaky);
  REQUIRE(leaked.ok());
  CHECK(leaked->test_rows_in_train == n_train);
  CHECK(leaked->ToText().find("warning: " + std::to_string(n_train) + " of the " + std::to_string(all->size()) +
                              " test questions are also training questions") != std::string::npos);
  CHECK(leaked->ToJson()["test_rows_in_train"] == n_train);

  QaBenchOptions same{dir.File("train.jsonl"), dir.File("train.jsonl"), "topic", {}};
  auto refused = RunQaBench(same);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("no row has a \"split\"") != std::string::npos);
}
