package storetest

import (
	"errors"
	"fmt"
	"testing"

	"stride/engine/store"
)

// condDocs is the data set of the condition tests: strings (ASCII and
// Chinese), int64 (one beyond 2^53), float64, bools, nested objects, explicit
// nulls, missing fields and a string that looks like a number.
func condDocs() []store.Doc {
	return []store.Doc{
		{"_id": "d01", "s": "apple", "n": int64(1), "f": 1.5, "b": true, "nested": map[string]any{"k": "a", "n": int64(10)}, "opt": "x"},
		{"_id": "d02", "s": "banana", "n": int64(2), "f": 2.5, "b": false, "nested": map[string]any{"k": "b", "n": int64(20)}, "opt": nil},
		{"_id": "d03", "s": "cherry", "n": int64(3), "f": -0.5, "b": true, "nested": map[string]any{"k": "a", "n": int64(30)}},
		{"_id": "d04", "s": "date", "n": int64(9007199254740993), "f": 1e-7, "nested": map[string]any{"k": "c"}},
		{"_id": "d05", "s": "eggplant", "n": int64(-5), "f": 2.0, "b": false},
		{"_id": "d06", "s": "苹果", "n": int64(0), "f": 0.0},
		{"_id": "d07", "ns": "3"},
	}
}

func c(field string, op store.Op, v any) store.Cond {
	return store.Cond{Field: field, Op: op, Value: v}
}

func testFindConditions(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	mustDeclare(t, db, store.Collection{Name: "c", Indexes: []store.Index{
		{Name: "s", Fields: []string{"s"}},
		{Name: "n", Fields: []string{"n"}},
		{Name: "b", Fields: []string{"b"}},
		{Name: "nested_k", Fields: []string{"nested.k"}},
	}})
	// "u" is the same data in an undeclared-index collection: conditions
	// must not depend on whether an index serves them.
	for _, d := range condDocs() {
		mustInsert(t, db, "c", d)
		mustInsert(t, db, "u", d)
	}
	all := []string{"d01", "d02", "d03", "d04", "d05", "d06", "d07"}
	cases := []struct {
		name  string
		where []store.Cond
		want  []string
	}{
		{"no conditions", nil, all},
		{"eq string", []store.Cond{c("s", store.Eq, "banana")}, []string{"d02"}},
		{"eq chinese", []store.Cond{c("s", store.Eq, "苹果")}, []string{"d06"}},
		{"eq int", []store.Cond{c("n", store.Eq, int64(3))}, []string{"d03"}},
		{"eq int as int", []store.Cond{c("n", store.Eq, 3)}, []string{"d03"}},
		{"eq int as float", []store.Cond{c("n", store.Eq, 3.0)}, []string{"d03"}},
		{"eq beyond 2^53", []store.Cond{c("n", store.Eq, int64(9007199254740993))}, []string{"d04"}},
		{"eq beyond 2^53 neighbour", []store.Cond{c("n", store.Eq, int64(9007199254740992))}, nil},
		{"eq float", []store.Cond{c("f", store.Eq, 2.5)}, []string{"d02"}},
		{"eq integral float as int", []store.Cond{c("f", store.Eq, 2)}, []string{"d05"}},
		{"eq true", []store.Cond{c("b", store.Eq, true)}, []string{"d01", "d03"}},
		{"eq false", []store.Cond{c("b", store.Eq, false)}, []string{"d02", "d05"}},
		{"eq true is not 1", []store.Cond{c("n", store.Eq, true)}, nil},
		{"eq 1 is not true", []store.Cond{c("b", store.Eq, 1)}, nil},
		{"eq string is not number", []store.Cond{c("ns", store.Eq, 3)}, nil},
		{"eq number-like string", []store.Cond{c("ns", store.Eq, "3")}, []string{"d07"}},
		{"eq null matches null and missing", []store.Cond{c("opt", store.Eq, nil)}, []string{"d02", "d03", "d04", "d05", "d06", "d07"}},
		{"eq missing field", []store.Cond{c("nosuch", store.Eq, "x")}, nil},
		{"ne string includes missing", []store.Cond{c("s", store.Ne, "apple")}, []string{"d02", "d03", "d04", "d05", "d06", "d07"}},
		{"ne int", []store.Cond{c("n", store.Ne, 2)}, []string{"d01", "d03", "d04", "d05", "d06", "d07"}},
		{"ne true", []store.Cond{c("b", store.Ne, true)}, []string{"d02", "d04", "d05", "d06", "d07"}},
		{"ne null", []store.Cond{c("opt", store.Ne, nil)}, []string{"d01"}},
		{"ne missing field", []store.Cond{c("nosuch", store.Ne, "x")}, all},
		{"in strings", []store.Cond{c("s", store.In, []any{"apple", "cherry", "zzz"})}, []string{"d01", "d03"}},
		{"in typed slice", []store.Cond{c("s", store.In, []string{"date", "苹果"})}, []string{"d04", "d06"}},
		{"in ints", []store.Cond{c("n", store.In, []any{1, int64(2), int64(9007199254740993)})}, []string{"d01", "d02", "d04"}},
		{"in mixed types", []store.Cond{c("n", store.In, []any{"1", 3.0, -5})}, []string{"d03", "d05"}},
		{"in with null", []store.Cond{c("opt", store.In, []any{nil, "x"})}, all},
		{"in bools", []store.Cond{c("b", store.In, []any{false})}, []string{"d02", "d05"}},
		{"in empty", []store.Cond{c("s", store.In, []any{})}, nil},
		{"in _id", []store.Cond{c("_id", store.In, []any{"d05", "d01", "zz"})}, []string{"d01", "d05"}},
		{"gt int", []store.Cond{c("n", store.Gt, 1)}, []string{"d02", "d03", "d04"}},
		{"gte int", []store.Cond{c("n", store.Gte, int64(1))}, []string{"d01", "d02", "d03", "d04"}},
		{"lt int", []store.Cond{c("n", store.Lt, 1)}, []string{"d05", "d06"}},
		{"lte int", []store.Cond{c("n", store.Lte, 0)}, []string{"d05", "d06"}},
		{"gt float on ints", []store.Cond{c("n", store.Gt, 2.5)}, []string{"d03", "d04"}},
		{"lte float", []store.Cond{c("f", store.Lte, 1.5)}, []string{"d01", "d03", "d04", "d06"}},
		{"gt tiny float", []store.Cond{c("f", store.Gt, 0.0)}, []string{"d01", "d02", "d04", "d05"}},
		{"range", []store.Cond{c("n", store.Gte, 1), c("n", store.Lt, 3)}, []string{"d01", "d02"}},
		{"range large", []store.Cond{c("n", store.Gt, int64(9007199254740992))}, []string{"d04"}},
		{"string gt", []store.Cond{c("s", store.Gt, "banana")}, []string{"d03", "d04", "d05", "d06"}},
		{"string lt", []store.Cond{c("s", store.Lt, "c")}, []string{"d01", "d02"}},
		{"string range", []store.Cond{c("s", store.Gte, "b"), c("s", store.Lt, "d")}, []string{"d02", "d03"}},
		{"numeric range skips strings", []store.Cond{c("ns", store.Gt, 0)}, nil},
		{"numeric lt skips strings", []store.Cond{c("ns", store.Lt, 100)}, nil},
		{"string range skips numbers", []store.Cond{c("n", store.Gte, "")}, nil},
		{"string lt skips numbers", []store.Cond{c("n", store.Lt, "zzz")}, nil},
		{"string range on number-like string", []store.Cond{c("ns", store.Gte, "0")}, []string{"d07"}},
		{"_id range", []store.Cond{c("_id", store.Gt, "d05")}, []string{"d06", "d07"}},
		{"_v eq", []store.Cond{c("_v", store.Eq, 1)}, all},
		{"dotted eq", []store.Cond{c("nested.k", store.Eq, "a")}, []string{"d01", "d03"}},
		{"dotted gt", []store.Cond{c("nested.n", store.Gt, 15)}, []string{"d02", "d03"}},
		{"dotted in", []store.Cond{c("nested.k", store.In, []any{"b", "c"})}, []string{"d02", "d04"}},
		{"dotted ne", []store.Cond{c("nested.k", store.Ne, "a")}, []string{"d02", "d04", "d05", "d06", "d07"}},
		{"dotted exists", []store.Cond{c("nested.n", store.Exists, true)}, []string{"d01", "d02", "d03"}},
		{"dotted not exists", []store.Cond{c("nested.n", store.Exists, false)}, []string{"d04", "d05", "d06", "d07"}},
		{"dotted through scalar", []store.Cond{c("s.x", store.Exists, true)}, nil},
		{"exists", []store.Cond{c("b", store.Exists, true)}, []string{"d01", "d02", "d03", "d05"}},
		{"exists false", []store.Cond{c("b", store.Exists, false)}, []string{"d04", "d06", "d07"}},
		{"null is not existing", []store.Cond{c("opt", store.Exists, true)}, []string{"d01"}},
		{"null counts as absent", []store.Cond{c("opt", store.Exists, false)}, []string{"d02", "d03", "d04", "d05", "d06", "d07"}},
		{"object exists", []store.Cond{c("nested", store.Exists, true)}, []string{"d01", "d02", "d03", "d04"}},
		{"and of several fields", []store.Cond{c("b", store.Eq, true), c("nested.k", store.Eq, "a"), c("n", store.Gt, 1)}, []string{"d03"}},
		{"contradiction", []store.Cond{c("s", store.Eq, "apple"), c("s", store.Eq, "banana")}, nil},
	}
	for _, coll := range []string{"c", "u"} {
		for _, tc := range cases {
			t.Run(coll+"/"+tc.name, func(t *testing.T) {
				q := store.Query{Where: tc.where}
				p, err := db.Find(ctx, coll, q)
				if err != nil {
					t.Fatalf("Find: %v", err)
				}
				if got := ids(p.Docs); !equalStrings(got, tc.want) {
					t.Errorf("Find = %v, want %v", got, tc.want)
				}
				if p.Next != "" {
					t.Errorf("Find without limit returned a cursor")
				}
				n, err := db.Count(ctx, coll, q)
				if err != nil || n != int64(len(tc.want)) {
					t.Errorf("Count = %d, %v; want %d", n, err, len(tc.want))
				}
			})
		}
	}
}

// sortDocs is the data set of the ordering tests: heavy ties, missing values
// and numbers mixing int64 and float64.
func sortDocs() []store.Doc {
	groups := []string{"北京", "beta", "alpha", "Alpha"}
	var docs []store.Doc
	for i := 0; i < 30; i++ {
		d := store.Doc{
			"_id":    fmt.Sprintf("s%02d", (i*7)%30), // ids not in insertion order
			"g":      groups[i%len(groups)],
			"b":      i%3 == 0,
			"nested": map[string]any{"n": int64(i % 5)},
		}
		switch i % 6 {
		case 0: // n missing
		case 1:
			d["n"] = nil
		case 2:
			d["n"] = float64(i%4) + 0.5
		default:
			d["n"] = int64(i % 4)
		}
		if i%10 != 0 {
			d["f"] = float64(i%7) / 4
		}
		docs = append(docs, d)
	}
	return docs
}

var sortCases = []struct {
	name   string
	where  []store.Cond
	keys   []store.SortKey
	paged1 bool // also paginate with limit 1
}{
	{"default _id", nil, nil, false},
	{"_id desc", nil, []store.SortKey{{Field: "_id", Desc: true}}, false},
	{"string asc", nil, []store.SortKey{{Field: "g"}}, false},
	{"string desc", nil, []store.SortKey{{Field: "g", Desc: true}}, false},
	{"number with nulls asc", nil, []store.SortKey{{Field: "n"}}, false},
	{"number with nulls desc", nil, []store.SortKey{{Field: "n", Desc: true}}, true},
	{"float with missing", nil, []store.SortKey{{Field: "f", Desc: true}}, false},
	{"bool", nil, []store.SortKey{{Field: "b"}}, false},
	{"two keys", nil, []store.SortKey{{Field: "g"}, {Field: "n", Desc: true}}, true},
	{"three keys", nil, []store.SortKey{{Field: "b", Desc: true}, {Field: "nested.n"}, {Field: "g", Desc: true}}, true},
	{"dotted desc", nil, []store.SortKey{{Field: "nested.n", Desc: true}}, false},
	{"_id then ignored", nil, []store.SortKey{{Field: "g"}, {Field: "_id", Desc: true}}, false},
	{"with where", []store.Cond{c("g", store.In, []any{"beta", "北京"})}, []store.SortKey{{Field: "n", Desc: true}}, false},
}

func testSort(t *testing.T, s store.Store, _ config) {
	db := mustDB(t, s, "t1")
	mustDeclare(t, db, store.Collection{Name: "c", Indexes: []store.Index{{Name: "g_n", Fields: []string{"g", "n"}}}})
	docs := sortDocs()
	if _, err := db.InsertMany(t.Context(), "c", docs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range sortCases {
		t.Run(tc.name, func(t *testing.T) {
			want := referenceOrder(filter(docs, tc.where), tc.keys)
			got := ids(find(t, db, "c", store.Query{Where: tc.where, Sort: tc.keys}).Docs)
			if !equalStrings(got, want) {
				t.Errorf("order\n got %v\nwant %v", got, want)
			}
		})
	}
}

// filter applies the few conditions the sort cases use (In on a string).
func filter(docs []store.Doc, where []store.Cond) []store.Doc {
	var out []store.Doc
next:
	for _, d := range docs {
		for _, w := range where {
			ok := false
			for _, v := range w.Value.([]any) {
				ok = ok || lookup(d, w.Field) == v
			}
			if !ok {
				continue next
			}
		}
		out = append(out, d)
	}
	return out
}

func testPagination(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	docs := sortDocs()
	if _, err := db.InsertMany(ctx, "c", docs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range sortCases {
		limits := []int{4, 7, 30}
		if tc.paged1 {
			limits = append(limits, 1) // one document per page: every boundary is a cursor
		}
		for _, limit := range limits {
			t.Run(fmt.Sprintf("%s/limit%d", tc.name, limit), func(t *testing.T) {
				want := referenceOrder(filter(docs, tc.where), tc.keys)
				q := store.Query{Where: tc.where, Sort: tc.keys, Limit: limit}
				var got []string
				for page := 0; ; page++ {
					if page > len(docs)+1 {
						t.Fatalf("pagination does not terminate")
					}
					p := find(t, db, "c", q)
					if len(p.Docs) > limit {
						t.Fatalf("page %d has %d docs, limit %d", page, len(p.Docs), limit)
					}
					if p.Next != "" && len(p.Docs) != limit {
						t.Fatalf("page %d has %d docs and a cursor, want full pages before the last", page, len(p.Docs))
					}
					got = append(got, ids(p.Docs)...)
					if p.Next == "" {
						break
					}
					q.After = p.Next
				}
				if !equalStrings(got, want) {
					t.Errorf("pages\n got %v\nwant %v", got, want)
				}
			})
		}
	}

	// A cursor belongs to its query.
	p := find(t, db, "c", store.Query{Sort: []store.SortKey{{Field: "g"}}, Limit: 5})
	if p.Next == "" {
		t.Fatal("no cursor")
	}
	_, err := db.Find(ctx, "c", store.Query{Sort: []store.SortKey{{Field: "n"}}, Limit: 5, After: p.Next})
	wantErr(t, "cursor with another sort", err, store.ErrInvalid)
	_, err = db.Find(ctx, "c", store.Query{Where: []store.Cond{c("b", store.Eq, true)}, Sort: []store.SortKey{{Field: "g"}}, Limit: 5, After: p.Next})
	wantErr(t, "cursor with another where", err, store.ErrInvalid)
	_, err = db.Find(ctx, "c", store.Query{Sort: []store.SortKey{{Field: "g"}}, Limit: 5, After: p.Next[:len(p.Next)/2]})
	wantErr(t, "truncated cursor", err, store.ErrInvalid)

	// Keyset pagination: documents written behind the cursor are skipped,
	// documents ahead of it show up, nothing shifts.
	q := store.Query{Limit: 10}
	first := find(t, db, "c", q)
	mustInsert(t, db, "c", store.Doc{"_id": "s00a"}, store.Doc{"_id": "s99"})
	if err := db.Delete(ctx, "c", ids(first.Docs)[3], 0); err != nil {
		t.Fatal(err)
	}
	q.After = first.Next
	var rest []string
	for {
		p := find(t, db, "c", q)
		rest = append(rest, ids(p.Docs)...)
		if p.Next == "" {
			break
		}
		q.After = p.Next
	}
	if len(rest) != 21 || rest[0] != "s10" || rest[len(rest)-1] != "s99" {
		t.Errorf("pages after concurrent writes = %v", rest)
	}
	// An empty result has no cursor, and a page that ends exactly at the end
	// may or may not have one, but following it yields an empty last page.
	if p := find(t, db, "c", store.Query{Where: []store.Cond{c("g", store.Eq, "none")}, Limit: 3}); len(p.Docs) != 0 || p.Next != "" {
		t.Errorf("empty page = %+v", p)
	}
}

func testScan(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	docs := sortDocs()
	if _, err := db.InsertMany(ctx, "c", docs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range sortCases {
		t.Run(tc.name, func(t *testing.T) {
			want := referenceOrder(filter(docs, tc.where), tc.keys)
			var got []string
			err := db.Scan(ctx, "c", store.Query{Where: tc.where, Sort: tc.keys}, func(d store.Doc) error {
				if store.Version(d) != 1 {
					t.Errorf("scanned doc without version: %v", d)
				}
				got = append(got, store.ID(d))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !equalStrings(got, want) {
				t.Errorf("scan order\n got %v\nwant %v", got, want)
			}
		})
	}
	// Limit caps a scan; After resumes one.
	keys := []store.SortKey{{Field: "g", Desc: true}, {Field: "n"}}
	want := referenceOrder(docs, keys)
	var got []string
	collect := func(d store.Doc) error { got = append(got, store.ID(d)); return nil }
	if err := db.Scan(ctx, "c", store.Query{Sort: keys, Limit: 5}, collect); err != nil {
		t.Fatal(err)
	}
	if !equalStrings(got, want[:5]) {
		t.Errorf("Scan with limit = %v, want %v", got, want[:5])
	}
	p := find(t, db, "c", store.Query{Sort: keys, Limit: 8})
	got = nil
	if err := db.Scan(ctx, "c", store.Query{Sort: keys, After: p.Next}, collect); err != nil {
		t.Fatal(err)
	}
	if !equalStrings(got, want[8:]) {
		t.Errorf("Scan after cursor = %v, want %v", got, want[8:])
	}
	// An error from fn stops the scan and is returned as is.
	stop := errors.New("stop here")
	calls := 0
	err := db.Scan(ctx, "c", store.Query{}, func(store.Doc) error {
		calls++
		if calls == 3 {
			return fmt.Errorf("wrapped: %w", stop)
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 3 {
		t.Errorf("Scan stopped with %v after %d calls, want %v after 3", err, calls, stop)
	}
	// fn may use the database, reads and writes, while the scan runs.
	seen := 0
	err = db.Scan(ctx, "c", store.Query{Sort: []store.SortKey{{Field: "g"}}}, func(d store.Doc) error {
		seen++
		if _, err := db.Get(ctx, "c", store.ID(d)); err != nil {
			return err
		}
		if _, err := db.Find(ctx, "c", store.Query{Where: []store.Cond{c("g", store.Eq, d["g"])}, Limit: 2}); err != nil {
			return err
		}
		_, err := db.Inc(ctx, "counts", "scan", map[string]int64{"n": 1}, nil)
		return err
	})
	if err != nil || seen != len(docs) {
		t.Fatalf("Scan with nested calls: %v after %d docs", err, seen)
	}
	if d := mustGet(t, db, "counts", "scan"); store.Int(d["n"]) != int64(len(docs)) {
		t.Errorf("writes from a scan callback: n = %v", d["n"])
	}
	// Invalid queries are rejected before fn runs.
	err = db.Scan(ctx, "c", store.Query{After: "bogus"}, func(store.Doc) error { return nil })
	wantErr(t, "Scan bad cursor", err, store.ErrInvalid)
}

func testCount(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	docs := sortDocs()
	if _, err := db.InsertMany(ctx, "c", docs); err != nil {
		t.Fatal(err)
	}
	p := find(t, db, "c", store.Query{Limit: 3})
	cases := []struct {
		name string
		q    store.Query
		want int64
	}{
		{"all", store.Query{}, 30},
		{"limit and after ignored", store.Query{Limit: 3, After: p.Next}, 30},
		{"where", store.Query{Where: []store.Cond{c("g", store.Eq, "beta")}}, int64(len(filter(docs, []store.Cond{c("g", store.In, []any{"beta"})})))},
		{"exists", store.Query{Where: []store.Cond{c("n", store.Exists, true)}}, 20},
		{"none", store.Query{Where: []store.Cond{c("g", store.Eq, "none")}}, 0},
	}
	for _, tc := range cases {
		if n, err := db.Count(ctx, "c", tc.q); err != nil || n != tc.want {
			t.Errorf("Count %s = %d, %v; want %d", tc.name, n, err, tc.want)
		}
	}
}
