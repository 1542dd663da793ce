package auth

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash format %q", h)
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("same salt twice")
	}
	cases := []struct {
		hash, pw string
		ok       bool
		err      bool
	}{
		{h, "correct horse", true, false},
		{h, "correct horsE", false, false},
		{h, "", false, false},
		{"$bcrypt$x", "x", false, true},
		{"$argon2id$v=19$m=19456,t=2,p=1$!!!$abc", "x", false, true},
		{"$argon2id$v=18$m=19456,t=2,p=1$c2FsdA$abc", "x", false, true},
	}
	for _, c := range cases {
		ok, err := CheckPassword(c.hash, c.pw)
		if ok != c.ok || (err != nil) != c.err {
			t.Errorf("CheckPassword(%q, %q) = %v, %v", c.hash, c.pw, ok, err)
		}
	}
}

func TestValidatePassword(t *testing.T) {
	for pw, ok := range map[string]bool{"short": false, "12345678": true, "八个汉字的密码啊": true, strings.Repeat("x", 257): false} {
		if (ValidatePassword(pw) == nil) != ok {
			t.Errorf("ValidatePassword(%q) ok=%v", pw, !ok)
		}
	}
}

func TestSubtree(t *testing.T) {
	teams := []Team{{ID: "cn"}, {ID: "east", ParentID: "cn"}, {ID: "sh", ParentID: "east"}, {ID: "hz", ParentID: "east"}, {ID: "west", ParentID: "cn"}, {ID: "cd", ParentID: "west"}}
	cases := []struct {
		roots []string
		want  []string
	}{
		{[]string{"east"}, []string{"east", "sh", "hz"}},
		{[]string{"cn"}, []string{"cn", "east", "sh", "hz", "west", "cd"}},
		{[]string{"sh", "east"}, []string{"sh", "east", "hz"}},
		{[]string{"nope"}, []string{"nope"}},
		{nil, nil},
	}
	for _, c := range cases {
		got := Subtree(teams, c.roots)
		if !slices.Equal(got, c.want) {
			t.Errorf("Subtree(%v) = %v, want %v", c.roots, got, c.want)
		}
	}
}

func TestMembershipDates(t *testing.T) {
	m := Membership{From: "2026-01-01", To: "2026-07-01"}
	for day, want := range map[string]bool{"2025-12-31": false, "2026-01-01": true, "2026-06-30": true, "2026-07-01": false} {
		if m.activeOn(day) != want {
			t.Errorf("activeOn(%s) = %v", day, !want)
		}
	}
	open := Membership{From: "2026-07-01"}
	cases := []struct {
		a, b Membership
		want bool
	}{
		{m, open, false}, // touching at 07-01: the first ends where the second starts
		{m, Membership{From: "2026-06-30"}, true},
		{open, Membership{From: "2030-01-01"}, true},
		{m, Membership{From: "2025-01-01", To: "2026-01-01"}, false},
	}
	for _, c := range cases {
		if overlaps(c.a, c.b) != c.want || overlaps(c.b, c.a) != c.want {
			t.Errorf("overlaps(%v, %v) != %v", c.a, c.b, c.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter()
	allowed := 0
	for i := 0; i < 20; i++ {
		if _, ok := l.allow("ip:1.2.3.4", "user:demo/admin"); ok {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("per-user burst allowed %d attempts, want 5", allowed)
	}
	// Another user from the same address still has attempts left.
	if _, ok := l.allow("ip:1.2.3.4", "user:demo/other"); !ok {
		t.Fatal("one user's lockout blocked another")
	}
	wait, ok := l.allow("ip:1.2.3.4", "user:demo/admin")
	if ok || wait <= 0 {
		t.Fatalf("limited attempt: ok=%v wait=%v", ok, wait)
	}
}

func TestVisibilityAllows(t *testing.T) {
	if !(Visibility{All: true}).Allows("anyone") {
		t.Fatal("All must allow")
	}
	v := Visibility{Owners: []string{"u1", "u2"}}
	if !v.Allows("u2") || v.Allows("u3") || v.Allows("") {
		t.Fatal("owner list")
	}
}

func TestLimiterPerAddress(t *testing.T) {
	l := newLimiter()
	allowed := 0
	for i := 0; i < 100; i++ { // a different username each time: only the address limit applies
		if _, ok := l.allow("ip:5.6.7.8", "user:demo/u"+strings.Repeat("x", i%50)+string(rune('a'+i%26))); ok {
			allowed++
		}
	}
	if allowed < 30 || allowed > 31 {
		t.Fatalf("per-address burst allowed %d attempts, want 30", allowed)
	}
	if _, ok := l.allow("ip:9.9.9.9", "user:demo/fresh"); !ok {
		t.Fatal("another address was limited")
	}
}

func TestTokenLimiter(t *testing.T) {
	l := newTokenLimiter()
	n := 0
	for i := 0; i < 50; i++ {
		if _, ok := l.allow("ip:1.1.1.1", "user:demo/u1"); ok {
			n++
		}
	}
	if n != 30 {
		t.Fatalf("token creation burst %d, want 30", n)
	}
	wait, ok := l.allow("ip:1.1.1.1", "user:demo/u1")
	if ok || wait <= 0 || wait > 10*time.Second {
		t.Fatalf("limited: ok=%v wait=%v", ok, wait)
	}
}
