#include <catch2/catch.hpp>

#include "connectors/util/status.h"

using util::Result;
using util::Status;

TEST_CASE("Status carries a code and a message with context", "[status]") {
  Status st = Status::NotFound("ticket 42");
  REQUIRE_FALSE(st.ok());
  REQUIRE(st.code() == Status::Code::kNotFound);
  REQUIRE(st.WithContext("rt").ToString() == "not found: rt: ticket 42");
  REQUIRE(Status::OK().ToString() == "ok");
  REQUIRE(Status::OK().WithContext("x").ok());
}

TEST_CASE("Result holds a value or an error", "[status]") {
  Result<int> good = 7;
  REQUIRE(good.ok());
  REQUIRE(*good == 7);
  Result<int> bad = Status::IOError("disk full");
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.status().message() == "disk full");
}
