#include <catch2/catch.hpp>

#include "bot/core/types.h"

using namespace deskbot;

TEST_CASE("enum names round-trip through their stored spelling", "[types]") {
  for (auto r : {Role::kRequester, Role::kAgent, Role::kSystem})
    REQUIRE(ParseRole(RoleName(r)) == r);
  for (auto o : {PairOrigin::kHarvested, PairOrigin::kApproved, PairOrigin::kEdited})
    REQUIRE(ParsePairOrigin(PairOriginName(o)) == o);
  for (auto s : {ModelState::kCandidate, ModelState::kPromoted, ModelState::kRetired})
    REQUIRE(ParseModelState(ModelStateName(s)) == s);
  REQUIRE(ParseSplit("valid") == Split::kValid);
  REQUIRE_FALSE(ParseRole("boss").has_value());
}
