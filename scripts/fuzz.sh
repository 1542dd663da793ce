#!/usr/bin/env bash
# Runs every Go fuzz target briefly (FUZZTIME each, default 5s). Go runs one
# fuzz target per invocation, so we loop; the seed corpora also run as part
# of the normal `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
found=0
while IFS= read -r file; do
  pkg="./$(dirname "$file")"
  for fn in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    found=$((found + 1))
    echo "fuzz $pkg $fn ($fuzztime)"
    # -fuzzminimizetime 0: when -fuzztime ends while the fuzzer is still
    # minimizing a new interesting (not failing) input, Go reports "context
    # deadline exceeded" as a failure. A real failure writes its input under
    # testdata/fuzz and says so; only that, or a second deadline error, fails.
    for attempt in 1 2; do
      out=$(go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" -fuzzminimizetime 0 "$pkg" 2>&1) && { echo "$out" | tail -1; break; }
      echo "$out"
      if [ "$attempt" = 1 ] && echo "$out" | grep -q "context deadline exceeded" && ! echo "$out" | grep -q "Failing input written"; then
        echo "fuzz: $fn stopped on Go's deadline artifact with no failing input; running it again"
        continue
      fi
      exit 1
    done
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' engine cmd plugins 2>/dev/null | sort)
echo "fuzz: $found targets ran"
