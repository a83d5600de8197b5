#include "bot/sources/iso_time.h"

#include <catch2/catch.hpp>

namespace deskbot {
namespace {

TEST_CASE("iso time: the forms exports use", "[sources][time]") {
  CHECK(ParseIsoTime("1970-01-01T00:00:00Z") == 0);
  CHECK(ParseIsoTime("2026-03-02T09:14:00Z") == 1772442840);
  CHECK(ParseIsoTime("2026-03-02T09:14:00.250Z") == 1772442840);
  CHECK(ParseIsoTime("2026-03-02 09:14:00") == 1772442840);
  CHECK(ParseIsoTime("2026-03-02T09:14Z") == 1772442840);
  CHECK(ParseIsoTime("2026-03-02T10:14:00+01:00") == 1772442840);
  CHECK(ParseIsoTime("2026-03-02T04:14:00-0500") == 1772442840);
  CHECK(ParseIsoTime("2026-03-02") == 1772409600);
  CHECK(ParseIsoTime(" 1772442840 ") == 1772442840);
  CHECK(ParseIsoTime("2024-02-29T00:00:00Z") == 1709164800);  // leap day
}

TEST_CASE("iso time: refuses what it cannot read", "[sources][time]") {
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-02-30", "2026-03-02T25:00:00Z",
                          "2026-03-02T09:14:00Zjunk", "2026/03/02", "2026-03-02T09", "02.03.2026",
                          "2026-03-02T09:14:00.Z", "99999999999999"})
    CHECK_FALSE(ParseIsoTime(bad).has_value());
}

}  // namespace
}  // namespace deskbot
