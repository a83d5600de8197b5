#include "bot/core/types.h"

#include <array>
#include <chrono>
#include <utility>

namespace deskbot {

UnixSeconds NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Maps enum values to their stable names (stored in the database and printed).
template <typename E, std::size_t N>
const char* NameOf(const std::array<std::pair<E, const char*>, N>& table, E value) {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return "?";
}

template <typename E, std::size_t N>
std::optional<E> ParseName(const std::array<std::pair<E, const char*>, N>& table,
                           const std::string& s) {
  for (const auto& [e, name] : table)
    if (s == name) return e;
  return std::nullopt;
}

constexpr std::array<std::pair<Role, const char*>, 3> kRoles{{
    {Role::kRequester, "requester"}, {Role::kAgent, "agent"}, {Role::kSystem, "system"}}};
constexpr std::array<std::pair<PairOrigin, const char*>, 3> kOrigins{{
    {PairOrigin::kHarvested, "harvested"},
    {PairOrigin::kApproved, "approved"},
    {PairOrigin::kEdited, "edited"}}};
constexpr std::array<std::pair<Split, const char*>, 2> kSplits{{
    {Split::kTrain, "train"}, {Split::kValid, "valid"}}};
constexpr std::array<std::pair<ModelState, const char*>, 4> kStates{{
    {ModelState::kCandidate, "candidate"},
    {ModelState::kPromoted, "promoted"},
    {ModelState::kRetired, "retired"},
    {ModelState::kFailed, "failed"}}};

}  // namespace

const char* RoleName(Role role) { return NameOf(kRoles, role); }
std::optional<Role> ParseRole(const std::string& s) { return ParseName(kRoles, s); }
const char* PairOriginName(PairOrigin origin) { return NameOf(kOrigins, origin); }
std::optional<PairOrigin> ParsePairOrigin(const std::string& s) { return ParseName(kOrigins, s); }
const char* SplitName(Split split) { return NameOf(kSplits, split); }
std::optional<Split> ParseSplit(const std::string& s) { return ParseName(kSplits, s); }
const char* ModelStateName(ModelState state) { return NameOf(kStates, state); }
std::optional<ModelState> ParseModelState(const std::string& s) { return ParseName(kStates, s); }

}  // namespace deskbot
