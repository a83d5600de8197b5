#include "bot/dataset/export.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <kainjow/mustache.hpp>

#include "bot/dataset/text_util.h"

namespace deskbot::dataset {

namespace mus = kainjow::mustache;

struct ExampleRenderer::Impl {
  std::string system;
  CompletionMarkers markers;
  mus::mustache user, assistant, completion_prompt, completion;

  Impl(const PromptSet& p, const CompletionMarkers& m)
      : system(p.system),
        markers(m),
        user(p.user),
        assistant(p.assistant),
        completion_prompt(p.completion_prompt),
        completion(p.completion) {
    for (auto* t : {&user, &assistant, &completion_prompt, &completion})
      t->set_custom_escape([](const std::string& s) { return s; });  // JSON escaping happens later
  }

  std::string Render(mus::mustache& t, const Pair& pair, const std::string& answer) const {
    mus::data d;
    d.set("question", pair.question);
    d.set("answer", answer);
    d.set("source", pair.source);
    d.set("ticket", pair.ticket_external_id);
    std::string out;
    t.render(d, [&out](const std::string& s) { out += s; });
    return std::string(TrimView(out));
  }
};

util::Result<ExampleRenderer> ExampleRenderer::Create(const PromptSet& prompts, const CompletionMarkers& markers) {
  auto impl = std::make_unique<Impl>(prompts, markers);
  struct Named {
    const char* file;
    mus::mustache* t;
  } all[] = {{"finetune/user.mustache", &impl->user},
             {"finetune/assistant.mustache", &impl->assistant},
             {"finetune/completion_prompt.mustache", &impl->completion_prompt},
             {"finetune/completion.mustache", &impl->completion}};
  for (const auto& n : all) {
    if (!n.t->is_valid())
      return util::Status::InvalidArgument(std::string("prompt template ") + n.file + ": " + n.t->error_message());
  }
  if (markers.separator.empty() || markers.stop.empty())
    return util::Status::InvalidArgument("completion separator and stop sequence must not be empty");
  if (!IsValidUtf8(prompts.system)) return util::Status::InvalidArgument("system.txt is not valid UTF-8");
  return ExampleRenderer(std::move(impl));
}

ExampleRenderer::ExampleRenderer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ExampleRenderer::ExampleRenderer(ExampleRenderer&&) noexcept = default;
ExampleRenderer& ExampleRenderer::operator=(ExampleRenderer&&) noexcept = default;
ExampleRenderer::~ExampleRenderer() = default;

const std::string& ExampleRenderer::system_prompt() const { return impl_->system; }
const CompletionMarkers& ExampleRenderer::markers() const { return impl_->markers; }

namespace {

void AppendMessage(std::string& out, std::string_view role, std::string_view content) {
  out += "{\"role\":\"";
  out += role;
  out += "\",\"content\":\"";
  AppendJsonEscaped(out, content);
  out += "\"}";
}

}  // namespace

std::string_view ExampleRenderer::Chat(const RedactedPair& rp, std::string* line) const {
  const Pair& p = rp.pair();
  std::string user = impl_->Render(impl_->user, p, p.answer);
  std::string assistant = impl_->Render(impl_->assistant, p, p.answer);
  if (user.empty() || assistant.empty()) return kSkipEmpty;
  line->clear();
  line->reserve(user.size() + assistant.size() + impl_->system.size() + 96);
  *line += "{\"messages\":[";
  if (!impl_->system.empty()) {
    AppendMessage(*line, "system", impl_->system);
    line->push_back(',');
  }
  AppendMessage(*line, "user", user);
  line->push_back(',');
  AppendMessage(*line, "assistant", assistant);
  *line += "]}";
  return {};
}

std::string_view ExampleRenderer::Completion(const RedactedPair& rp, std::string* line) const {
  const Pair& p = rp.pair();
  const auto& m = impl_->markers;
  std::string prompt = impl_->Render(impl_->completion_prompt, p, p.answer);
  std::string completion = impl_->Render(impl_->completion, p, p.answer);
  if (prompt.empty() || completion.empty()) return kSkipEmpty;
  prompt += m.separator;
  completion.insert(completion.begin(), ' ');
  completion += m.stop;
  // Exactly one separator/stop, at the end: the body must not hold one, and
  // the body's end must not combine with the marker into a second one.
  if (prompt.find(m.separator) != prompt.size() - m.separator.size() ||
      completion.find(m.separator) != std::string::npos)
    return kSkipSeparator;
  if (completion.find(m.stop) != completion.size() - m.stop.size()) return kSkipStop;
  line->clear();
  *line += "{\"prompt\":\"";
  AppendJsonEscaped(*line, prompt);
  *line += "\",\"completion\":\"";
  AppendJsonEscaped(*line, completion);
  *line += "\"}";
  return {};
}

std::string_view ExampleRenderer::Preference(const RedactedPreferencePair& rp, std::string* line) const {
  const PreferencePair& pp = rp.pair();
  Pair as_pair;
  as_pair.question = pp.question;
  std::string user = impl_->Render(impl_->user, as_pair, pp.preferred);
  std::string preferred = impl_->Render(impl_->assistant, as_pair, pp.preferred);
  std::string rejected = impl_->Render(impl_->assistant, as_pair, pp.rejected);
  if (user.empty() || preferred.empty() || rejected.empty()) return kSkipEmpty;
  if (preferred == rejected) return kSkipIdentical;
  line->clear();
  *line += "{\"input\":{\"messages\":[";
  if (!impl_->system.empty()) {
    AppendMessage(*line, "system", impl_->system);
    line->push_back(',');
  }
  AppendMessage(*line, "user", user);
  *line += "]},\"preferred_output\":[";
  AppendMessage(*line, "assistant", preferred);
  *line += "],\"non_preferred_output\":[";
  AppendMessage(*line, "assistant", rejected);
  *line += "]}";
  return {};
}

// --- JsonlWriter -------------------------------------------------------------

util::Result<std::unique_ptr<JsonlWriter>> JsonlWriter::Open(const std::string& path) {
  std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) return util::Status::IOError("cannot write " + tmp + ": " + std::strerror(errno));
  std::setvbuf(f, nullptr, _IOFBF, 1 << 20);
  return std::unique_ptr<JsonlWriter>(new JsonlWriter(path, tmp, f));
}

JsonlWriter::~JsonlWriter() {
  if (f_ != nullptr) std::fclose(f_);
  if (!committed_) std::remove(tmp_.c_str());
}

util::Status JsonlWriter::Write(std::string_view line) {
  if (f_ == nullptr) return util::Status::Internal("write after commit: " + path_);
  if (std::fwrite(line.data(), 1, line.size(), f_) != line.size() || std::fputc('\n', f_) == EOF)
    return util::Status::IOError("cannot write " + tmp_ + ": " + std::strerror(errno));
  ++lines_;
  return util::Status::OK();
}

util::Status JsonlWriter::Commit() {
  if (f_ == nullptr) return util::Status::Internal("commit twice: " + path_);
  bool ok = std::fflush(f_) == 0 && ::fsync(fileno(f_)) == 0;
  ok = (std::fclose(f_) == 0) && ok;
  f_ = nullptr;
  if (!ok) return util::Status::IOError("cannot write " + tmp_ + ": " + std::strerror(errno));
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0)
    return util::Status::IOError("cannot rename " + tmp_ + " to " + path_ + ": " + std::strerror(errno));
  committed_ = true;
  return util::Status::OK();
}

}  // namespace deskbot::dataset
