#include "bot/model/qa_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <unordered_set>

#include "bot/model/bm25.h"
#include "bot/model/text.h"

namespace deskbot::model {
namespace {

std::string Field(const nlohmann::json& j, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    auto it = j.find(n);
    if (it == j.end() || it->is_null()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number() || it->is_boolean()) return it->dump();
  }
  return "";
}

// A chat row ({"messages":[...]}: the product's chat export, a data set's
// chat.jsonl): the asker's messages before the first reply are the question
// and the last assistant message the answer, the one that closed it.
void ReadMessages(const nlohmann::json& messages, QaRow* r) {
  if (!messages.is_array()) return;
  bool replied = false;
  for (const auto& m : messages) {
    if (!m.is_object()) continue;
    const std::string role = Field(m, {"role"});
    const std::string content = Field(m, {"content"});
    if (role == "assistant") {
      replied = true;
      if (!content.empty()) r->answer = content;
    } else if (role == "user" && !replied && !content.empty()) {
      if (!r->question.empty()) r->question += '\n';
      r->question += content;
    }
  }
}

double Mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p * v.size())) - 1;
  return v[std::min(i, v.size() - 1)];
}

// Plain BM25 over the training questions: the baseline.
class Bm25Baseline {
 public:
  explicit Bm25Baseline(const std::vector<QaRow>& train) {
    std::vector<std::vector<std::int32_t>> docs;
    std::vector<std::string> terms;
    for (const auto& r : train) {
      terms.clear();
      Terms(r.question, &terms);
      std::vector<std::int32_t> ids;
      for (const auto& t : terms) ids.push_back(vocab_.Add(t));
      docs.push_back(std::move(ids));
    }
    index_ = Bm25Index::Build(docs, vocab_.size());
    scores_.Resize(train.size());
  }
  // Training rows by BM25 score, best first.
  void Search(const std::string& question, size_t k, std::vector<std::pair<float, std::uint32_t>>* hits) {
    std::vector<std::string> terms;
    Terms(question, &terms);
    scores_.Clear();
    for (const auto& t : terms) index_.Accumulate(vocab_.Find(t), 1.0f, &scores_);
    scores_.TopK(k, -1, hits);
  }

 private:
  Vocabulary vocab_;
  Bm25Index index_;
  ScoreBuffer scores_;
};

double ReciprocalRank(const std::vector<std::string>& labels, const std::string& truth) {
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] == truth) return 1.0 / (i + 1);
  return 0;
}

void AddUnique(std::vector<std::string>* labels, const std::string& label) {
  if (std::find(labels->begin(), labels->end(), label) == labels->end()) labels->push_back(label);
}

// The tuning split by the names data sets give it ("valid" here and in
// OpenAI's files, "validation" in Hugging Face's, "dev" in many papers'). A
// "test" split is neither trained nor tuned on.
bool IsTuningSplit(const std::string& split) {
  return split == "valid" || split == "validation" || split == "dev";
}

TrainingExample ToExample(const QaRow& r, const std::string& source) {
  TrainingExample e;
  e.question = r.question;
  e.answer = r.answer;
  e.source = source;
  e.ticket_id = r.id;
  return e;
}

}  // namespace

util::Result<std::vector<QaRow>> ReadQaJsonl(const std::string& path, const std::string& label_field,
                                             size_t* skipped) {
  std::ifstream in(path);
  if (!in) return util::Status::NotFound(path + ": cannot open");
  std::vector<QaRow> rows;
  std::string line;
  size_t line_no = 0;
  if (skipped) *skipped = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return util::Status::InvalidArgument(path + ":" + std::to_string(line_no) + ": not a JSON object");
    QaRow r;
    r.id = Field(j, {"id"});
    r.question = Field(j, {"prompt", "question"});
    r.answer = Field(j, {"completion", "answer"});
    r.split = Field(j, {"split"});
    if (auto messages = j.find("messages"); r.question.empty() && r.answer.empty() && messages != j.end())
      ReadMessages(*messages, &r);
    if (!label_field.empty()) r.label = Field(j, {label_field.c_str()});
    if (r.question.empty() || r.answer.empty()) {
      if (skipped) ++*skipped;
      continue;
    }
    if (r.id.empty()) r.id = std::to_string(line_no);
    rows.push_back(std::move(r));
  }
  return rows;
}

util::Result<QaBenchResult> RunQaBench(const QaBenchOptions& options) {
  auto train_rows = ReadQaJsonl(options.train_path, options.label_field, nullptr);
  if (!train_rows.ok()) return train_rows.status();
  std::error_code ec;
  bool same_file = std::filesystem::equivalent(options.train_path, options.test_path, ec);
  std::vector<QaRow> test_rows;
  if (!same_file) {
    auto t = ReadQaJsonl(options.test_path, options.label_field, nullptr);
    if (!t.ok()) return t.status();
    test_rows = std::move(t).value();
  }
  std::vector<QaRow> train, valid;
  // A file without splits (one split's export) is all training rows; the
  // model then tunes on held-out training questions.
  const bool has_splits = std::any_of(train_rows->begin(), train_rows->end(),
                                      [](const QaRow& r) { return !r.split.empty(); });
  if (!has_splits && same_file)
    return util::Status::InvalidArgument(options.train_path +
                                         ": no row has a \"split\": give the test rows as another --test file");
  for (auto& r : *train_rows) {
    if (r.split == "train" || !has_splits) train.push_back(std::move(r));
    else if (IsTuningSplit(r.split)) valid.push_back(std::move(r));
  }
  if (same_file) test_rows = valid;
  if (train.empty()) return util::Status::InvalidArgument(options.train_path + ": no rows with split \"train\"");
  if (test_rows.empty()) return util::Status::InvalidArgument(options.test_path + ": no test rows");
  return RunQaBenchRows(train, valid, test_rows, options);
}

util::Result<QaBenchResult> RunQaBenchRows(const std::vector<QaRow>& train, const std::vector<QaRow>& valid,
                                           const std::vector<QaRow>& test_rows, const QaBenchOptions& options) {
  const bool labelled = !options.label_field.empty();
  if (labelled) {
    auto unlabelled = std::count_if(train.begin(), train.end(), [](const QaRow& r) { return r.label.empty(); });
    if (unlabelled == static_cast<long>(train.size()))
      return util::Status::InvalidArgument("no training row has the field \"" + options.label_field + "\"");
  }

  QaBenchResult result;
  result.queries = test_rows.size();
  result.train_rows = train.size();
  result.valid_rows = valid.size();
  {
    std::unordered_set<std::string_view> asked;
    for (const auto& r : train) asked.insert(r.question);
    for (const auto& r : test_rows) result.test_rows_in_train += asked.count(r.question);
  }

  // --- BM25 ---------------------------------------------------------------
  {
    Bm25Baseline bm25(train);
    std::vector<std::pair<float, std::uint32_t>> hits;
    double mrr = 0, rl = 0;
    std::vector<double> ms;
    for (const auto& row : test_rows) {
      auto t0 = std::chrono::steady_clock::now();
      bm25.Search(row.question, 50, &hits);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      double row_p1 = 0, row_f1 = 0;
      if (!hits.empty()) {
        const auto& best = train[hits[0].second];
        row_f1 = TokenF1(best.answer, row.answer);
        rl += RougeL(best.answer, row.answer);
        if (labelled) {
          std::vector<std::string> labels;
          for (const auto& h : hits) AddUnique(&labels, train[h.second].label);
          row_p1 = labels[0] == row.label ? 1 : 0;
          mrr += ReciprocalRank(labels, row.label);
        }
      }
      result.bm25.row_p1.push_back(row_p1);
      result.bm25.row_f1.push_back(row_f1);
    }
    double n = static_cast<double>(test_rows.size());
    result.bm25.f1 = Mean(result.bm25.row_f1);
    result.bm25.rouge_l = rl / n;
    if (labelled) {
      result.bm25.p1 = Mean(result.bm25.row_p1);
      result.bm25.mrr = mrr / n;
    }
    result.bm25.p50_ms = Percentile(ms, 0.5);
    result.bm25.p99_ms = Percentile(ms, 0.99);
  }

  // --- the model ------------------------------------------------------------
  std::vector<TrainingExample> train_ex, valid_ex;
  for (const auto& r : train) train_ex.push_back(ToExample(r, "train"));
  for (const auto& r : valid) valid_ex.push_back(ToExample(r, "valid"));
  auto t0 = std::chrono::steady_clock::now();
  auto model = LocalModel::Train(train_ex, valid_ex, {}, options.model, &result.report);
  if (!model.ok()) return model.status();
  result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  double mrr = 0, rl = 0;
  size_t answered = 0, answered_right = 0;
  std::vector<std::pair<double, bool>> confidence_correct;
  std::vector<double> ms;
  for (const auto& row : test_rows) {
    auto q0 = std::chrono::steady_clock::now();
    Ranking ranking = (*model)->Rank(row.question, 20);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - q0).count());
    bool right = false;
    double tf1 = 0;
    if (!ranking.answers.empty()) {
      const auto& text = (*model)->answer(ranking.answers[0].reply_doc);
      tf1 = TokenF1(text, row.answer);
      rl += RougeL(text, row.answer);
      if (labelled) {
        std::vector<std::string> labels;
        for (const auto& a : ranking.answers) AddUnique(&labels, train[a.doc].label);
        right = labels[0] == row.label;
        mrr += ReciprocalRank(labels, row.label);
      } else {
        right = AnswerKey(text) == AnswerKey(row.answer) || tf1 >= options.model.correct_f1;
      }
    }
    result.model.row_p1.push_back(right ? 1 : 0);
    result.model.row_f1.push_back(tf1);
    bool answers = !ranking.answers.empty() && ranking.confidence >= (*model)->threshold();
    if (answers) {
      ++answered;
      if (right) ++answered_right;
    }
    confidence_correct.emplace_back(ranking.confidence, right);
  }
  double n = static_cast<double>(test_rows.size());
  result.model.f1 = Mean(result.model.row_f1);
  result.model.rouge_l = rl / n;
  if (labelled) {
    result.model.p1 = Mean(result.model.row_p1);
    result.model.mrr = mrr / n;
  }
  result.model.coverage = answered / n;
  result.model.precision = answered ? static_cast<double>(answered_right) / answered : 0.0;
  result.model.coverage_at_p90 = CoverageAtPrecision(confidence_correct, 0.9);
  result.model.p50_ms = Percentile(ms, 0.5);
  result.model.p99_ms = Percentile(ms, 0.99);
  if (labelled) result.p1_gain = PairedBootstrap(result.bm25.row_p1, result.model.row_p1);
  result.f1_gain = PairedBootstrap(result.bm25.row_f1, result.model.row_f1);
  return result;
}

namespace {

nlohmann::json Pct(const std::optional<double>& v) {
  return v ? nlohmann::json(std::round(*v * 10000) / 100) : nlohmann::json(nullptr);
}

nlohmann::json SideJson(const QaSide& s, bool model) {
  nlohmann::json j = {{"p1", Pct(s.p1)}, {"mrr", Pct(s.mrr)}, {"f1", Pct(s.f1)}, {"rougeL", Pct(s.rouge_l)}};
  if (model) {
    j["coverage_at_p90"] = Pct(s.coverage_at_p90);
    j["precision_at_threshold"] = Pct(s.precision);
    j["coverage_at_threshold"] = Pct(s.coverage);
  }
  j["p50_ms"] = std::round(s.p50_ms * 1000) / 1000;
  j["p99_ms"] = std::round(s.p99_ms * 1000) / 1000;
  return j;
}

nlohmann::json GainJson(const std::optional<PairedDifference>& p1, const PairedDifference& f1) {
  auto pct = [](double v) { return std::round(v * 10000) / 100; };
  nlohmann::json j = {{"f1", pct(f1.mean)}, {"f1_ci95", {pct(f1.lo), pct(f1.hi)}}};
  if (p1) {
    j["p1"] = pct(p1->mean);
    j["p1_ci95"] = {pct(p1->lo), pct(p1->hi)};
  } else {
    j["p1"] = nullptr;
  }
  return j;
}

// "+3.09 (95% CI -4.12 to +10.31)", in points.
std::string GainText(const PairedDifference& d) {
  auto pts = [](double v) { return (v >= 0 ? "+" : "") + Fixed(v * 100, 2); };
  return pts(d.mean) + " (95% CI " + pts(d.lo) + " to " + pts(d.hi) + ")";
}

std::string Fmt(const std::optional<double>& v) {
  if (!v) return "   -  ";
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(2);
  o.width(6);
  o << *v * 100;
  return o.str();
}

}  // namespace

nlohmann::json QaBenchResult::ToJson() const {
  return {{"queries", queries},
          {"train_rows", train_rows},
          {"valid_rows", valid_rows},
          {"calibration", report.calibration},
          {"test_rows_in_train", test_rows_in_train},
          {"bm25", SideJson(bm25, false)},
          {"model", SideJson(model, true)},
          {"model_minus_bm25", GainJson(p1_gain, f1_gain)},
          {"train_seconds", std::round(train_seconds * 1000) / 1000},
          {"threshold", report.threshold}};
}

std::string QaBenchResult::ToText() const {
  std::ostringstream o;
  o << "queries " << queries << " (trained on " << train_rows << " rows, tuned on ";
  if (report.calibration == "valid") o << valid_rows << " valid rows";
  else o << "held-out training questions (" << valid_rows << " valid rows)";
  o << "; model trained in " << train_seconds << " s)\n";
  if (test_rows_in_train > 0)
    o << "warning: " << test_rows_in_train << " of the " << queries
      << " test questions are also training questions: these scores overstate both systems\n";
  o << "          P@1     MRR   tokF1  ROUGE-L  cov@p90  prec@thr  cov@thr\n";
  auto line = [&](const char* name, const QaSide& s) {
    o << name << Fmt(s.p1) << "  " << Fmt(s.mrr) << "  " << Fmt(s.f1) << "  " << Fmt(s.rouge_l) << "  "
      << Fmt(s.coverage_at_p90) << "   " << Fmt(s.precision) << "   " << Fmt(s.coverage) << "\n";
  };
  line("bm25    ", bm25);
  line("model   ", model);
  o << "model - bm25, paired over the same rows:";
  if (p1_gain) o << " P@1 " << GainText(*p1_gain) << ",";
  o << " token-F1 " << GainText(f1_gain) << "\n";
  o << "latency p50/p99 ms: bm25 " << bm25.p50_ms << "/" << bm25.p99_ms << ", model " << model.p50_ms << "/"
    << model.p99_ms << "\n";
  return o.str();
}

}  // namespace deskbot::model
