package storetest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"stride/engine/store"
)

func testBasics(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	if s.Backend() == "" {
		t.Error("Backend() is empty")
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	db := mustDB(t, s, "t1")
	// Collections need not be declared: reads see nothing, writes create.
	_, err := db.Get(ctx, "undeclared", "x")
	wantErr(t, "Get on an undeclared collection", err, store.ErrNotFound)
	if p := find(t, db, "undeclared", store.Query{}); len(p.Docs) != 0 || p.Next != "" {
		t.Errorf("Find on an undeclared collection = %+v, want empty", p)
	}
	if n, err := db.Count(ctx, "undeclared", store.Query{}); err != nil || n != 0 {
		t.Errorf("Count on an undeclared collection = %d, %v", n, err)
	}
	if err := db.Scan(ctx, "undeclared", store.Query{}, func(store.Doc) error {
		t.Error("Scan on an undeclared collection called fn")
		return nil
	}); err != nil {
		t.Errorf("Scan on an undeclared collection: %v", err)
	}
	err = db.Delete(ctx, "undeclared", "x", 0)
	wantErr(t, "Delete on an undeclared collection", err, store.ErrNotFound)
	_, err = db.Replace(ctx, "undeclared", store.Doc{"_id": "x"}, 1)
	wantErr(t, "Replace on an undeclared collection", err, store.ErrNotFound)
	mustInsert(t, db, "undeclared", store.Doc{"_id": "x", "a": "b"})
	if d := mustGet(t, db, "undeclared", "x"); d["a"] != "b" {
		t.Errorf("Get after Insert into an undeclared collection = %v", d)
	}
	if d, err := db.Inc(ctx, "undeclared2", "c", map[string]int64{"n": 1}, nil); err != nil || store.Int(d["n"]) != 1 {
		t.Errorf("Inc into an undeclared collection = %v, %v", d, err)
	}
}

func testInvalidNames(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	for _, name := range []string{"", "Tenant", "1abc", "_a", "a-b", "a.b", "../x", "a/b", "a b", "租户",
		strings.Repeat("a", 41)} {
		_, err := s.DB(ctx, name)
		wantErr(t, "DB("+name+")", err, store.ErrInvalid)
		wantErr(t, "DropDB("+name+")", s.DropDB(ctx, name), store.ErrInvalid)
	}
	for _, name := range []string{store.SystemDB, "a", "t_1", strings.Repeat("a", 40)} {
		if _, err := s.DB(ctx, name); err != nil {
			t.Errorf("DB(%q): %v", name, err)
		}
	}
	db := mustDB(t, s, "t1")
	for _, coll := range []string{"", "1c", "_c", "a-b", "a.b", "$x", "c d", "c\x00", "集合", strings.Repeat("c", 65)} {
		_, err := db.Get(ctx, coll, "x")
		wantErr(t, "Get(coll "+coll+")", err, store.ErrInvalid)
		_, err = db.Insert(ctx, coll, store.Doc{"_id": "x"})
		wantErr(t, "Insert(coll "+coll+")", err, store.ErrInvalid)
		_, err = db.Find(ctx, coll, store.Query{})
		wantErr(t, "Find(coll "+coll+")", err, store.ErrInvalid)
		wantErr(t, "Declare(coll "+coll+")", db.Declare(ctx, store.Collection{Name: coll}), store.ErrInvalid)
	}
	for _, coll := range []string{"c", "Records", "deal_stages", "a1", strings.Repeat("c", 64)} {
		if _, err := db.Insert(ctx, coll, store.Doc{"_id": "x"}); err != nil {
			t.Errorf("Insert(coll %q): %v", coll, err)
		}
	}
}

func testInvalidRequests(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	mustInsert(t, db, "c", store.Doc{"_id": "a", "n": int64(1)})

	badPaths := []string{"", ".a", "a.", "a..b", "$a", "a.$b", `a"b`}
	for _, p := range badPaths {
		_, err := db.Find(ctx, "c", store.Query{Where: []store.Cond{{Field: p, Op: store.Eq, Value: "x"}}})
		wantErr(t, "Find field "+p, err, store.ErrInvalid)
		_, err = db.Find(ctx, "c", store.Query{Sort: []store.SortKey{{Field: p}}})
		wantErr(t, "Find sort "+p, err, store.ErrInvalid)
		_, err = db.Count(ctx, "c", store.Query{Where: []store.Cond{{Field: p, Op: store.Exists, Value: true}}})
		wantErr(t, "Count field "+p, err, store.ErrInvalid)
		err = db.Declare(ctx, store.Collection{Name: "c", Indexes: []store.Index{{Name: "i", Fields: []string{p}}}})
		wantErr(t, "Declare index field "+p, err, store.ErrInvalid)
		_, err = db.Inc(ctx, "c", "k", map[string]int64{p: 1}, nil)
		wantErr(t, "Inc path "+p, err, store.ErrInvalid)
	}

	badConds := []struct {
		name string
		cond store.Cond
	}{
		{"unknown op", store.Cond{Field: "n", Op: "regex", Value: "x"}},
		{"eq map", store.Cond{Field: "n", Op: store.Eq, Value: map[string]any{"a": 1}}},
		{"eq slice", store.Cond{Field: "n", Op: store.Eq, Value: []any{1}}},
		{"eq NaN", store.Cond{Field: "n", Op: store.Eq, Value: math.NaN()}},
		{"in scalar", store.Cond{Field: "n", Op: store.In, Value: "x"}},
		{"in nil", store.Cond{Field: "n", Op: store.In, Value: nil}},
		{"in nested list", store.Cond{Field: "n", Op: store.In, Value: []any{[]any{1}}}},
		{"gt bool", store.Cond{Field: "n", Op: store.Gt, Value: true}},
		{"lt nil", store.Cond{Field: "n", Op: store.Lt, Value: nil}},
		{"exists string", store.Cond{Field: "n", Op: store.Exists, Value: "yes"}},
		{"_id eq number", store.Cond{Field: "_id", Op: store.Eq, Value: 1}},
		{"_v eq string", store.Cond{Field: "_v", Op: store.Eq, Value: "1"}},
	}
	for _, tc := range badConds {
		_, err := db.Find(ctx, "c", store.Query{Where: []store.Cond{tc.cond}})
		wantErr(t, "Find "+tc.name, err, store.ErrInvalid)
	}
	_, err := db.Find(ctx, "c", store.Query{Sort: []store.SortKey{{Field: "n"}, {Field: "n", Desc: true}}})
	wantErr(t, "Find repeated sort field", err, store.ErrInvalid)
	_, err = db.Find(ctx, "c", store.Query{Limit: -1})
	wantErr(t, "Find negative limit", err, store.ErrInvalid)
	for _, cur := range []string{"garbage!!", "eyJ4IjoxfQ", "%%%"} {
		_, err = db.Find(ctx, "c", store.Query{After: cur})
		wantErr(t, "Find bad cursor "+cur, err, store.ErrInvalid)
	}

	badDocs := []struct {
		name string
		doc  store.Doc
	}{
		{"dollar key", store.Doc{"_id": "x", "$set": 1}},
		{"dotted key", store.Doc{"_id": "x", "a.b": 1}},
		{"empty key", store.Doc{"_id": "x", "": 1}},
		{"nested dollar key", store.Doc{"_id": "x", "a": map[string]any{"$b": 1}}},
		{"nested dotted key in array", store.Doc{"_id": "x", "a": []any{map[string]any{"b.c": 1}}}},
		{"NaN", store.Doc{"_id": "x", "f": math.NaN()}},
		{"Inf", store.Doc{"_id": "x", "f": []any{math.Inf(1)}}},
		{"uint64 overflow", store.Doc{"_id": "x", "u": uint64(math.MaxUint64)}},
	}
	for _, tc := range badDocs {
		_, err := db.Insert(ctx, "c", tc.doc)
		wantErr(t, "Insert "+tc.name, err, store.ErrInvalid)
		d := store.Doc{}
		for k, v := range tc.doc {
			d[k] = v
		}
		d["_id"] = "a"
		_, err = db.Replace(ctx, "c", d, 1)
		wantErr(t, "Replace "+tc.name, err, store.ErrInvalid)
	}
	for _, doc := range []store.Doc{nil, {"a": 1}, {"_id": ""}, {"_id": 1}} {
		_, err := db.Insert(ctx, "c", doc)
		wantErr(t, fmt.Sprintf("Insert with id %#v", doc["_id"]), err, store.ErrInvalid)
		_, err = db.Replace(ctx, "c", doc, 1)
		wantErr(t, fmt.Sprintf("Replace with id %#v", doc["_id"]), err, store.ErrInvalid)
	}
	if _, err := db.Get(ctx, "c", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an invalid Insert left a document behind: %v", err)
	}
	_, err = db.Get(ctx, "c", "")
	wantErr(t, "Get empty id", err, store.ErrInvalid)
	_, err = db.Replace(ctx, "c", store.Doc{"_id": "a"}, 0)
	wantErr(t, "Replace version 0", err, store.ErrInvalid)
	wantErr(t, "Delete version -1", db.Delete(ctx, "c", "a", -1), store.ErrInvalid)
	wantErr(t, "Delete empty id", db.Delete(ctx, "c", "", 0), store.ErrInvalid)
	if d := mustGet(t, db, "c", "a"); store.Version(d) != 1 {
		t.Errorf("invalid writes changed the document: %v", d)
	}

	badIndexes := []store.Collection{
		{Name: "c", Indexes: []store.Index{{Name: "", Fields: []string{"a"}}}},
		{Name: "c", Indexes: []store.Index{{Name: "bad name", Fields: []string{"a"}}}},
		{Name: "c", Indexes: []store.Index{{Name: "i", Fields: nil}}},
		{Name: "c", Indexes: []store.Index{{Name: "i", Fields: []string{"a"}}, {Name: "i", Fields: []string{"b"}}}},
	}
	for _, c := range badIndexes {
		wantErr(t, "Declare bad index", db.Declare(ctx, c), store.ErrInvalid)
	}

	badIncs := []struct {
		name string
		id   string
		inc  map[string]int64
		soi  store.Doc
	}{
		{"empty id", "", map[string]int64{"n": 1}, nil},
		{"inc _v", "k", map[string]int64{"_v": 1}, nil},
		{"inc _id", "k", map[string]int64{"_id": 1}, nil},
		{"same path twice", "k", map[string]int64{"a": 1}, store.Doc{"a": 1}},
		{"prefix paths", "k", map[string]int64{"a": 1, "a.b": 1}, nil},
		{"prefix across inc and setOnInsert", "k", map[string]int64{"a.b.c": 1}, store.Doc{"a.b": map[string]any{}}},
		{"bad setOnInsert value", "k", nil, store.Doc{"f": math.NaN()}},
		{"bad setOnInsert key", "k", nil, store.Doc{"$f": 1}},
	}
	for _, tc := range badIncs {
		_, err := db.Inc(ctx, "c", tc.id, tc.inc, tc.soi)
		wantErr(t, "Inc "+tc.name, err, store.ErrInvalid)
	}
	if _, err := db.Get(ctx, "c", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an invalid Inc created a document: %v", err)
	}
}

func testDeclare(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	c := store.Collection{Name: "deals", Indexes: []store.Index{
		{Name: "owner", Fields: []string{"owner"}},
		{Name: "stage_amount", Fields: []string{"stage", "amount"}},
		{Name: "ext", Fields: []string{"ext.crmId"}, Unique: true},
	}}
	mustDeclare(t, db, c)
	mustDeclare(t, db, c) // idempotent
	mustInsert(t, db, "deals",
		store.Doc{"_id": "d1", "owner": "u1", "stage": "won", "amount": int64(100), "ext": map[string]any{"crmId": "A"}},
		store.Doc{"_id": "d2", "owner": "u1", "stage": "lost", "amount": int64(100)},
	)
	mustDeclare(t, db, c) // still idempotent with data
	// Declaring more indexes later creates only what is missing.
	c.Indexes = append(c.Indexes, store.Index{Name: "amount", Fields: []string{"amount"}})
	mustDeclare(t, db, c)
	mustDeclare(t, db, store.Collection{Name: "deals"}) // fewer indexes: nothing dropped, no error
	if _, err := db.Insert(ctx, "deals", store.Doc{"_id": "d3", "ext": map[string]any{"crmId": "A"}}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("unique index lost after redeclaring: %v", err)
	}
	// The same name with another definition is an error, not a silent no-op.
	err := db.Declare(ctx, store.Collection{Name: "deals", Indexes: []store.Index{{Name: "owner", Fields: []string{"stage"}}}})
	wantErr(t, "redeclare index with other fields", err, store.ErrInvalid)
	// A unique index over existing duplicates cannot be built.
	err = db.Declare(ctx, store.Collection{Name: "deals", Indexes: []store.Index{{Name: "uowner_amount", Fields: []string{"owner", "amount"}, Unique: true}}})
	wantErr(t, "unique index over duplicates", err, store.ErrDuplicate)
	// Declared indexes serve queries (correctness only; speed is the backend's business).
	p := find(t, db, "deals", store.Query{Where: []store.Cond{{Field: "stage", Op: store.Eq, Value: "won"}, {Field: "amount", Op: store.Gte, Value: 100}}})
	if got := ids(p.Docs); !equalStrings(got, []string{"d1"}) {
		t.Errorf("indexed find = %v", got)
	}
	// Declaring a collection creates it in the database, empty.
	mustDeclare(t, db, store.Collection{Name: "empty", Indexes: []store.Index{{Name: "a", Fields: []string{"a"}}}})
	if n, err := db.Count(ctx, "empty", store.Query{}); err != nil || n != 0 {
		t.Errorf("Count(empty) = %d, %v", n, err)
	}
}

func testInsertGet(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	doc := store.Doc{"_id": "r1", "_v": int64(42), "name": "Acme", "amount": int64(1999)}
	v, err := db.Insert(ctx, "records", doc)
	if err != nil || v != 1 {
		t.Fatalf("Insert = %d, %v; want 1, nil", v, err)
	}
	if doc["_v"] != int64(42) || len(doc) != 4 {
		t.Errorf("Insert modified the caller's document: %v", doc)
	}
	got := mustGet(t, db, "records", "r1")
	checkDoc(t, "Get", store.Doc{"_id": "r1", "name": "Acme", "amount": 1999}, got)
	if store.Version(got) != 1 {
		t.Errorf("_v = %#v, want int64 1 (a caller's _v is ignored)", got["_v"])
	}
	if _, ok := got["_v"].(int64); !ok {
		t.Errorf("_v is %T, want int64", got["_v"])
	}
	// The returned map belongs to the caller.
	got["name"] = "changed"
	if d := mustGet(t, db, "records", "r1"); d["name"] != "Acme" {
		t.Errorf("mutating a returned document changed the store: %v", d)
	}
	_, err = db.Insert(ctx, "records", store.Doc{"_id": "r1", "name": "other"})
	wantErr(t, "Insert duplicate id", err, store.ErrDuplicate)
	if d := mustGet(t, db, "records", "r1"); d["name"] != "Acme" || store.Version(d) != 1 {
		t.Errorf("a failed duplicate Insert changed the document: %v", d)
	}
	_, err = db.Get(ctx, "records", "nope")
	wantErr(t, "Get missing", err, store.ErrNotFound)
	// The same id in another collection is another document.
	mustInsert(t, db, "other", store.Doc{"_id": "r1", "x": true})
	if d := mustGet(t, db, "records", "r1"); d["x"] != nil {
		t.Errorf("collections are not isolated: %v", d)
	}
	// Ids are arbitrary non-empty strings.
	for _, id := range []string{"with space", "中文编号", "a/b?c#d", "x.y", "$dollar", `quote"s`, strings.Repeat("z", 300)} {
		mustInsert(t, db, "records", store.Doc{"_id": id, "ok": true})
		if d := mustGet(t, db, "records", id); store.ID(d) != id || d["ok"] != true {
			t.Errorf("Get(%q) = %v", id, d)
		}
	}
}

func testUniqueIndex(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	mustDeclare(t, db, store.Collection{Name: "users", Indexes: []store.Index{
		{Name: "email", Fields: []string{"email"}, Unique: true},
		{Name: "ext_code", Fields: []string{"ext.code"}, Unique: true},
		{Name: "org_no", Fields: []string{"org", "no"}, Unique: true},
		{Name: "name", Fields: []string{"name"}}, // not unique
	}})
	mustInsert(t, db, "users", store.Doc{"_id": "u1", "email": "a@x.cn", "ext": map[string]any{"code": "X1"}, "org": "o1", "no": int64(1), "name": "张三"})
	dups := []store.Doc{
		{"_id": "u2", "email": "a@x.cn"},
		{"_id": "u3", "ext": map[string]any{"code": "X1"}},
		{"_id": "u4", "org": "o1", "no": int64(1)},
		{"_id": "u5", "org": "o1", "no": 1.0},
	}
	for _, d := range dups {
		_, err := db.Insert(ctx, "users", d)
		wantErr(t, "Insert unique violation "+store.ID(d), err, store.ErrDuplicate)
		if _, err := db.Get(ctx, "users", store.ID(d)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a rejected Insert left %s behind", store.ID(d))
		}
	}
	// Distinct values, non-unique index and partial compound keys are fine.
	mustInsert(t, db, "users",
		store.Doc{"_id": "u6", "email": "b@x.cn", "ext": map[string]any{"code": "X2"}, "org": "o1", "no": int64(2), "name": "张三"},
		store.Doc{"_id": "u7", "org": "o2", "no": int64(1)},
	)
	// Documents missing a unique field are not constrained by it.
	mustInsert(t, db, "users", store.Doc{"_id": "m1", "name": "x"}, store.Doc{"_id": "m2", "name": "y"})
	// Replace and Inc respect unique indexes too.
	_, err := db.Replace(ctx, "users", store.Doc{"_id": "u6", "email": "a@x.cn"}, 1)
	wantErr(t, "Replace into a taken value", err, store.ErrDuplicate)
	if d := mustGet(t, db, "users", "u6"); store.Version(d) != 1 || d["email"] != "b@x.cn" {
		t.Errorf("a rejected Replace changed the document: %v", d)
	}
	_, err = db.Inc(ctx, "users", "u9", map[string]int64{"n": 1}, store.Doc{"email": "a@x.cn"})
	wantErr(t, "Inc upsert into a taken value", err, store.ErrDuplicate)
	// Freeing a value makes it available again.
	if err := db.Delete(ctx, "users", "u1", 1); err != nil {
		t.Fatal(err)
	}
	mustInsert(t, db, "users", store.Doc{"_id": "u10", "email": "a@x.cn", "ext": map[string]any{"code": "X1"}, "org": "o1", "no": int64(1)})
}

func testReplace(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	mustInsert(t, db, "c", store.Doc{"_id": "a", "old": "field", "n": int64(1)})
	v, err := db.Replace(ctx, "c", store.Doc{"_id": "a", "n": int64(2), "_v": int64(99)}, 1)
	if err != nil || v != 2 {
		t.Fatalf("Replace = %d, %v; want 2, nil", v, err)
	}
	got := mustGet(t, db, "c", "a")
	checkDoc(t, "after Replace", store.Doc{"_id": "a", "n": 2}, got)
	if store.Version(got) != 2 {
		t.Errorf("_v = %v, want 2", got["_v"])
	}
	for _, stale := range []int64{1, 3, 100} {
		_, err = db.Replace(ctx, "c", store.Doc{"_id": "a", "n": int64(3)}, stale)
		wantErr(t, "Replace with a wrong version", err, store.ErrConflict)
	}
	if got := mustGet(t, db, "c", "a"); store.Int(got["n"]) != 2 || store.Version(got) != 2 {
		t.Errorf("a conflicting Replace changed the document: %v", got)
	}
	_, err = db.Replace(ctx, "c", store.Doc{"_id": "missing"}, 1)
	wantErr(t, "Replace missing", err, store.ErrNotFound)
	if v, err = db.Replace(ctx, "c", store.Doc{"_id": "a"}, 2); err != nil || v != 3 {
		t.Errorf("second Replace = %d, %v", v, err)
	}
	checkDoc(t, "after emptying Replace", store.Doc{"_id": "a"}, mustGet(t, db, "c", "a"))
}

func testDelete(t *testing.T, s store.Store, _ config) {
	ctx := t.Context()
	db := mustDB(t, s, "t1")
	mustInsert(t, db, "c", store.Doc{"_id": "a"}, store.Doc{"_id": "b"}, store.Doc{"_id": "c"})
	if _, err := db.Replace(ctx, "c", store.Doc{"_id": "b"}, 1); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		id        string
		ifVersion int64
		want      error
	}{
		{"any version", "a", 0, nil},
		{"already gone", "a", 0, store.ErrNotFound},
		{"wrong version", "b", 1, store.ErrConflict},
		{"right version", "b", 2, nil},
		{"missing with version", "zz", 3, store.ErrNotFound},
		{"wrong version again", "c", 7, store.ErrConflict},
	}
	for _, tc := range cases {
		err := db.Delete(ctx, "c", tc.id, tc.ifVersion)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("Delete %s (%s, %d) = %v, want %v", tc.name, tc.id, tc.ifVersion, err, tc.want)
		}
	}
	if got := ids(find(t, db, "c", store.Query{}).Docs); !equalStrings(got, []string{"c"}) {
		t.Errorf("remaining = %v, want [c]", got)
	}
	// A deleted id can be inserted again and starts over at version 1.
	if v, err := db.Insert(ctx, "c", store.Doc{"_id": "a"}); err != nil || v != 1 {
		t.Errorf("re-Insert = %d, %v", v, err)
	}
}
