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
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "$pkg"
  done
done < <(grep -rlE '^func Fuzz' --include='*_test.go' engine cmd plugins 2>/dev/null | sort)
echo "fuzz: $found targets ran"
