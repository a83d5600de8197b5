#include "bot/llm/poller.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "bot/dataset/prompts.h"
#include "bot/llm/answer_model.h"
#include "bot/llm/evaluate.h"
#include "bot/llm/gate.h"
#include "bot/llm/record.h"
#include "bot/model/local_model.h"

namespace deskbot::llm {
namespace {

// Counts whole (a step of 12345 is not "1.234e+04"), losses to 4 digits.
std::string Num(double v) {
  char buf[32];
  if (std::abs(v) < 1e15 && v == std::floor(v)) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

std::string TrainingProgress(const std::map<std::string, double>& m) {
  std::string s;
  auto step = m.find("step");
  if (step != m.end()) {
    s = "step " + Num(step->second);
    auto total = m.find("total_steps");
    if (total != m.end()) s += "/" + Num(total->second);
  }
  for (const char* k : {"train_loss", "valid_loss"}) {
    auto it = m.find(k);
    if (it != m.end()) s += (s.empty() ? "" : ", ") + std::string(k) + " " + Num(it->second);
  }
  return s;
}

namespace {

std::string FailureReason(const openai::Job& job) {
  if (job.status == openai::JobStatus::kCancelled) return "fine-tuning job " + job.id + " was cancelled";
  std::string s = "fine-tuning job " + job.id + " failed";
  if (!job.error.code.empty()) s += ": " + job.error.code;
  if (!job.error.message.empty()) s += (job.error.code.empty() ? ": " : " - ") + job.error.message;
  if (!job.error.param.empty()) s += " (param " + job.error.param + ")";
  return s;
}

}  // namespace

util::Result<PollerOptions> PollerOptions::FromConfig(const Config& config) {
  PollerOptions o;
  auto answer = AnswerSettings::FromConfig(config);
  if (!answer.ok()) return answer.status();
  o.answer = *answer;
  auto gate = GateSettings::FromConfig(config);
  if (!gate.ok()) return gate.status();
  o.gate = *gate;
  o.data_dir = config.DataDir();
  return o;
}

std::string PollReport::ToText() const {
  std::string s;
  for (const std::string& line : lines) s += line + "\n";
  s += std::to_string(versions) + " unfinished fine-tuning version" + (versions == 1 ? "" : "s") + ": " +
       std::to_string(running) + " running, " + std::to_string(evaluated) + " evaluated (" +
       std::to_string(promoted) + " promoted), " + std::to_string(failed) + " failed, " + std::to_string(errors) +
       " with errors\n";
  return s;
}

struct FineTunePoller::Impl {
  PollerOptions options;
  std::shared_ptr<openai::Client> client;
  std::shared_ptr<const AnswerPrompt> prompt;
  SupportLoader load_support;

  // One version's step; problems go to the report and the record.
  void Poll(Store& store, ModelVersion v, PollReport& report);

  util::Status Save(Store& store, ModelVersion& v, const FineTuneRecord& r) {
    WriteRecord(r, &v);
    return store.UpdateModelVersion(v);
  }

  // Records a failed poll step, keeping everything else as it was.
  void Trouble(Store& store, ModelVersion& v, FineTuneRecord& r, const util::Status& st, const std::string& step,
               PollReport& report) {
    r.last_error = step + ": " + st.ToString();
    ++r.poll_errors;
    ++report.errors;
    report.lines.push_back("version " + std::to_string(v.id) + ": " + r.last_error + " (will retry)");
    spdlog::warn("finetune version {}: {}", v.id, r.last_error);
    util::Status saved = Save(store, v, r);
    if (!saved.ok()) spdlog::error("finetune version {}: {}", v.id, saved.ToString());
  }

  void Fail(Store& store, ModelVersion& v, FineTuneRecord& r, const std::string& reason, PollReport& report) {
    r.phase = kPhaseDone;
    r.last_error.clear();
    r.poll_errors = 0;
    v.state = ModelState::kFailed;
    v.note = reason;
    ++report.failed;
    report.lines.push_back("version " + std::to_string(v.id) + ": failed: " + reason);
    spdlog::error("finetune version {}: {}", v.id, reason);
    util::Status saved = Save(store, v, r);
    if (!saved.ok()) spdlog::error("finetune version {}: {}", v.id, saved.ToString());
  }

  // Events newer than r.last_event_id, oldest first.
  util::Result<std::vector<openai::JobEvent>> NewEvents(const std::string& job_id, const std::string& last_id) {
    std::vector<openai::JobEvent> fresh;
    openai::ListParams params;
    params.limit = 50;
    for (int page = 0; page < options.max_event_pages; ++page) {
      auto events = client->ListJobEvents(job_id, params);
      if (!events.ok()) return events.status();
      bool reached = false;
      for (const openai::JobEvent& e : events->data) {
        if (!last_id.empty() && e.id == last_id) {
          reached = true;
          break;
        }
        fresh.push_back(e);
      }
      if (reached || !events->has_more || events->data.empty()) break;
      params.after = events->data.back().id;
    }
    std::reverse(fresh.begin(), fresh.end());
    return fresh;
  }

  void LogEvents(const ModelVersion& v, const std::vector<openai::JobEvent>& events, FineTuneRecord& r) {
    for (const openai::JobEvent& e : events) {
      const auto level = e.level == "error" ? spdlog::level::err
                         : e.level == "warn" ? spdlog::level::warn
                                             : spdlog::level::info;
      spdlog::log(level, "finetune version {} job {}: {}", v.id, v.remote_id, e.message);
      if (!e.metrics.empty()) r.train_metrics = e.metrics;
      r.last_event_id = e.id;
      ++r.events_logged;
    }
  }

  void Creating(Store& store, ModelVersion& v, FineTuneRecord& r, PollReport& report);
  void Running(Store& store, ModelVersion& v, FineTuneRecord& r, PollReport& report);
  void Evaluating(Store& store, ModelVersion& v, FineTuneRecord& r, PollReport& report);
};

void FineTunePoller::Impl::Poll(Store& store, ModelVersion v, PollReport& report) {
  auto record = ReadRecord(v);
  if (!record.ok()) {
    ++report.errors;
    report.lines.push_back("version " + std::to_string(v.id) + ": " + record.status().ToString());
    return;
  }
  FineTuneRecord r = std::move(record).value();
  if (r.done()) return;
  ++report.versions;
  if (r.phase == kPhaseCreating) return Creating(store, v, r, report);
  if (r.phase == kPhaseEvaluating) return Evaluating(store, v, r, report);
  return Running(store, v, r, report);
}

void FineTunePoller::Impl::Creating(Store& store, ModelVersion& v, FineTuneRecord& r, PollReport& report) {
  if (!v.remote_id.empty()) {
    r.phase = kPhaseRunning;
    return Running(store, v, r, report);
  }
  const bool gave_up = !r.last_error.empty();
  const bool stale = std::time(nullptr) - v.updated_at >= options.creating_grace.count();
  if (!gave_up && !stale) {
    report.lines.push_back("version " + std::to_string(v.id) + ": job still being created");
    return;
  }
  openai::JobListParams params;
  params.limit = 10;
  params.metadata["deskbot_version"] = std::to_string(v.id);
  auto jobs = client->ListJobs(params);
  if (!jobs.ok()) return Trouble(store, v, r, jobs.status(), "looking for the job", report);
  if (jobs->data.empty())
    return Fail(store, v, r,
                "the fine-tuning job was never created" + (r.last_error.empty() ? "" : " (" + r.last_error + ")"),
                report);
  v.remote_id = jobs->data.front().id;
  r.phase = kPhaseRunning;
  r.last_error.clear();
  spdlog::info("finetune version {}: found job {} created by an interrupted start", v.id, v.remote_id);
  return Running(store, v, r, report);
}

void FineTunePoller::Impl::Running(Store& store, ModelVersion& v, FineTuneRecord& r, PollReport& report) {
  auto job = client->RetrieveJob(v.remote_id);
  if (!job.ok()) {
    if (job.status().code() == util::Status::Code::kNotFound)
      return Fail(store, v, r, "the provider has no job " + v.remote_id + ": " + job.status().ToString(), report);
    return Trouble(store, v, r, job.status(), "retrieving job " + v.remote_id, report);
  }
  auto events = NewEvents(v.remote_id, r.last_event_id);
  if (!events.ok()) return Trouble(store, v, r, events.status(), "listing the job's events", report);
  LogEvents(v, *events, r);
  r.job_status = job->status_text;
  if (job->trained_tokens) r.trained_tokens = job->trained_tokens;
  r.last_error.clear();
  r.poll_errors = 0;

  if (job->status == openai::JobStatus::kFailed || job->status == openai::JobStatus::kCancelled)
    return Fail(store, v, r, FailureReason(*job), report);
  if (job->status != openai::JobStatus::kSucceeded) {
    const std::string progress = TrainingProgress(r.train_metrics);
    v.note = "fine-tuning job " + v.remote_id + " " + job->status_text + (progress.empty() ? "" : ": " + progress);
    ++report.running;
    report.lines.push_back("version " + std::to_string(v.id) + ": " + v.note + " (" +
                           std::to_string(events->size()) + " new events)");
    util::Status saved = Save(store, v, r);
    if (!saved.ok()) spdlog::error("finetune version {}: {}", v.id, saved.ToString());
    return;
  }
  if (job->fine_tuned_model.empty())
    return Fail(store, v, r, "fine-tuning job " + v.remote_id + " succeeded without naming a model", report);
  auto checkpoints = client->ListJobCheckpoints(v.remote_id, {"", 10});
  if (!checkpoints.ok()) return Trouble(store, v, r, checkpoints.status(), "listing the job's checkpoints", report);
  r.checkpoints.clear();
  for (const openai::Checkpoint& c : checkpoints->data)
    r.checkpoints.push_back({c.id, c.fine_tuned_model_checkpoint, c.step_number, c.metrics});
  r.fine_tuned_model = job->fine_tuned_model;
  r.phase = kPhaseEvaluating;
  v.note = "fine-tuning job " + v.remote_id + " succeeded: " + r.fine_tuned_model + "; evaluating";
  spdlog::info("finetune version {}: {}", v.id, v.note);
  // Saved before the evaluation, so a restart evaluates instead of polling again.
  util::Status saved = Save(store, v, r);
  if (!saved.ok()) return Trouble(store, v, r, saved, "saving the job's result", report);
  return Evaluating(store, v, r, report);
}

void FineTunePoller::Impl::Evaluating(Store& store, ModelVersion& v, FineTuneRecord& r, PollReport& report) {
  const std::string what = "version " + std::to_string(v.id);
  auto valid = LoadSplit(store, Split::kValid);
  if (!valid.ok()) return Trouble(store, v, r, valid.status(), "loading the validation pairs", report);
  auto support = load_support(store, r.support_version);
  if (!support.ok()) return Trouble(store, v, r, support.status(), "loading the local support model", report);
  if (!support->warning.empty()) spdlog::warn("finetune {}: {}", what, support->warning);

  LlmAnswerModel llm(options.answer, r.fine_tuned_model, what, client, support->model, prompt, nullptr);
  auto ev = EvaluateLlm(llm, *valid, options.gate.correct_f1, options.gate.target_precision);
  if (!ev.ok()) return Trouble(store, v, r, ev.status(), "evaluating " + r.fine_tuned_model, report);
  r.support_version = support->version.id;
  r.eval_prompt_tokens += ev->prompt_tokens;
  r.eval_completion_tokens += ev->completion_tokens;
  r.eval_cost_usd += ev->cost_usd;
  r.last_error.clear();
  r.poll_errors = 0;
  WriteEvalMetrics(ev->metrics, &v);
  ++report.evaluated;

  // The incumbent on the same pairs: the promoted local model is re-scored
  // when it is the support model; otherwise its recorded metrics.
  std::optional<model::EvalMetrics> incumbent;
  std::string incumbent_name = "none";
  auto versions = store.ListModelVersions();
  if (!versions.ok()) return Trouble(store, v, r, versions.status(), "reading the registry", report);
  for (const ModelVersion& other : *versions) {
    if (other.state != ModelState::kPromoted || other.id == v.id) continue;
    incumbent_name = "version " + std::to_string(other.id) + ", " + other.backend;
    if (support->model && support->version.id == other.id)
      incumbent = support->model->Score(*valid);
    else
      incumbent = ReadEvalMetrics(other);
    if (!incumbent) incumbent = model::EvalMetrics{};  // promoted but never scored: anything scored beats it
  }
  const GateDecision decision = ApplyGate(ev->metrics, incumbent, incumbent_name, options.gate);
  v.note = decision.note;
  util::Status saved = Save(store, v, r);  // metrics first: a crash re-evaluates, never promotes unscored
  if (!saved.ok()) return Trouble(store, v, r, saved, "saving the evaluation", report);
  if (decision.promote) {
    util::Status promoted = store.PromoteModelVersion(v.id, decision.note);
    if (!promoted.ok()) return Trouble(store, v, r, promoted, "promoting", report);
    v.state = ModelState::kPromoted;
    ++report.promoted;
    AuditEntry audit;
    audit.actor = "finetune-poller";
    audit.action = "model.promote";
    audit.detail = what + " (" + r.fine_tuned_model + "): " + decision.note;
    audit.at = std::time(nullptr);
    util::Status st = store.AppendAudit(audit);
    if (!st.ok()) spdlog::warn("finetune {}: audit: {}", what, st.ToString());
  }
  r.phase = kPhaseDone;
  saved = Save(store, v, r);
  if (!saved.ok()) spdlog::error("finetune {}: {}", what, saved.ToString());
  report.lines.push_back(what + ": " + r.fine_tuned_model + " evaluated: " + decision.note);
  spdlog::info("finetune {}: {}", what, decision.note);
}

FineTunePoller::FineTunePoller(PollerOptions options, std::shared_ptr<openai::Client> client, AnswerPrompt prompt)
    : impl_(new Impl{std::move(options), std::move(client),
                     std::make_shared<const AnswerPrompt>(std::move(prompt)), {}}) {
  const std::string data_dir = impl_->options.data_dir;
  impl_->load_support = [data_dir](Store& store, std::int64_t preferred) {
    return LoadSupportModel(store, data_dir, preferred);
  };
}

FineTunePoller::~FineTunePoller() = default;

void FineTunePoller::set_support_loader(SupportLoader loader) { impl_->load_support = std::move(loader); }

util::Result<PollReport> FineTunePoller::PollOnce(Store& store) {
  auto versions = store.ListModelVersions();
  if (!versions.ok()) return versions.status();
  PollReport report;
  for (const ModelVersion& v : *versions) {
    if (v.backend != "openai" || v.state != ModelState::kCandidate) continue;
    impl_->Poll(store, v, report);
  }
  return report;
}

std::function<util::Result<bool>()> ScheduledPoll(std::shared_ptr<FineTunePoller> poller, Store& store) {
  return [poller = std::move(poller), &store]() -> util::Result<bool> {
    auto report = poller->PollOnce(store);
    if (!report.ok()) return report.status().WithContext("finetune poll");
    if (report->versions > 0)
      spdlog::info("finetune poll: {} running, {} evaluated, {} promoted, {} failed, {} with errors", report->running,
                   report->evaluated, report->promoted, report->failed, report->errors);
    for (const auto& line : report->lines) spdlog::info("finetune: {}", line);
    return report->promoted > 0;
  };
}

util::Result<AnswerPrompt> LoadAnswerPrompt(const AnswerSettings& settings) {
  auto dir = dataset::FindPromptsDir(settings.prompts_dir);
  if (!dir.ok()) return dir.status();
  return AnswerPrompt::Load(*dir);
}

util::Result<std::unique_ptr<FineTunePoller>> MakeFineTunePoller(const Config& config) {
  auto options = PollerOptions::FromConfig(config);
  if (!options.ok()) return options.status();
  auto endpoint = ProviderEndpoint(config, /*need_key=*/true);
  if (!endpoint.ok()) return endpoint.status();
  auto client = openai::Client::Create(endpoint->client);
  if (!client.ok()) return client.status();
  auto prompt = LoadAnswerPrompt(options->answer);
  if (!prompt.ok()) return prompt.status();
  return std::make_unique<FineTunePoller>(*options, std::shared_ptr<openai::Client>(std::move(client).value()),
                                          std::move(prompt).value());
}

}  // namespace deskbot::llm
