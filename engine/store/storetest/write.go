package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"stride/engine/store"
)

func testInc(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	mustDeclare(t, db, store.Collection{Name: "rollups", Indexes: []store.Index{{Name: "owner", Fields: []string{"owner"}}}})

	// Upsert: setOnInsert's fields, then the deltas, at version 1.
	got, err := db.Inc(ctx, "rollups", "m1|u1|2024-05",
		map[string]int64{"sum": 500, "count": 1, "days.d07.sum": 500, "days.d07.count": 1},
		store.Doc{"owner": "u1", "metric": "m1", "meta": map[string]any{"grain": "month"}})
	if err != nil {
		t.Fatalf("Inc (insert): %v", err)
	}
	want := store.Doc{"_id": "m1|u1|2024-05", "owner": "u1", "metric": "m1", "meta": map[string]any{"grain": "month"},
		"sum": 500, "count": 1, "days": map[string]any{"d07": map[string]any{"sum": 500, "count": 1}}}
	checkDoc(t, "Inc (insert) result", want, got)
	if store.Version(got) != 1 {
		t.Errorf("Inc (insert) _v = %v, want 1", got["_v"])
	}
	for k, v := range map[string]any{"sum": got["sum"], "count": got["count"], "_v": got["_v"]} {
		if _, ok := v.(int64); !ok {
			t.Errorf("Inc result %s is %T, want int64", k, v)
		}
	}
	checkDoc(t, "Get after Inc (insert)", want, mustGet(t, db, "rollups", "m1|u1|2024-05"))

	// Update: deltas (negative too) add up, new nested paths appear next to
	// existing ones, setOnInsert is ignored, the version grows by one.
	got, err = db.Inc(ctx, "rollups", "m1|u1|2024-05",
		map[string]int64{"sum": -200, "count": 1, "days.d07.sum": -200, "days.d08.sum": 7},
		store.Doc{"owner": "someone else", "extra": true})
	if err != nil {
		t.Fatalf("Inc (update): %v", err)
	}
	want["sum"], want["count"] = 300, 2
	want["days"] = map[string]any{"d07": map[string]any{"sum": 300, "count": 1}, "d08": map[string]any{"sum": 7}}
	checkDoc(t, "Inc (update) result", want, got)
	if store.Version(got) != 2 {
		t.Errorf("Inc (update) _v = %v, want 2", got["_v"])
	}
	checkDoc(t, "Get after Inc (update)", want, mustGet(t, db, "rollups", "m1|u1|2024-05"))

	// The document is a normal document: findable by its fields and
	// replaceable at the version Inc returned.
	if p := find(t, db, "rollups", store.Query{Where: []store.Cond{c("owner", store.Eq, "u1"), c("days.d08.sum", store.Gte, 7)}}); len(p.Docs) != 1 {
		t.Errorf("Find incremented doc = %v", ids(p.Docs))
	}
	if _, err := db.Replace(ctx, "rollups", store.Doc{"_id": "m1|u1|2024-05", "sum": int64(1)}, 2); err != nil {
		t.Errorf("Replace at Inc's version: %v", err)
	}
	if got, err = db.Inc(ctx, "rollups", "m1|u1|2024-05", map[string]int64{"sum": 1}, nil); err != nil || store.Int(got["sum"]) != 2 || store.Version(got) != 4 {
		t.Errorf("Inc after Replace = %v, %v", got, err)
	}

	// Floats stay floats; large values stay exact.
	mustInsert(t, db, "rollups", store.Doc{"_id": "f", "x": 1.5, "big": int64(9007199254740000)})
	if got, err = db.Inc(ctx, "rollups", "f", map[string]int64{"x": 2, "big": 993}, nil); err != nil {
		t.Fatal(err)
	}
	if store.Float(got["x"]) != 3.5 || got["big"] != int64(9007199254740993) {
		t.Errorf("Inc float/big = %#v, %#v", got["x"], got["big"])
	}

	// setOnInsert keys are paths too.
	got, err = db.Inc(ctx, "rollups", "dotted", map[string]int64{"n.total": 1}, store.Doc{"info.src": "import", "info.tags": []any{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	checkDoc(t, "Inc with dotted setOnInsert", store.Doc{"_id": "dotted",
		"info": map[string]any{"src": "import", "tags": []any{"a"}}, "n": map[string]any{"total": 1}}, got)

	// An empty increment still upserts and bumps the version.
	for v := int64(1); v <= 2; v++ {
		got, err := db.Inc(ctx, "rollups", "touch", nil, store.Doc{"created": "yes"})
		if err != nil || store.Version(got) != v || got["created"] != "yes" {
			t.Errorf("Inc touch #%d = %v, %v", v, got, err)
		}
	}

	// Non-numeric targets are rejected and change nothing.
	mustInsert(t, db, "rollups", store.Doc{"_id": "s", "x": "text", "o": map[string]any{"k": 1}})
	for _, path := range []string{"x", "o", "x.y"} {
		_, err = db.Inc(ctx, "rollups", "s", map[string]int64{path: 1}, nil)
		wantErr(t, "Inc non-numeric "+path, err, store.ErrInvalid)
	}
	if d := mustGet(t, db, "rollups", "s"); store.Version(d) != 1 || d["x"] != "text" {
		t.Errorf("a rejected Inc changed the document: %v", d)
	}
}

func testIncConcurrent(t *testing.T, s store.Store, cfg config) {
	if cfg.skipConcurrency != "" {
		t.Skip(cfg.skipConcurrency)
	}
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				// Everyone races to create the same document, too.
				_, err := db.Inc(ctx, "rollups", "hot", map[string]int64{"n": 1, "cents.total": 3, fmt.Sprintf("by.w%d", w): 1},
					store.Doc{"owner": "u1"})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Inc: %v", err)
	}
	d := mustGet(t, db, "rollups", "hot")
	if store.Int(d["n"]) != workers*each || store.Int(lookup(d, "cents.total")) != 3*workers*each || store.Version(d) != workers*each {
		t.Errorf("after %d concurrent increments: n=%v cents.total=%v _v=%v", workers*each, d["n"], lookup(d, "cents.total"), d["_v"])
	}
	for w := 0; w < workers; w++ {
		if n := store.Int(lookup(d, fmt.Sprintf("by.w%d", w))); n != each {
			t.Errorf("by.w%d = %d, want %d", w, n, each)
		}
	}
}

func testReplaceConcurrent(t *testing.T, s store.Store, cfg config) {
	if cfg.skipConcurrency != "" {
		t.Skip(cfg.skipConcurrency)
	}
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	mustInsert(t, db, "c", store.Doc{"_id": "x", "n": int64(0)})
	// Optimistic concurrency: of writers holding the same version exactly
	// one wins each round.
	for round := int64(1); round <= 5; round++ {
		const writers = 6
		var wins, conflicts int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := db.Replace(ctx, "c", store.Doc{"_id": "x", "n": round, "by": int64(w)}, round)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					t.Errorf("Replace: %v", err)
				}
			}()
		}
		wg.Wait()
		if wins != 1 || conflicts != writers-1 {
			t.Fatalf("round %d: %d wins, %d conflicts; want 1 and %d", round, wins, conflicts, writers-1)
		}
	}
	if d := mustGet(t, db, "c", "x"); store.Version(d) != 6 || store.Int(d["n"]) != 5 {
		t.Errorf("after 5 rounds: %v", d)
	}
}

func testInsertMany(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	mustDeclare(t, db, store.Collection{Name: "c", Indexes: []store.Index{{Name: "code", Fields: []string{"code"}, Unique: true}}})
	if n, err := db.InsertMany(ctx, "c", nil); n != 0 || err != nil {
		t.Errorf("InsertMany(nil) = %d, %v", n, err)
	}
	mustInsert(t, db, "c", store.Doc{"_id": "taken"})
	doc := func(id string) store.Doc { return store.Doc{"_id": id, "code": id} }
	cases := []struct {
		name    string
		docs    []store.Doc
		want    int
		wantErr error
	}{
		{"all fine", []store.Doc{doc("a1"), doc("a2"), doc("a3")}, 3, nil},
		{"duplicate id third", []store.Doc{doc("b1"), doc("b2"), doc("taken"), doc("b4")}, 2, store.ErrDuplicate},
		{"duplicate within batch", []store.Doc{doc("c1"), doc("c1"), doc("c3")}, 1, store.ErrDuplicate},
		{"unique index", []store.Doc{doc("d1"), {"_id": "d2", "code": "a1"}, doc("d3")}, 1, store.ErrDuplicate},
		{"invalid second", []store.Doc{doc("e1"), {"_id": ""}, doc("e3")}, 1, store.ErrInvalid},
		{"first fails", []store.Doc{doc("a1"), doc("f2")}, 0, store.ErrDuplicate},
	}
	for _, tc := range cases {
		existed := map[string]bool{}
		for _, d := range tc.docs {
			if _, err := db.Get(ctx, "c", store.ID(d)); err == nil {
				existed[store.ID(d)] = true
			}
		}
		n, err := db.InsertMany(ctx, "c", tc.docs)
		if n != tc.want || (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
			t.Errorf("InsertMany %s = %d, %v; want %d, %v", tc.name, n, err, tc.want, tc.wantErr)
		}
		inserted := map[string]bool{}
		for _, d := range tc.docs[:tc.want] {
			inserted[store.ID(d)] = true
		}
		for i, d := range tc.docs {
			id := store.ID(d)
			if id == "" || existed[id] || i == tc.want {
				continue
			}
			_, err := db.Get(ctx, "c", id)
			switch {
			case i < tc.want && err != nil:
				t.Errorf("%s: inserted doc %s is missing: %v", tc.name, id, err)
			case i > tc.want && !inserted[id] && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s: doc %s after the failure is present (%v)", tc.name, id, err)
			}
		}
	}
	// A batch larger than any internal chunking, failing late.
	var big []store.Doc
	for i := 0; i < 620; i++ {
		big = append(big, store.Doc{"_id": fmt.Sprintf("g%04d", i), "i": int64(i)})
	}
	big[577] = store.Doc{"_id": "a2"}
	n, err := db.InsertMany(ctx, "c", big)
	if n != 577 || !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("big InsertMany = %d, %v; want 577, ErrDuplicate", n, err)
	}
	if cnt, err := db.Count(ctx, "c", store.Query{Where: []store.Cond{c("i", store.Exists, true)}}); err != nil || cnt != 577 {
		t.Errorf("after big InsertMany: %d docs, %v", cnt, err)
	}
	if d := mustGet(t, db, "c", "g0576"); store.Version(d) != 1 || store.Int(d["i"]) != 576 {
		t.Errorf("InsertMany doc = %v", d)
	}
}

func testNumbers(t *testing.T, s store.Store, _ config) {
	db := mustDB(t, s, "t1")
	ints := map[string]int64{
		"max": math.MaxInt64, "min": math.MinInt64, "big": 9007199254740993, "negbig": -9007199254740993,
		"zero": 0, "cents": 123456789012, "neg": -1,
	}
	floats := map[string]float64{
		"tenth": 0.1, "neg": -2.5, "tiny": 1e-7, "huge": 1e300, "frac": 123456.789, "third": 1.0 / 3, "negtiny": -5e-324,
	}
	doc := store.Doc{"_id": "n", "i32": int32(-7), "int": 8, "u8": uint8(9), "f32": float32(0.5), "whole": 3.0,
		"ints": map[string]any{}, "floats": map[string]any{}, "list": []any{int64(math.MaxInt64), 0.25}}
	for k, v := range ints {
		doc["ints"].(map[string]any)[k] = v
	}
	for k, v := range floats {
		doc["floats"].(map[string]any)[k] = v
	}
	mustInsert(t, db, "c", doc)
	got := mustGet(t, db, "c", "n")
	for k, v := range ints {
		if g := lookup(got, "ints."+k); g != v {
			t.Errorf("int64 %s = %#v (%T), want %d", k, g, g, v)
		}
	}
	for k, v := range floats {
		if g, ok := lookup(got, "floats."+k).(float64); !ok || g != v {
			t.Errorf("float64 %s = %#v, want %v", k, lookup(got, "floats."+k), v)
		}
	}
	for k, want := range map[string]int64{"i32": -7, "int": 8, "u8": 9} {
		if got[k] != want {
			t.Errorf("%s = %#v (%T), want int64 %d", k, got[k], got[k], want)
		}
	}
	if store.Float(got["f32"]) != 0.5 || store.Float(got["whole"]) != 3 || store.Int(got["whole"]) != 3 {
		t.Errorf("f32 = %#v, whole = %#v", got["f32"], got["whole"])
	}
	if l, _ := got["list"].([]any); len(l) != 2 || l[0] != int64(math.MaxInt64) || l[1] != 0.25 {
		t.Errorf("list = %#v", got["list"])
	}
	// Exact values are queryable exactly.
	p := find(t, db, "c", store.Query{Where: []store.Cond{c("ints.max", store.In, []any{int64(math.MaxInt64)}), c("ints.min", store.Lte, int64(math.MinInt64))}})
	if len(p.Docs) != 1 {
		t.Errorf("query by MaxInt64 and MinInt64 found %d docs", len(p.Docs))
	}
	if p := find(t, db, "c", store.Query{Where: []store.Cond{c("ints.big", store.Eq, int64(9007199254740993))}}); len(p.Docs) != 1 {
		t.Error("query by 2^53+1 found nothing")
	}
	if p := find(t, db, "c", store.Query{Where: []store.Cond{c("ints.big", store.Eq, int64(9007199254740992))}}); len(p.Docs) != 0 {
		t.Error("query by 2^53 matched 2^53+1")
	}
	if p := find(t, db, "c", store.Query{Where: []store.Cond{c("floats.tenth", store.Eq, 0.1)}}); len(p.Docs) != 1 {
		t.Error("query by 0.1 found nothing")
	}
}

func testRoundTrip(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	doc := store.Doc{
		"_id":     "客户-001",
		"name":    "上海某某医疗器械有限公司",
		"emoji":   "🚀 ok ✓",
		"escapes": "quote\" backslash\\ tab\t newline\n <html> & 'single' \u2028 \x01",
		"empty":   "",
		"yes":     true,
		"no":      false,
		"null":    nil,
		"客户名称":    "张三",
		"nested": map[string]any{
			"deep":  map[string]any{"deeper": map[string]any{"deepest": "底"}},
			"list":  []any{int64(1), "two", 3.5, true, nil, map[string]any{"k": "v", "l": []any{"x"}}},
			"empty": map[string]any{},
		},
		"emptyList": []any{},
		"typed":     []string{"a", "b"},
		"typedMap":  map[string]int{"x": 1},
		"docs":      []any{store.Doc{"a": int64(1)}, map[string]any{"b": "2"}},
	}
	mustInsert(t, db, "c", doc)
	got := mustGet(t, db, "c", "客户-001")
	want := store.Doc{}
	for k, v := range doc {
		want[k] = v
	}
	want["typed"] = []any{"a", "b"}
	want["typedMap"] = map[string]any{"x": int64(1)}
	checkDoc(t, "round trip", want, got)
	if v, ok := got["null"]; !ok || v != nil {
		t.Errorf("explicit null: present=%v value=%v", ok, v)
	}
	// The same document comes back the same way from every read path.
	p := find(t, db, "c", store.Query{Where: []store.Cond{c("name", store.Eq, "上海某某医疗器械有限公司")}})
	if len(p.Docs) != 1 {
		t.Fatalf("find by Chinese string: %d docs", len(p.Docs))
	}
	checkDoc(t, "round trip via Find", want, p.Docs[0])
	var scanned store.Doc
	if err := db.Scan(ctx, "c", store.Query{Where: []store.Cond{c("nested.deep.deeper.deepest", store.Eq, "底")}}, func(d store.Doc) error {
		scanned = d
		return nil
	}); err != nil || scanned == nil {
		t.Fatalf("scan by nested Chinese string: %v", err)
	}
	checkDoc(t, "round trip via Scan", want, scanned)
	if _, err := db.Replace(ctx, "c", doc, 1); err != nil {
		t.Fatal(err)
	}
	checkDoc(t, "round trip via Replace", want, mustGet(t, db, "c", "客户-001"))
}

func testNestedArrays(t *testing.T, s store.Store, cfg config) {
	if cfg.skipNestedArrays != "" {
		t.Skip(cfg.skipNestedArrays)
	}
	db := mustDB(t, s, "t1")
	doc := store.Doc{
		"_id":    "tiers",
		"matrix": []any{[]any{int64(0), 0.05}, []any{int64(100000), 0.08}, []any{}},
		"deep":   []any{[]any{[]any{"x"}}},
	}
	mustInsert(t, db, "c", doc)
	checkDoc(t, "nested arrays", doc, mustGet(t, db, "c", "tiers"))
}

func testDBs(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	list := func() []string {
		t.Helper()
		names, err := s.DBs(ctx)
		if err != nil {
			t.Fatalf("DBs: %v", err)
		}
		return names
	}
	if names := list(); len(names) != 0 {
		t.Fatalf("a fresh store lists %v", names)
	}
	mustDB(t, s, "tenant_b")
	mustInsert(t, mustDB(t, s, "tenant_a"), "c", store.Doc{"_id": "x"})
	mustDB(t, s, store.SystemDB)
	if got := list(); !equalStrings(got, []string{"system", "tenant_a", "tenant_b"}) {
		t.Errorf("DBs = %v, want [system tenant_a tenant_b]", got)
	}
	db := mustDB(t, s, "tenant_a")
	if err := s.DropDB(ctx, "tenant_a"); err != nil {
		t.Fatalf("DropDB: %v", err)
	}
	if got := list(); !equalStrings(got, []string{"system", "tenant_b"}) {
		t.Errorf("after DropDB, DBs = %v", got)
	}
	if err := s.DropDB(ctx, "tenant_a"); err != nil {
		t.Errorf("DropDB of a dropped database: %v", err)
	}
	if err := s.DropDB(ctx, "never_existed"); err != nil {
		t.Errorf("DropDB of a missing database: %v", err)
	}
	// A handle from before the drop sees an empty database; using it again
	// brings the database back.
	_, err := db.Get(ctx, "c", "x")
	wantErr(t, "Get after DropDB", err, store.ErrNotFound)
	if p := find(t, db, "c", store.Query{}); len(p.Docs) != 0 {
		t.Errorf("Find after DropDB = %v", ids(p.Docs))
	}
	if got := list(); !equalStrings(got, []string{"system", "tenant_b"}) {
		t.Errorf("reads recreated a dropped database: DBs = %v", got)
	}
	db = mustDB(t, s, "tenant_a")
	if _, err := db.Get(ctx, "c", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("data survived DropDB: %v", err)
	}
	mustInsert(t, db, "c", store.Doc{"_id": "y"})
	if got := list(); !equalStrings(got, []string{"system", "tenant_a", "tenant_b"}) {
		t.Errorf("after recreating, DBs = %v", got)
	}
}

func testIsolation(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	a, b := mustDB(t, s, "iso_a"), mustDB(t, s, "iso_b")
	for _, db := range []store.DB{a, b} {
		mustDeclare(t, db, store.Collection{Name: "users", Indexes: []store.Index{{Name: "email", Fields: []string{"email"}, Unique: true}}})
	}
	mustInsert(t, a, "users", store.Doc{"_id": "u1", "email": "same@x.cn", "in": "a"})
	mustInsert(t, b, "users", store.Doc{"_id": "u1", "email": "same@x.cn", "in": "b"}) // same id, same unique value
	if d := mustGet(t, a, "users", "u1"); d["in"] != "a" {
		t.Errorf("db a sees %v", d)
	}
	if d := mustGet(t, b, "users", "u1"); d["in"] != "b" {
		t.Errorf("db b sees %v", d)
	}
	if _, err := a.Inc(ctx, "cnt", "k", map[string]int64{"n": 5}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctx, "cnt", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Inc leaked across databases: %v", err)
	}
	if err := a.Delete(ctx, "users", "u1", 0); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Count(ctx, "users", store.Query{}); err != nil || n != 1 {
		t.Errorf("delete in a changed b: count %d, %v", n, err)
	}
	if err := s.DropDB(ctx, "iso_a"); err != nil {
		t.Fatal(err)
	}
	if d := mustGet(t, b, "users", "u1"); d["in"] != "b" {
		t.Errorf("dropping a changed b: %v", d)
	}
}

func testContext(t *testing.T, s store.Store, _ config) {
	db := mustDB(t, s, "t1")
	mustDeclare(t, db, store.Collection{Name: "c", Indexes: []store.Index{{Name: "a", Fields: []string{"a"}}}})
	mustInsert(t, db, "c", store.Doc{"_id": "x", "a": int64(1)})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, cc := range []struct {
		ctx  context.Context
		want error
	}{{canceled, context.Canceled}, {expired, context.DeadlineExceeded}} {
		ctx := cc.ctx
		calls := map[string]func() error{
			"DB":         func() error { _, err := s.DB(ctx, "t2"); return err },
			"DBs":        func() error { _, err := s.DBs(ctx); return err },
			"DropDB":     func() error { return s.DropDB(ctx, "t1") },
			"Ping":       func() error { return s.Ping(ctx) },
			"Declare":    func() error { return db.Declare(ctx, store.Collection{Name: "d"}) },
			"Get":        func() error { _, err := db.Get(ctx, "c", "x"); return err },
			"Insert":     func() error { _, err := db.Insert(ctx, "c", store.Doc{"_id": "new"}); return err },
			"InsertMany": func() error { _, err := db.InsertMany(ctx, "c", []store.Doc{{"_id": "new2"}}); return err },
			"Replace":    func() error { _, err := db.Replace(ctx, "c", store.Doc{"_id": "x"}, 1); return err },
			"Delete":     func() error { return db.Delete(ctx, "c", "x", 0) },
			"Find":       func() error { _, err := db.Find(ctx, "c", store.Query{}); return err },
			"Scan":       func() error { return db.Scan(ctx, "c", store.Query{}, func(store.Doc) error { return nil }) },
			"Count":      func() error { _, err := db.Count(ctx, "c", store.Query{}); return err },
			"Inc":        func() error { _, err := db.Inc(ctx, "c", "x", map[string]int64{"a": 1}, nil); return err },
		}
		for name, call := range calls {
			if err := call(); !errors.Is(err, cc.want) {
				t.Errorf("%s with a done context: %v, want %v", name, err, cc.want)
			}
		}
	}
	// Nothing happened.
	d := mustGet(t, db, "c", "x")
	if store.Version(d) != 1 || store.Int(d["a"]) != 1 {
		t.Errorf("a call with a done context changed the document: %v", d)
	}
	for _, id := range []string{"new", "new2"} {
		if _, err := db.Get(context.Background(), "c", id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a call with a done context inserted %s: %v", id, err)
		}
	}
	// A deadline that expires during a long scan stops it.
	for i := 0; i < 20; i++ {
		mustInsert(t, db, "c", store.Doc{"_id": fmt.Sprintf("s%02d", i)})
	}
	ctx, cancel3 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel3()
	err := db.Scan(ctx, "c", store.Query{}, func(store.Doc) error {
		time.Sleep(10 * time.Millisecond)
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Scan past its deadline: %v", err)
	}
}
