#!/usr/bin/env bash
# Runs the benchmarks that carry goals and writes BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${BENCH_COUNT:-5}
# engine/progress builds a 1M-record org once per run (a few minutes);
# BENCH_QUICK=1 uses 100k instead.
benchtime=${BENCH_TIME:-1s}
go test -run '^$' -bench . -benchmem -count "$count" -benchtime "$benchtime" \
  ./engine/api/ ./engine/rules/ ./engine/store/sqlite/ ./engine/progress/ ./engine/targets/alloc/ ./engine/commission/calc/ ./engine/commission/ ./engine/scorecard/ \
  | go run ./scripts/benchreport -o BENCHMARKS.md -cmd "make bench (BENCH_COUNT=$count BENCH_TIME=$benchtime)"
echo "wrote BENCHMARKS.md"
