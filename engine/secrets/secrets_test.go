package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func TestSealOpen(t *testing.T) {
	k, err := New(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	const ctx = "acme/webhook/wh_1/signingKey"
	for _, pt := range []string{"", "s3cr3t", strings.Repeat("机器人令牌", 200)} {
		a, err := k.Seal([]byte(pt), ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := k.Seal([]byte(pt), ctx)
		if a == b {
			t.Fatal("two seals of one value are equal: nonce reuse")
		}
		if !IsSealed(a) || !strings.HasPrefix(a, "enc:v1:"+k.PrimaryID()+":") {
			t.Fatalf("format %q", a)
		}
		if pt != "" && strings.Contains(a, pt) {
			t.Fatal("plaintext visible in the sealed value")
		}
		got, err := k.Open(a, ctx)
		if err != nil || string(got) != pt {
			t.Fatalf("open: %q %v", got, err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	k, _ := New(testKey(1))
	other, _ := New(testKey(2))
	s, _ := k.Seal([]byte("token"), "acme/robot/r1/token")
	// flip one bit of the ciphertext
	i := strings.LastIndex(s, ":") + 1
	blob, _ := base64.RawURLEncoding.DecodeString(s[i:])
	blob[len(blob)-1] ^= 1
	flipped := s[:i] + base64.RawURLEncoding.EncodeToString(blob)
	cases := []struct {
		name, sealed, ctx string
		k                 *Keyring
		want              error
	}{
		{"another tenant's field", s, "globex/robot/r1/token", k, ErrCorrupt},
		{"altered", flipped, "acme/robot/r1/token", k, ErrCorrupt},
		{"another key", s, "acme/robot/r1/token", other, ErrUnknownKey},
		{"plain text", "token", "acme/robot/r1/token", k, ErrCorrupt},
		{"truncated", s[:len(s)-30], "acme/robot/r1/token", k, ErrCorrupt},
		{"no id", "enc:v1:abc", "x", k, ErrCorrupt},
		{"bad base64", "enc:v1:" + k.PrimaryID() + ":***", "x", k, ErrCorrupt},
		{"short", "enc:v1:" + k.PrimaryID() + ":AAAA", "x", k, ErrCorrupt},
	}
	for _, c := range cases {
		if _, err := c.k.Open(c.sealed, c.ctx); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestRotation: after rotation the old values open, Rewrap moves them to the
// new key, and once the old key is dropped only rewrapped values open.
func TestRotation(t *testing.T) {
	old, _ := New(testKey(1))
	s1, _ := old.Seal([]byte("hook-key"), "c")
	rot, err := New(testKey(2), testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rot.Open(s1, "c"); err != nil || string(got) != "hook-key" {
		t.Fatalf("old value after rotation: %q %v", got, err)
	}
	s2, changed, err := rot.Rewrap(s1, "c")
	if err != nil || !changed || !strings.Contains(s2, rot.PrimaryID()) {
		t.Fatalf("rewrap: %q %v %v", s2, changed, err)
	}
	if s3, changed, _ := rot.Rewrap(s2, "c"); changed || s3 != s2 {
		t.Fatal("rewrapping a current value changed it")
	}
	if _, _, err := rot.Rewrap(s1, "wrong"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("rewrap with the wrong context: %v", err)
	}
	only, _ := New(testKey(2))
	if _, err := only.Open(s1, "c"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old value without the old key: %v", err)
	}
	if got, err := only.Open(s2, "c"); err != nil || string(got) != "hook-key" {
		t.Fatalf("rewrapped value: %q %v", got, err)
	}
}

func TestKeys(t *testing.T) {
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("AES-128 key accepted")
	}
	if _, err := New(testKey(1), []byte("short")); err == nil {
		t.Fatal("short previous key accepted")
	}
	if KeyID(testKey(1)) == KeyID(testKey(2)) || len(KeyID(testKey(1))) != 16 {
		t.Fatal("key ids")
	}
	g, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if b, err := ParseKey(g); err != nil || len(b) != KeySize {
		t.Fatalf("generated key: %v", err)
	}
	for _, s := range []string{base64.RawURLEncoding.EncodeToString(testKey(7)), " " + base64.StdEncoding.EncodeToString(testKey(7)) + "\n"} {
		if b, err := ParseKey(s); err != nil || !bytes.Equal(b, testKey(7)) {
			t.Errorf("ParseKey(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(testKey(7)[:31])} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvKey, "")
	if _, err := FromEnv(); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
	t.Setenv(EnvKey, "short")
	if _, err := FromEnv(); err == nil {
		t.Fatal("bad key accepted")
	}
	t.Setenv(EnvKey, base64.StdEncoding.EncodeToString(testKey(2)))
	t.Setenv(EnvPrevious, base64.StdEncoding.EncodeToString(testKey(1))+", ")
	k, err := FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	old, _ := New(testKey(1))
	s, _ := old.Seal([]byte("x"), "c")
	if _, err := k.Open(s, "c"); err != nil || k.PrimaryID() != KeyID(testKey(2)) {
		t.Fatalf("env keyring: %v", err)
	}
	t.Setenv(EnvPrevious, "nope")
	if _, err := FromEnv(); err == nil {
		t.Fatal("bad previous key accepted")
	}
}

func TestRedacted(t *testing.T) {
	r := NewRedacted("robot-token-123")
	if r.Reveal() != "robot-token-123" || r.IsZero() || !NewRedacted("").IsZero() {
		t.Fatal("reveal")
	}
	j, _ := json.Marshal(map[string]any{"token": r, "nested": struct{ T Redacted }{r}})
	var log bytes.Buffer
	slog.New(slog.NewJSONHandler(&log, nil)).Info("x", "token", r)
	outs := []string{string(j), log.String(), fmt.Sprint(r), fmt.Sprintf("%v %+v %#v %s %q %x %d", r, r, r, r, r, r, r),
		fmt.Sprintf("%+v", struct{ T Redacted }{r})}
	for _, o := range outs {
		if strings.Contains(o, "robot-token") || strings.Contains(o, fmt.Sprintf("%x", "robot-token")) {
			t.Errorf("secret shown: %s", o)
		}
		if !strings.Contains(o, "[redacted]") {
			t.Errorf("no marker: %s", o)
		}
	}
}
