#!/usr/bin/env bash
# Runs the benchmarks that carry goals and writes BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${BENCH_COUNT:-5}
# engine/progress builds a 1M-record org once per run and engine/commission
# a 1,000-rep × 1M-line fixture (a few minutes each); BENCH_QUICK=1 uses
# 100k records and 100 reps × 100k lines instead.
benchtime=${BENCH_TIME:-1s}
if [ -n "${BENCH_QUICK:-}" ]; then creps=100 clines=100000; else creps=1000 clines=1000000; fi
{
  go test -run '^$' -bench . -benchmem -count "$count" -benchtime "$benchtime" \
    ./engine/api/ ./engine/rules/ ./engine/store/sqlite/ ./engine/progress/ ./engine/targets/alloc/ \
    ./engine/commission/calc/ ./engine/scorecard/
  STRIDE_BENCH_COMMISSION_REPS=$creps STRIDE_BENCH_COMMISSION_LINES=$clines \
    go test -run '^$' -bench . -benchmem -count "$count" -timeout 60m ./engine/commission/
} | go run ./scripts/benchreport -o BENCHMARKS.md -cmd "make bench (BENCH_COUNT=$count BENCH_TIME=$benchtime${BENCH_QUICK:+ BENCH_QUICK=1})"
echo "wrote BENCHMARKS.md"
