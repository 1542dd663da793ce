package docutil

import (
	"errors"
	"strings"
	"testing"

	"stride/engine/store"
)

// checkErr fails t unless err is nil when ok, and wraps store.ErrInvalid
// otherwise.
func checkErr(t *testing.T, what string, err error, ok bool) {
	t.Helper()
	switch {
	case ok && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case !ok && !errors.Is(err, store.ErrInvalid):
		t.Errorf("%s: error %v, want store.ErrInvalid", what, err)
	}
}

func TestNames(t *testing.T) {
	cases := []struct {
		check func(string) error
		name  string
		in    string
		ok    bool
	}{
		{CheckDBName, "db", "system", true},
		{CheckDBName, "db", "t_1", true},
		{CheckDBName, "db", "", false},
		{CheckDBName, "db", "Tenant", false},
		{CheckDBName, "db", "1t", false},
		{CheckDBName, "db", "a-b", false},
		{CheckDBName, "db", strings.Repeat("a", 40), true},
		{CheckDBName, "db", strings.Repeat("a", 41), false},
		{CheckColl, "coll", "deals", true},
		{CheckColl, "coll", "Deal_2", true},
		{CheckColl, "coll", "", false},
		{CheckColl, "coll", "_stride", false},
		{CheckColl, "coll", "a.b", false},
		{CheckColl, "coll", "a:b", false},
		{CheckColl, "coll", strings.Repeat("a", 64), true},
		{CheckColl, "coll", strings.Repeat("a", 65), false},
	}
	for _, tc := range cases {
		checkErr(t, tc.name+" "+tc.in, tc.check(tc.in), tc.ok)
	}
}

func TestCheckPath(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"a", true},
		{"a.b.c", true},
		{"ext.crmId", true},
		{"中文.x", true},
		{"_id", true}, // a path like any other here; CheckField knows it is reserved
		{"a$", true},
		{"", false},
		{".", false},
		{"a.", false},
		{".a", false},
		{"a..b", false},
		{"$a", false},
		{"a.$b", false},
		{`a"b`, false},
		{"a'b", false},
		{`a\b`, false},
		{"a\x00b", false},
		{"a\nb", false},
		{"a\x7fb", false},
		{strings.Repeat("a", 256), true},
		{strings.Repeat("a", 257), false},
	}
	for _, tc := range cases {
		checkErr(t, "CheckPath("+tc.in+")", CheckPath(tc.in), tc.ok)
	}
}

func TestCheckField(t *testing.T) {
	for _, f := range []string{store.KeyID, store.KeyVersion, "a", "a.b"} {
		checkErr(t, "CheckField("+f+")", CheckField(f), true)
	}
	for _, f := range []string{"", "$x", "a..b", "_id.x.$y"} {
		checkErr(t, "CheckField("+f+")", CheckField(f), false)
	}
	if !IsReserved(store.KeyID) || !IsReserved(store.KeyVersion) || IsReserved("id") || IsReserved("_id.x") {
		t.Error("IsReserved must be true for _id and _v only")
	}
}

func TestCheckKey(t *testing.T) {
	cases := []struct {
		in string
		ok bool
	}{
		{"a", true},
		{"a b", true},
		{`quo"te`, true}, // keys are stored verbatim; only paths are restricted
		{"a$", true},
		{"_id", true}, // PrepareDoc handles the reserved keys before keys are checked
		{"", false},
		{"$a", false},
		{"a.b", false},
		{"a\x00", false},
	}
	for _, tc := range cases {
		checkErr(t, "CheckKey("+tc.in+")", CheckKey(tc.in), tc.ok)
	}
}

func TestCheckIndexes(t *testing.T) {
	ix := func(name string, fields ...string) store.Index { return store.Index{Name: name, Fields: fields} }
	cases := []struct {
		name string
		in   []store.Index
		ok   bool
	}{
		{"none", nil, true},
		{"simple", []store.Index{ix("owner", "owner"), ix("stage_amount", "stage", "amount")}, true},
		{"reserved fields", []store.Index{ix("v", "_v"), ix("id", "_id")}, true},
		{"dotted", []store.Index{ix("ext", "ext.crmId")}, true},
		{"bad name", []store.Index{ix("a.b", "a")}, false},
		{"empty name", []store.Index{ix("", "a")}, false},
		{"duplicate name", []store.Index{ix("a", "a"), ix("a", "b")}, false},
		{"no fields", []store.Index{ix("a")}, false},
		{"bad field", []store.Index{ix("a", "a..b")}, false},
		{"bad field later", []store.Index{ix("a", "a"), ix("b", "b", "$x")}, false},
	}
	for _, tc := range cases {
		checkErr(t, tc.name, CheckIndexes(tc.in), tc.ok)
	}
}
