// Everything of one kind read back from a Store, for tests to assert on.
#pragma once

#include <catch2/catch.hpp>

#include <vector>

#include "bot/core/store.h"

namespace deskbot::testing {

inline std::vector<Pair> AllPairs(Store& store) {
  std::vector<Pair> out;
  REQUIRE(store.ForEachPair([&](const Pair& p) {
                 out.push_back(p);
                 return true;
               }).ok());
  return out;
}

inline std::vector<PreferencePair> AllPreferencePairs(Store& store) {
  std::vector<PreferencePair> out;
  REQUIRE(store.ForEachPreferencePair([&](const PreferencePair& p) {
                 out.push_back(p);
                 return true;
               }).ok());
  return out;
}

}  // namespace deskbot::testing
