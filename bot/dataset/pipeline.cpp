#include "bot/dataset/pipeline.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "bot/dataset/prompts.h"
#include "bot/dataset/text_util.h"
#include "bot/dataset/tokens.h"

namespace deskbot::dataset {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point& t) {
  auto now = Clock::now();
  double ms = std::chrono::duration<double, std::milli>(now - t).count();
  t = now;
  return ms;
}

std::string Commas(std::int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return v < 0 ? "-" + out : out;
}

}  // namespace

// --- options ------------------------------------------------------------------

util::Result<DatasetOptions> DatasetOptions::FromConfig(const Config& config) {
  DatasetOptions o;
  std::string split = config.GetString("dataset.split", "random");
  auto method = ParseSplitMethod(split);
  if (!method) return util::Status::InvalidArgument("dataset.split must be \"random\" or \"time\", not \"" + split + "\"");
  o.split.method = *method;
  o.split.seed = static_cast<std::uint64_t>(config.GetInt("dataset.seed", 42));
  o.split.valid_fraction = config.GetDouble("dataset.valid_fraction", 0.1);
  if (!(o.split.valid_fraction >= 0 && o.split.valid_fraction <= 1))
    return util::Status::InvalidArgument("dataset.valid_fraction must be between 0 and 1");
  o.dedupe.near_threshold = config.GetDouble("dataset.near_duplicate_threshold", 0.8);
  if (!(o.dedupe.near_threshold > 0 && o.dedupe.near_threshold <= 1))
    return util::Status::InvalidArgument("dataset.near_duplicate_threshold must be in (0, 1]");
  o.dedupe.exact = config.GetBool("dataset.exact_dedupe", true);
  o.dedupe.near = config.GetBool("dataset.near_dedupe", true);
  o.dedupe.shingle_words = static_cast<int>(config.GetInt("dataset.shingle_words", 3));
  o.dedupe.num_perm = static_cast<int>(config.GetInt("dataset.num_perm", 64));
  o.filter.min_question_chars = static_cast<size_t>(std::max<std::int64_t>(0, config.GetInt("dataset.min_question_chars", 10)));
  o.filter.min_answer_chars = static_cast<size_t>(std::max<std::int64_t>(0, config.GetInt("dataset.min_answer_chars", 10)));
  o.extract.min_substantive_answer_chars =
      static_cast<size_t>(std::max<std::int64_t>(0, config.GetInt("dataset.min_substantive_answer_chars", 40)));
  o.token_limit = config.GetInt("dataset.token_limit", 4096);
  if (o.token_limit <= 0) return util::Status::InvalidArgument("dataset.token_limit must be positive");
  o.epochs = static_cast<int>(std::max<std::int64_t>(1, config.GetInt("dataset.epochs", 3)));
  o.markers.separator = config.GetString("dataset.separator", o.markers.separator);
  o.markers.stop = config.GetString("dataset.stop", o.markers.stop);
  if (o.markers.separator.empty() || o.markers.stop.empty())
    return util::Status::InvalidArgument("dataset.separator and dataset.stop must not be empty");
  std::string prompts = config.GetString("dataset.prompts_dir", "");
  if (!prompts.empty()) o.prompts_dir = config.ResolvePath(prompts);
  return o;
}

// --- report -------------------------------------------------------------------

std::int64_t BuildReport::DroppedTotal() const {
  std::int64_t total = 0;
  for (const auto& [stage, reasons] : dropped)
    for (const auto& [reason, n] : reasons) total += n;
  return total;
}

std::string BuildReport::ToText() const {
  std::ostringstream o;
  o << "Dataset build\n";
  o << "  tickets read        " << Commas(tickets) << "\n";
  o << "  pairs extracted     " << Commas(extracted) << "\n";
  o << "  pairs kept          " << Commas(kept) << "  (train " << Commas(train) << ", valid " << Commas(valid)
    << "; split " << split_method << ", seed " << seed << ", valid fraction " << valid_fraction << ")\n";
  if (other_pairs > 0)
    o << "  approved/edited     " << Commas(other_pairs) << "  (train " << Commas(other_train) << ", valid "
      << Commas(other_valid) << ", kept as they are)\n";
  o << "  dropped             " << Commas(DroppedTotal()) << "\n";
  for (const auto& [stage, reasons] : dropped)
    for (const auto& [reason, n] : reasons) o << "    " << stage << ": " << reason << "  " << Commas(n) << "\n";
  o << "  redactions          " << Commas(redactions.total()) << "\n";
  for (size_t k = 0; k < kPiiKindCount; ++k)
    o << "    " << PiiKindName(static_cast<PiiKind>(k)) << "  " << Commas(redactions.by_kind[k]) << "\n";
  std::string v = validation.ToText();
  std::istringstream vs(v);
  for (std::string line; std::getline(vs, line);) o << "  " << line << "\n";
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "  time (ms)           clean %.0f, redact %.0f, filter %.0f, dedupe %.0f, validate %.0f, split %.0f, "
                "store %.0f\n",
                times.clean_ms, times.redact_ms, times.filter_ms, times.dedupe_ms, times.validate_ms, times.split_ms,
                times.store_ms);
  o << buf;
  if (snapshot_id) o << "  snapshot            " << snapshot_id << "  sha256 " << content_hash << "\n";
  return o.str();
}

std::string BuildReport::ToJson() const {
  json red = json::object();
  for (size_t k = 0; k < kPiiKindCount; ++k) red[PiiKindName(static_cast<PiiKind>(k))] = redactions.by_kind[k];
  json j = {
      {"tickets", tickets},
      {"extracted", extracted},
      {"kept", kept},
      {"train", train},
      {"valid", valid},
      {"other_pairs", {{"total", other_pairs}, {"train", other_train}, {"valid", other_valid}}},
      {"dropped", dropped},
      {"dropped_total", DroppedTotal()},
      {"redactions", red},
      {"validation", json::parse(validation.ToJson())},
      {"split", {{"method", split_method}, {"seed", seed}, {"valid_fraction", valid_fraction}}},
      {"near_duplicate_threshold", near_threshold},
      {"token_limit", token_limit},
      {"times_ms",
       {{"clean", times.clean_ms}, {"redact", times.redact_ms}, {"filter", times.filter_ms},
        {"dedupe", times.dedupe_ms}, {"validate", times.validate_ms}, {"split", times.split_ms},
        {"store", times.store_ms}}},
      {"snapshot_id", snapshot_id},
      {"content_hash", content_hash},
  };
  return j.dump(2);
}

std::string ExportReport::ToText() const {
  std::ostringstream o;
  o << "Exported " << Commas(written) << " " << ExportFormatName(format) << " examples (split " << split << ") to "
    << path << "\n";
  for (const auto& [reason, n] : skipped) o << "  skipped " << reason << ": " << Commas(n) << "\n";
  if (late_redactions.total() > 0) {
    o << "  redacted on export (missed earlier): " << Commas(late_redactions.total()) << "\n";
  }
  o << "  validation: " << (validation.ok() ? "OK" : "PROBLEMS FOUND") << ", " << Commas(validation.examples)
    << " examples, ~" << Commas(validation.total_tokens) << " tokens (estimated)\n";
  for (const auto& w : validation.warnings) o << "  warning: " << w << "\n";
  return o.str();
}

// --- builder ------------------------------------------------------------------

namespace {
ValidationOptions BuildValidationOptions(const DatasetOptions& o) {
  ValidationOptions v;
  v.format = ExportFormat::kChat;
  v.token_limit = o.token_limit;
  v.epochs = o.epochs;
  v.markers = o.markers;
  return v;
}
}  // namespace

DatasetBuilder::DatasetBuilder(const DatasetOptions& options, std::string system_prompt)
    : options_(options),
      system_prompt_(std::move(system_prompt)),
      system_tokens_(system_prompt_.empty() ? 0 : EstimateTokens(system_prompt_) + kTokensPerMessage),
      dedupe_(options.dedupe),
      validator_(BuildValidationOptions(options)) {
  report_.split_method = SplitMethodName(options.split.method);
  report_.seed = options.split.seed;
  report_.valid_fraction = options.split.valid_fraction;
  report_.near_threshold = options.dedupe.near_threshold;
  report_.token_limit = options.token_limit;
}

void DatasetBuilder::Drop(const char* stage, std::string_view reason) {
  ++report_.dropped[stage][std::string(reason)];
}

std::optional<RedactedPair> DatasetBuilder::Add(const Ticket& ticket) {
  ++report_.tickets;
  auto t = Clock::now();
  ExtractResult extracted = ExtractPair(ticket, options_.extract);
  report_.times.clean_ms += MsSince(t);
  if (!extracted.pair) {
    Drop("extract", extracted.drop_reason);
    return std::nullopt;
  }
  ++report_.extracted;

  RedactedPair pair = Redactor::Redact(std::move(extracted.pair->pair), extracted.pair->requester, &report_.redactions);
  report_.times.redact_ms += MsSince(t);

  std::string_view problem = QualityProblem(pair.question(), pair.answer(), options_.filter);
  std::int64_t tokens = 0;
  if (problem.empty()) {
    tokens = system_tokens_ + EstimateChatTokens({pair.question(), pair.answer()});
    if (tokens > options_.token_limit) problem = kDropOverTokenLimit;
  }
  report_.times.filter_ms += MsSince(t);
  if (!problem.empty()) {
    Drop("filter", problem);
    return std::nullopt;
  }

  std::string_view dup = dedupe_.Check(pair.question(), pair.answer());
  report_.times.dedupe_ms += MsSince(t);
  if (!dup.empty()) {
    Drop("dedupe", dup);
    return std::nullopt;
  }

  validator_.AddExample(pair.question(), pair.answer(), tokens);
  ++report_.kept;
  report_.times.validate_ms += MsSince(t);
  return pair;
}

BuildReport& DatasetBuilder::Finish() {
  auto t = Clock::now();
  report_.validation = validator_.Finish();
  report_.times.validate_ms += MsSince(t);
  return report_;
}

std::string ContentHash(const std::vector<RedactedPair>& pairs) {
  std::vector<size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  std::vector<std::string> keys(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i) keys[i] = SplitKey(pairs[i].pair());
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  auto feed = [&](std::string_view s) {
    std::uint64_t len = s.size();
    EVP_DigestUpdate(ctx, &len, sizeof(len));  // length-prefixed: no ambiguity between fields
    EVP_DigestUpdate(ctx, s.data(), s.size());
  };
  for (size_t i : order) {
    const Pair& p = pairs[i].pair();
    feed(keys[i]);
    feed(SplitName(p.split));
    feed(p.question);
    feed(p.answer);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

util::Result<BuildReport> BuildDataset(Store& store, const DatasetOptions& options) {
  auto dir = FindPromptsDir(options.prompts_dir);
  if (!dir.ok()) return dir.status();
  auto prompts = PromptSet::Load(*dir);
  if (!prompts.ok()) return prompts.status();

  DatasetBuilder builder(options, prompts->system);
  std::vector<RedactedPair> kept;
  DESK_RETURN_IF_ERROR(store.ForEachTicket([&](const Ticket& ticket) {
    if (auto pair = builder.Add(ticket)) kept.push_back(std::move(*pair));
    return true;
  }).WithContext("dataset build: reading tickets"));
  BuildReport& report = builder.Finish();

  auto t = Clock::now();
  AssignSplits(kept, options.split);
  for (const auto& p : kept) (p.pair().split == Split::kValid ? report.valid : report.train) += 1;
  report.content_hash = ContentHash(kept);
  report.times.split_ms += MsSince(t);

  DESK_RETURN_IF_ERROR(store.ForEachPair([&](const Pair& p) {
    if (p.origin != PairOrigin::kHarvested) {
      ++report.other_pairs;
      (p.split == Split::kValid ? report.other_valid : report.other_train) += 1;
    }
    return true;
  }).WithContext("dataset build: reading pairs"));

  std::vector<Pair> pairs;
  pairs.reserve(kept.size());
  for (const auto& p : kept) pairs.push_back(p.pair());
  DatasetSnapshot snapshot;
  snapshot.content_hash = report.content_hash;
  snapshot.train_pairs = report.train + report.other_train;
  snapshot.valid_pairs = report.valid + report.other_valid;
  snapshot.created_at = static_cast<UnixSeconds>(std::time(nullptr));
  snapshot.report_json = report.ToJson();
  auto id = store.ReplaceHarvestedPairs(pairs, snapshot);
  if (!id.ok()) return id.status().WithContext("dataset build: storing pairs");
  report.snapshot_id = *id;
  report.times.store_ms += MsSince(t);
  return report;
}

util::Result<ExportReport> ExportDataset(Store& store, ExportFormat format, std::optional<Split> split,
                                         const std::string& out_path, const DatasetOptions& options) {
  auto dir = FindPromptsDir(options.prompts_dir);
  if (!dir.ok()) return dir.status();
  auto prompts = PromptSet::Load(*dir);
  if (!prompts.ok()) return prompts.status();
  auto renderer = ExampleRenderer::Create(*prompts, options.markers);
  if (!renderer.ok()) return renderer.status();
  auto writer = JsonlWriter::Open(out_path);
  if (!writer.ok()) return writer.status();

  ExportReport report;
  report.format = format;
  report.split = split ? SplitName(*split) : "all";
  report.path = out_path;
  std::string line;
  util::Status write_status;
  auto emit = [&](std::string_view skip) {
    if (!skip.empty()) {
      ++report.skipped[std::string(skip)];
      return true;
    }
    write_status = (*writer)->Write(line);
    return write_status.ok();
  };

  if (format == ExportFormat::kPreference) {
    DESK_RETURN_IF_ERROR(store.ForEachPreferencePair([&](const PreferencePair& p) {
      if (split) {
        Pair key;
        key.question = p.question;
        if (RandomSplitFor(key, options.split) != *split) return true;
      }
      RedactedPreferencePair rp = Redactor::Redact(p, &report.late_redactions);
      return emit(renderer->Preference(rp, &line));
    }));
  } else {
    DESK_RETURN_IF_ERROR(store.ForEachPair([&](const Pair& p) {
      if (split && p.split != *split) return true;
      RedactedPair rp = Redactor::Redact(p, Requester{}, &report.late_redactions);
      return emit(format == ExportFormat::kChat ? renderer->Chat(rp, &line) : renderer->Completion(rp, &line));
    }));
  }
  DESK_RETURN_IF_ERROR(write_status);
  report.written = (*writer)->lines();
  DESK_RETURN_IF_ERROR((*writer)->Commit());

  ValidationOptions vopts;
  vopts.format = format;
  vopts.token_limit = options.token_limit;
  vopts.epochs = options.epochs;
  vopts.markers = options.markers;
  auto validation = ValidateJsonlFile(out_path, vopts);
  if (!validation.ok()) return validation.status();
  report.validation = std::move(validation).value();
  return report;
}

}  // namespace deskbot::dataset
