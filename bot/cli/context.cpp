#include "bot/cli/context.h"

#include <algorithm>
#include <vector>

#include "bot/store/open.h"

namespace deskbot::cli {

const Config& CliContext::config() {
  if (!config_) {
    if (config_path.empty()) {
      config_ = std::make_unique<Config>();
    } else {
      config_ = std::make_unique<Config>(Check(Config::LoadFile(config_path)));
    }
  }
  return *config_;
}

Store& CliContext::store() {
  if (!store_) store_ = Check(OpenStore(config()));
  return *store_;
}

std::vector<std::pair<int, RegisterFn>>& CommandGroups() {
  static std::vector<std::pair<int, RegisterFn>> groups;
  return groups;
}

bool AddCommandGroup(int order, RegisterFn fn) {
  CommandGroups().emplace_back(order, fn);
  return true;
}

}  // namespace deskbot::cli
