#include "bot/llm/support.h"

#include <algorithm>
#include <filesystem>

#include "bot/llm/record.h"
#include "bot/model/local_model.h"

namespace deskbot::llm {
namespace {

util::Result<std::shared_ptr<const model::LocalModel>> Load(const ModelVersion& v, const std::string& data_dir) {
  std::string dir = v.path;
  if (!dir.empty() && std::filesystem::path(dir).is_relative() && !std::filesystem::exists(dir))
    dir = (std::filesystem::path(data_dir) / dir).string();
  auto m = model::LocalModel::Load(dir, v.checksum);
  if (!m.ok()) return m.status().WithContext("local model version " + std::to_string(v.id));
  if ((*m)->version().empty()) (*m)->set_version(std::to_string(v.id));
  return std::shared_ptr<const model::LocalModel>(std::move(m).value());
}

}  // namespace

util::Result<SupportModel> LoadSupportModel(Store& store, const std::string& data_dir, std::int64_t preferred_id) {
  auto versions = store.ListModelVersions();
  if (!versions.ok()) return versions.status();
  // Candidates in order of preference, each tried once.
  std::vector<const ModelVersion*> order;
  auto add = [&](std::int64_t id) {
    for (const ModelVersion& v : *versions)
      if (v.id == id && v.backend == "local" && v.state != ModelState::kFailed &&
          std::find(order.begin(), order.end(), &v) == order.end())
        order.push_back(&v);
  };
  if (preferred_id > 0) add(preferred_id);
  for (const ModelVersion& v : *versions) {
    if (v.state != ModelState::kPromoted) continue;
    if (v.backend == "local") add(v.id);
    auto record = ReadRecord(v);
    if (record.ok() && record->support_version > 0) add(record->support_version);
  }
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) add(it->id);

  SupportModel out;
  for (const ModelVersion* v : order) {
    auto m = Load(*v, data_dir);
    if (m.ok()) {
      out.model = std::move(m).value();
      out.version = *v;
      return out;
    }
    if (out.warning.empty()) out.warning = m.status().ToString();
  }
  return out;
}

}  // namespace deskbot::llm
