#include "bot/llm/trainer.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <ctime>
#include <filesystem>

#include "bot/dataset/pipeline.h"
#include "bot/llm/record.h"
#include "connectors/openai/training_data.h"

namespace deskbot::llm {
namespace {

// Errors after which the job may exist anyway (the answer was lost).
bool Uncertain(const util::Status& st) {
  return st.code() == util::Status::Code::kUnavailable || st.code() == util::Status::Code::kIOError;
}

std::string Money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.2f", usd);
  return buf;
}

// The newest succeeded supervised fine-tune, the promoted one first.
util::Result<std::string> NewestSupervisedModel(Store& store) {
  auto versions = store.ListModelVersions();
  if (!versions.ok()) return versions.status();
  std::string newest;
  for (const ModelVersion& v : *versions) {
    if (v.backend != "openai" || v.state == ModelState::kFailed) continue;
    auto r = ReadRecord(v);
    if (!r.ok() || r->method != "supervised" || r->fine_tuned_model.empty()) continue;
    if (v.state == ModelState::kPromoted) return r->fine_tuned_model;
    newest = r->fine_tuned_model;
  }
  if (newest.empty())
    return util::Status::NotFound(
        "no supervised fine-tuned model to start preference fine-tuning from: run `deskbot finetune start "
        "--method supervised` first, or pass --base MODEL (or set llm.finetune.preference_base)");
  return newest;
}

util::Result<dataset::ExportReport> Export(Store& store, dataset::ExportFormat format, Split split,
                                           const std::string& path, const dataset::DatasetOptions& options) {
  auto report = dataset::ExportDataset(store, format, split, path, options);
  if (!report.ok()) return report.status();
  if (!report->validation.ok())
    return util::Status::InvalidArgument("fine-tune: the exported " + std::string(SplitName(split)) +
                                         " file failed validation: " + path);
  return report;
}

openai::Method MethodFor(FineTuneMethod method, const openai::Hyperparameters& hp) {
  openai::Method m;
  m.type = method == FineTuneMethod::kPreference ? openai::MethodType::kDpo : openai::MethodType::kSupervised;
  m.hyperparameters = hp;
  if (m.type != openai::MethodType::kDpo) m.hyperparameters.beta = {};
  return m;
}

util::Status MarkFailed(Store& store, ModelVersion v, FineTuneRecord r, const std::string& reason) {
  r.phase = kPhaseDone;
  WriteRecord(r, &v);
  v.state = ModelState::kFailed;
  v.note = reason;
  return store.UpdateModelVersion(v);
}

}  // namespace

std::string BaseOf(const std::string& model) {
  if (model.rfind("ft:", 0) != 0) return model;
  const auto end = model.find(':', 3);
  return model.substr(3, end == std::string::npos ? std::string::npos : end - 3);
}

std::string StartReport::ToText() const {
  std::string s;
  s += std::string(dry_run ? "Dry run: nothing was sent.\n" : "") + "Fine-tuning (" + FineTuneMethodName(method) +
       ") of " + base_model + " on dataset snapshot " + std::to_string(snapshot_id) + "\n";
  s += "  training file:   " + train_path + " (" + std::to_string(train_examples) + " examples)\n";
  s += "  validation file: " + (valid_path.empty() ? std::string("none") : valid_path) + " (" +
       std::to_string(valid_examples) + " examples)\n";
  if (skipped > 0) s += "  skipped:         " + std::to_string(skipped) + " pairs the templates could not render\n";
  s += "  " + estimate.Summary() + "\n";
  if (estimate.cost_usd)
    s += "  estimated cost:  " + Money(*estimate.cost_usd) + " (priced as " + estimate.priced_as + ")\n";
  else
    s += "  estimated cost:  unknown (no price for " + base_model + ")\n";
  if (train_examples < openai::kMinTrainingExamples)
    s += "  warning: the provider needs at least " + std::to_string(openai::kMinTrainingExamples) +
         " training examples\n";
  if (!dry_run)
    s += "Registered model version " + std::to_string(version_id) + ": job " + job_id + " (" + job_status +
         "). Follow it with `deskbot finetune status` / `deskbot finetune poll`.\n";
  return s;
}

util::Result<StartReport> StartFineTune(Store& store, const Config& config, openai::Client* client,
                                        const StartRequest& request) {
  auto settings = FineTuneSettings::FromConfig(config);
  if (!settings.ok()) return settings.status();
  auto data_options = dataset::DatasetOptions::FromConfig(config);
  if (!data_options.ok()) return data_options.status();
  if (!request.dry_run && client == nullptr) return util::Status::InvalidArgument("fine-tune: no provider client");

  StartReport report;
  report.dry_run = request.dry_run;
  report.method = request.method.value_or(settings->method);
  const bool preference = report.method == FineTuneMethod::kPreference;
  report.base_model = request.base_model;
  if (report.base_model.empty()) report.base_model = preference ? settings->preference_base : settings->base_model;
  if (report.base_model.empty()) {
    auto newest = NewestSupervisedModel(store);
    if (!newest.ok()) return newest.status();
    report.base_model = *newest;
  }

  auto snapshot = store.LatestSnapshot();
  if (!snapshot.ok()) return snapshot.status();
  if (!*snapshot) return util::Status::NotFound("fine-tune: no dataset built yet: run `deskbot dataset build` first");
  report.snapshot_id = (*snapshot)->id;

  // 1. Export.
  const std::filesystem::path dir = std::filesystem::path(settings->work_dir) /
                                    ("snapshot-" + std::to_string(report.snapshot_id) + "-" +
                                     FineTuneMethodName(report.method));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return util::Status::IOError("fine-tune: cannot create " + dir.string() + ": " + ec.message());
  const auto format = preference ? dataset::ExportFormat::kPreference : dataset::ExportFormat::kChat;
  report.train_path = (dir / "train.jsonl").string();
  auto train = Export(store, format, Split::kTrain, report.train_path, *data_options);
  if (!train.ok()) return train.status();
  report.train_examples = train->written;
  for (const auto& [reason, n] : train->skipped) report.skipped += n;
  const std::string valid_path = (dir / "valid.jsonl").string();
  auto valid = Export(store, format, Split::kValid, valid_path, *data_options);
  if (!valid.ok()) return valid.status();
  report.valid_examples = valid->written;
  for (const auto& [reason, n] : valid->skipped) report.skipped += n;
  if (report.valid_examples > 0) report.valid_path = valid_path;
  else std::filesystem::remove(valid_path, ec);

  // 2. Estimate.
  openai::EstimateOptions eo;
  eo.base_model = BaseOf(report.base_model);
  eo.n_epochs = settings->hyperparameters.n_epochs;
  if (report.train_examples > 0) {
    auto estimate = openai::EstimateTrainingFile(report.train_path, eo);
    if (!estimate.ok()) return estimate.status().WithContext("fine-tune: estimate");
    report.estimate = *estimate;
  }
  if (request.dry_run) return report;
  if (report.train_examples < openai::kMinTrainingExamples)
    return util::Status::InvalidArgument(
        "fine-tune: only " + std::to_string(report.train_examples) + " " +
        (preference ? "preference pairs" : "training examples") + " in the training split; the provider needs at least " +
        std::to_string(openai::kMinTrainingExamples) +
        (preference ? " (they come from agents' edits of suggestions)" : ""));

  // 3. Register, upload, create.
  FineTuneRecord record;
  record.method = FineTuneMethodName(report.method);
  record.base_model = report.base_model;
  record.train_examples = report.train_examples;
  record.valid_examples = report.valid_examples;
  record.estimated_billable_tokens = report.estimate.billable_tokens;
  record.estimated_cost_usd = report.estimate.cost_usd;
  ModelVersion version;
  version.backend = "openai";
  version.snapshot_id = report.snapshot_id;
  version.state = ModelState::kCandidate;
  version.note = "fine-tuning job being created";
  WriteRecord(record, &version);
  auto id = store.AddModelVersion(version);
  if (!id.ok()) return id.status();
  version.id = report.version_id = *id;
  const std::string what = "fine-tune version " + std::to_string(version.id);
  const std::string file_prefix = "deskbot-v" + std::to_string(version.id) + "-";

  auto fail = [&](const util::Status& st, const std::string& step) -> util::Status {
    const std::string reason = step + ": " + st.ToString();
    record.last_error = reason;
    util::Status marked = MarkFailed(store, version, record, reason);
    if (!marked.ok()) spdlog::error("{}: {}", what, marked.ToString());
    return st.WithContext(what + ": " + step);
  };

  auto train_file = client->UploadFile(report.train_path, "fine-tune", file_prefix + "train.jsonl");
  if (!train_file.ok()) return fail(train_file.status(), "uploading the training file");
  record.training_file = train_file->id;
  if (!report.valid_path.empty()) {
    auto valid_file = client->UploadFile(report.valid_path, "fine-tune", file_prefix + "valid.jsonl");
    if (!valid_file.ok()) return fail(valid_file.status(), "uploading the validation file");
    record.validation_file = valid_file->id;
  }

  openai::JobCreateRequest job_request;
  job_request.model = report.base_model;
  job_request.training_file = record.training_file;
  job_request.validation_file = record.validation_file;
  job_request.suffix = settings->suffix;
  job_request.seed = settings->seed;
  job_request.method = MethodFor(report.method, settings->hyperparameters);
  job_request.metadata = {{"deskbot_version", std::to_string(version.id)},
                          {"deskbot_snapshot", std::to_string(report.snapshot_id)}};
  auto job = client->CreateJob(job_request);
  if (!job.ok()) {
    if (!Uncertain(job.status())) return fail(job.status(), "creating the job");
    // The job may exist: leave the version "creating"; the poller looks for
    // it by its metadata and adopts it, or marks the version failed.
    record.last_error = "creating the job: " + job.status().ToString();
    WriteRecord(record, &version);
    version.note = "job creation uncertain; `deskbot finetune poll` will look for the job";
    util::Status st = store.UpdateModelVersion(version);
    if (!st.ok()) spdlog::error("{}: {}", what, st.ToString());
    return job.status().WithContext(what + ": creating the job (the poller will look for it)");
  }
  record.phase = kPhaseRunning;  // the poller settles every later state, terminal ones too
  record.job_status = job->status_text;
  version.remote_id = job->id;
  version.note = "fine-tuning job " + job->id + " " + job->status_text;
  WriteRecord(record, &version);
  DESK_RETURN_IF_ERROR(store.UpdateModelVersion(version).WithContext(what + " (job " + job->id + " created)"));
  report.job_id = job->id;
  report.job_status = job->status_text;
  AuditEntry audit;
  audit.actor = request.actor;
  audit.action = "finetune.start";
  audit.detail = "version " + std::to_string(version.id) + ": job " + job->id + ", " + record.method + " on " +
                 report.base_model + ", snapshot " + std::to_string(report.snapshot_id) + ", " +
                 std::to_string(report.train_examples) + " training examples";
  audit.at = std::time(nullptr);
  util::Status st = store.AppendAudit(audit);
  if (!st.ok()) spdlog::warn("{}: audit: {}", what, st.ToString());
  spdlog::info("{}: fine-tuning job {} created ({})", what, job->id, job->status_text);
  return report;
}

util::Status CancelFineTune(Store& store, openai::Client& client, std::int64_t version_id, const std::string& actor) {
  const std::string what = "fine-tune version " + std::to_string(version_id);
  auto found = store.GetModelVersion(version_id);
  if (!found.ok()) return found.status();
  if (!*found) return util::Status::NotFound(what + ": no such model version");
  ModelVersion v = **found;
  if (v.backend != "openai") return util::Status::InvalidArgument(what + ": not a fine-tuning version (backend " + v.backend + ")");
  auto record = ReadRecord(v);
  if (!record.ok()) return record.status();
  if (record->done() || v.state != ModelState::kCandidate)
    return util::Status::InvalidArgument(what + ": already finished (" + ModelStateName(v.state) + ", job " +
                                         (record->job_status.empty() ? "-" : record->job_status) + ")");
  if (record->phase == kPhaseEvaluating)
    return util::Status::InvalidArgument(what + ": the job already succeeded; it is being evaluated");
  if (!v.remote_id.empty()) {
    auto job = client.CancelJob(v.remote_id);
    if (!job.ok()) return job.status().WithContext(what + ": cancelling job " + v.remote_id);
    record->job_status = job->status_text;
  }
  const std::string reason = "cancelled by " + actor;
  DESK_RETURN_IF_ERROR(MarkFailed(store, v, *record, reason));
  AuditEntry audit;
  audit.actor = actor;
  audit.action = "finetune.cancel";
  audit.detail = "version " + std::to_string(version_id) + (v.remote_id.empty() ? "" : ": job " + v.remote_id);
  audit.at = std::time(nullptr);
  return store.AppendAudit(audit);
}

}  // namespace deskbot::llm
