#!/usr/bin/env bash
# Every benchmark behind the README's figures, in one command:
#   deploy/setup.sh bench [SHARED_DATA_DIR]      (installs, builds, then runs this)
#   tests/bench/run.sh [SHARED_DATA_DIR]         (an existing build)
# SHARED_DATA_DIR holds the public help-desk corpora (default: ../shared/data
# beside the repository). Each benchmark measures its own baseline in the
# same run and prints a table and a final JSON line. Output is also saved
# under build/bench-results/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
data=$(cd "${1:-$root/../shared/data}" && pwd)
build=$root/build
deskbot=$build/bot/cli/deskbot
out=$build/bench-results
mkdir -p "$out"

run() {  # run NAME COMMAND...
  local name=$1
  shift
  echo
  echo "=== $name"
  echo "\$ $*"
  "$@" 2>&1 | tee "$out/$name.txt"
}

run dataset "$build/tests/bench/dataset/dataset_bench" --data "$data" --pairs 1000000
run qa-twitter "$deskbot" bench qa --train "$data/twitter-customer-care/pairs.jsonl" \
  --test "$data/twitter-customer-care/pairs.jsonl" --label answer_doc_id --json
run qa-ubuntu "$deskbot" bench qa --train "$data/ubuntu-irc-help/pairs.jsonl" \
  --test "$data/ubuntu-irc-help/pairs.jsonl" --json
run model "$build/tests/bench/model/model_bench" --data "$data" --pairs 100000 --queries 2000 --json
run slack-ack "$root/tests/bench/slack/ack_bench.sh" "$deskbot" 8
echo
echo "results in $out"
