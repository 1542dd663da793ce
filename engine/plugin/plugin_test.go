package plugin

import (
	"context"
	"strings"
	"testing"
)

type fake struct {
	id   string
	Name string `json:"name"`
}

func (f *fake) StrideModule() ModuleInfo {
	return ModuleInfo{ID: f.id, Schema: []byte(`{"type":"object","properties":{"name":{"type":"string","minLength":2}}}`),
		New: func() Module { return &fake{id: f.id} }}
}
func (f *fake) Send(context.Context, Message) error { return nil }

var _ Notifier = (*fake)(nil)

func mustPanic(t *testing.T, want string, fn func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(r.(string), want) {
			t.Fatalf("want a panic with %q, got %v", want, r)
		}
	}()
	fn()
}

func TestRegister(t *testing.T) {
	Register(&fake{id: "notify.fake_test"})
	defer unregister("notify.fake_test")
	mustPanic(t, "registered twice", func() { Register(&fake{id: "notify.fake_test"}) })
	mustPanic(t, "ID missing", func() { Register(&fake{id: ""}) })
	mustPanic(t, "not <namespace>.<name>", func() { Register(&fake{id: "Fake"}) })
	if _, ok := Lookup("notify.fake_test"); !ok {
		t.Fatal("not found")
	}
	if ms := Modules(NSNotify); len(ms) == 0 || ms[0].Namespace() != "notify" {
		t.Fatalf("modules %v", ms)
	}
	m, err := Instantiate("notify.fake_test", map[string]any{"name": "ok"}, Context{})
	if err != nil || m.(*fake).Name != "ok" {
		t.Fatalf("instantiate: %v", err)
	}
	_, err = Instantiate("notify.fake_test", map[string]any{"name": "x"}, Context{})
	if ce, ok := err.(*ConfigError); !ok || ce.Problems[0].Pointer != "/name" || ce.Problems[0].Code != "minLength" {
		t.Fatalf("want /name minLength, got %v", err)
	}
	if _, err := Instantiate("notify.nope", nil, Context{}); err == nil {
		t.Fatal("unknown module instantiated")
	}
}

func TestSignature(t *testing.T) {
	sig := Sign("secret", 1700000000, []byte(`{"a":1}`))
	if !VerifySignature("secret", 1700000000, []byte(`{"a":1}`), sig) || VerifySignature("secret", 1700000001, []byte(`{"a":1}`), sig) ||
		VerifySignature("other", 1700000000, []byte(`{"a":1}`), sig) {
		t.Fatal("signature check wrong")
	}
}
