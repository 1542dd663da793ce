package ids

import (
	"strings"
	"testing"
)

func TestNewSortsByTimeAndIsUnique(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 10000; i++ {
		id := New("r")
		if !strings.HasPrefix(id, "r_") || len(id) != 2+26 {
			t.Fatalf("bad id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
		// Same-millisecond ids may be in any order; the time prefix must not go back.
		if prev != "" && id[2:11] < prev[2:11] {
			t.Fatalf("time prefix went backwards: %s then %s", prev, id)
		}
		prev = id
	}
}

func TestSecretLength(t *testing.T) {
	if a, b := Secret(32), Secret(32); a == b || len(a) < 50 {
		t.Fatalf("weak secrets %q %q", a, b)
	}
}
