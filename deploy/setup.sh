#!/usr/bin/env bash
# deskbot's one setup script: installs Debian 12 packages, builds, and runs.
#
#   deploy/setup.sh demo    install, build, run `deskbot demo` (embedded defaults)
#   deploy/setup.sh test    install, build, start the test peers, run every test
#   deploy/setup.sh bench   install, build, run the benchmarks (figures for the README)
#   deploy/setup.sh build   install and build only
#   deploy/setup.sh deps    install the packages only
#
# Idempotent: packages already installed are not installed again, the build is
# incremental (ccache), and peers already running are reused.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
shared=${DESKBOT_SHARED_DIR:-$root/../shared}
cmd=${1:-demo}
shift || true

# Packages to build and run deskbot.
build_packages=(
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  libboost1.81-dev libssl-dev libsqlite3-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  catch2 libcli11-dev libtomlplusplus-dev libgumbo-dev libfasttext-dev libhnswlib-dev
  libxapian-dev libkainjow-mustache-dev libbenchmark-dev libwebsocketpp-dev libre2-dev
  libutf8proc-dev libsimdjson-dev
)
# Extra packages the tests and benchmarks use.
test_packages=( curl python3 chromium chromium-driver )
# Extra packages the benchmarks compare against (Bolt itself comes from npm).
bench_packages=( wrk nginx-light nodejs npm )

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#@} packages already installed"
    return
  fi
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
  cd "$root"
  cmake --preset default >/dev/null
  cmake --build --preset default
}

start_rt_peer() {
  # Request Tracker 5 on loopback for the integration tests (see shared/peers/rt5).
  local peer="$shared/peers/rt5"
  if [ ! -x "$peer/start.sh" ]; then
    echo "setup: no RT5 peer at $peer; RT integration tests will be skipped"
    return
  fi
  echo "setup: starting Request Tracker 5 (first run installs it, ~2 minutes)"
  if as_root "$peer/start.sh" > /tmp/deskbot-rt5-start.log 2>&1; then
    export DESKBOT_RT_URL="http://127.0.0.1:${RT_PEER_PORT:-8089}/REST/2.0"
    export DESKBOT_RT_STATE_DIR="${RT_PEER_STATE_DIR:-/var/lib/rt5-peer}"
    export DESKBOT_REQUIRE_RT=1
  else
    echo "setup: RT5 peer failed to start; see /tmp/deskbot-rt5-start.log" >&2
    tail -20 /tmp/deskbot-rt5-start.log >&2
    exit 1
  fi
}

case "$cmd" in
  deps)
    install_packages "${build_packages[@]}" "${test_packages[@]}" ;;
  build)
    install_packages "${build_packages[@]}"
    build ;;
  demo)
    install_packages "${build_packages[@]}"
    build
    exec "$root/build/bot/cli/deskbot" demo "$@" ;;
  test)
    install_packages "${build_packages[@]}" "${test_packages[@]}"
    build
    start_rt_peer
    # The browser test must run, not skip, where setup installed Chromium.
    export DESKBOT_REQUIRE_CHROMIUM=1
    cd "$root"
    ctest --preset default "$@" ;;
  bench)
    install_packages "${build_packages[@]}" "${test_packages[@]}" "${bench_packages[@]}"
    build
    exec "$root/tests/bench/run.sh" "$@" ;;
  *)
    echo "usage: deploy/setup.sh demo|test|bench|build|deps" >&2
    exit 2 ;;
esac
