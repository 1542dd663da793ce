package docutil

import (
	"encoding/base64"
	"reflect"
	"testing"

	"stride/engine/store"
)

func TestCursorRoundTrip(t *testing.T) {
	where := []store.Cond{{Field: "owner", Op: store.Eq, Value: "u1"}}
	last := store.Doc{
		"_id": "d9", "_v": int64(3), "n": int64(7), "f": 2.5, "s": "x<&>", "b": true,
		"o": map[string]any{"k": []any{int64(1), "y"}}, "deep": map[string]any{"x": int64(4)},
	}
	cases := []struct {
		name string
		sort []store.SortKey
		keys []any
	}{
		{"no sort", nil, nil},
		{"one key", []store.SortKey{{Field: "n"}}, []any{int64(7)}},
		{"keys of every type", []store.SortKey{{Field: "f", Desc: true}, {Field: "s"}, {Field: "b"}, {Field: "o"}},
			[]any{2.5, "x<&>", true, map[string]any{"k": []any{int64(1), "y"}}}},
		{"missing and dotted", []store.SortKey{{Field: "missing"}, {Field: "deep.x"}}, []any{nil, int64(4)}},
		{"version", []store.SortKey{{Field: "_v", Desc: true}}, []any{int64(3)}},
		{"stops at _id", []store.SortKey{{Field: "n"}, {Field: "_id", Desc: true}, {Field: "s"}}, []any{int64(7)}},
	}
	for _, tc := range cases {
		q := store.Query{Where: where, Sort: tc.sort, Limit: 10}
		next, err := EncodeCursor(q, last)
		if err != nil {
			t.Fatalf("%s: EncodeCursor: %v", tc.name, err)
		}
		q.After = next
		q.Limit = 99 // the limit is not part of the fingerprint
		c, err := DecodeCursor(q)
		if err != nil {
			t.Fatalf("%s: DecodeCursor: %v", tc.name, err)
		}
		if c.ID != "d9" || !reflect.DeepEqual(c.Keys, tc.keys) {
			t.Errorf("%s: decoded %+v, want id d9 and keys %#v", tc.name, c, tc.keys)
		}
	}
}

func TestDecodeCursor(t *testing.T) {
	q := store.Query{Sort: []store.SortKey{{Field: "n"}}, Limit: 10}
	good, err := EncodeCursor(q, store.Doc{"_id": "a", "n": int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := DecodeCursor(q); c != nil || err != nil {
		t.Errorf("DecodeCursor without After = %+v, %v; want nil, nil", c, err)
	}
	raw := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	fp := fingerprint(q)
	after := func(q store.Query, a string) store.Query { q.After = a; return q }
	bad := []struct {
		name string
		q    store.Query
	}{
		{"not base64", after(q, "!!!")},
		{"padded base64", after(q, good+"==")},
		{"not JSON", after(q, raw("{"))},
		{"trailing data", after(q, raw(`{"q":"`+fp+`","k":[1],"i":"a"} {}`))},
		{"not an object", after(q, raw(`[1]`))},
		{"no id", after(q, raw(`{"q":"`+fp+`","k":[1]}`))},
		{"empty id", after(q, raw(`{"q":"`+fp+`","k":[1],"i":""}`))},
		{"too few keys", after(q, raw(`{"q":"`+fp+`","i":"a"}`))},
		{"too many keys", after(q, raw(`{"q":"`+fp+`","k":[1,2],"i":"a"}`))},
		{"bad key object", after(q, raw(`{"q":"`+fp+`","k":[{"$gt":1}],"i":"a"}`))},
		{"number out of range", after(q, raw(`{"q":"`+fp+`","k":[1e400],"i":"a"}`))},
		{"other sort", after(store.Query{Sort: []store.SortKey{{Field: "n", Desc: true}}}, good)},
		{"other where", after(store.Query{Where: []store.Cond{{Field: "n", Op: store.Gt, Value: 0}},
			Sort: q.Sort}, good)},
		{"other value type", after(store.Query{Where: []store.Cond{{Field: "n", Op: store.Eq, Value: "1"}},
			Sort: q.Sort}, mustCursor(t, store.Query{Where: []store.Cond{{Field: "n", Op: store.Eq, Value: 1}},
			Sort: q.Sort}))},
	}
	for _, tc := range bad {
		c, err := DecodeCursor(tc.q)
		if err == nil {
			t.Errorf("%s: DecodeCursor = %+v, want an error", tc.name, c)
			continue
		}
		checkErr(t, tc.name, err, false)
	}
	// A hand-made cursor that matches the query is accepted: numbers come
	// back as int64 or float64.
	c, err := DecodeCursor(after(q, raw(` {"q":"`+fp+`","k":[2.0],"i":"b"} `)))
	if err != nil || c.ID != "b" || !reflect.DeepEqual(c.Keys, []any{2.0}) {
		t.Errorf("hand-made cursor: %+v, %v", c, err)
	}
}

func mustCursor(t *testing.T, q store.Query) string {
	t.Helper()
	s, err := EncodeCursor(q, store.Doc{"_id": "a", "n": int64(1)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewPage(t *testing.T) {
	docs := func(ids ...string) []store.Doc {
		out := make([]store.Doc, len(ids))
		for i, id := range ids {
			out[i] = store.Doc{"_id": id}
		}
		return out
	}
	cases := []struct {
		name     string
		limit    int
		in       []store.Doc
		wantIDs  []string
		wantNext bool
	}{
		{"no limit", 0, docs("a", "b", "c"), []string{"a", "b", "c"}, false},
		{"empty", 2, docs(), []string{}, false},
		{"under limit", 2, docs("a"), []string{"a"}, false},
		{"exactly limit", 2, docs("a", "b"), []string{"a", "b"}, false},
		{"one more", 2, docs("a", "b", "c"), []string{"a", "b"}, true},
	}
	for _, tc := range cases {
		q := store.Query{Limit: tc.limit}
		p, err := NewPage(q, tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ids := []string{}
		for _, d := range p.Docs {
			ids = append(ids, store.ID(d))
		}
		if !reflect.DeepEqual(ids, tc.wantIDs) || (p.Next != "") != tc.wantNext {
			t.Errorf("%s: page %v next %q; want %v, next %t", tc.name, ids, p.Next, tc.wantIDs, tc.wantNext)
		}
		if p.Next != "" {
			q.After = p.Next
			c, err := DecodeCursor(q)
			if err != nil || c.ID != tc.wantIDs[len(tc.wantIDs)-1] {
				t.Errorf("%s: next cursor %+v, %v; want one after %q", tc.name, c, err, tc.wantIDs[len(tc.wantIDs)-1])
			}
		}
	}
}
