#include "bot/dataset/prompts.h"

#include <filesystem>
#include <optional>
#include <fstream>
#include <sstream>

namespace deskbot::dataset {

namespace fs = std::filesystem;

util::Result<std::string> ReadPromptFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return util::Status::NotFound("prompt file " + path + " is missing");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  return text;
}

namespace {

bool HasPrompts(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "system.txt", ec);
}

std::optional<fs::path> SearchUp(fs::path dir) {
  for (int depth = 0; depth < 6 && !dir.empty(); ++depth) {
    if (HasPrompts(dir / "prompts")) return dir / "prompts";
    fs::path parent = dir.parent_path();
    if (parent == dir) break;
    dir = parent;
  }
  return std::nullopt;
}

}  // namespace

util::Result<PromptSet> PromptSet::Load(const std::string& dir) {
  PromptSet p;
  p.dir = dir;
  fs::path base(dir);
  struct File {
    const char* name;
    std::string* into;
  } files[] = {{"system.txt", &p.system},
               {"finetune/user.mustache", &p.user},
               {"finetune/assistant.mustache", &p.assistant},
               {"finetune/completion_prompt.mustache", &p.completion_prompt},
               {"finetune/completion.mustache", &p.completion}};
  for (const auto& f : files) {
    auto text = ReadPromptFile((base / f.name).string());
    if (!text.ok()) return text.status();
    *f.into = std::move(text).value();
  }
  return p;
}

util::Result<std::string> FindPromptsDir(const std::string& configured) {
  std::error_code ec;
  if (!configured.empty()) {
    if (!HasPrompts(configured))
      return util::Status::NotFound("dataset.prompts_dir " + configured + " has no system.txt");
    return configured;
  }
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    if (auto found = SearchUp(exe.parent_path())) return found->string();
  }
  if (auto found = SearchUp(fs::current_path(ec))) return found->string();
  if (HasPrompts("/usr/share/deskbot/prompts")) return std::string("/usr/share/deskbot/prompts");
  return util::Status::NotFound("no prompts directory found; set dataset.prompts_dir");
}

}  // namespace deskbot::dataset
