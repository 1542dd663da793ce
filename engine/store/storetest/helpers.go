package storetest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"

	"stride/engine/store"
)

func mustDB(t testing.TB, s store.Store, name string) store.DB {
	t.Helper()
	db, err := s.DB(context.Background(), name)
	if err != nil {
		t.Fatalf("DB(%q): %v", name, err)
	}
	return db
}

func mustInsert(t testing.TB, db store.DB, coll string, docs ...store.Doc) {
	t.Helper()
	for _, d := range docs {
		if _, err := db.Insert(context.Background(), coll, d); err != nil {
			t.Fatalf("Insert(%s, %v): %v", coll, d[store.KeyID], err)
		}
	}
}

func mustGet(t testing.TB, db store.DB, coll, id string) store.Doc {
	t.Helper()
	d, err := db.Get(context.Background(), coll, id)
	if err != nil {
		t.Fatalf("Get(%s, %s): %v", coll, id, err)
	}
	return d
}

func mustDeclare(t testing.TB, db store.DB, c store.Collection) {
	t.Helper()
	if err := db.Declare(context.Background(), c); err != nil {
		t.Fatalf("Declare(%s): %v", c.Name, err)
	}
}

func find(t testing.TB, db store.DB, coll string, q store.Query) store.Page {
	t.Helper()
	p, err := db.Find(context.Background(), coll, q)
	if err != nil {
		t.Fatalf("Find(%s, %+v): %v", coll, q, err)
	}
	return p
}

func ids(docs []store.Doc) []string {
	out := make([]string, len(docs))
	for i, d := range docs {
		out[i] = store.ID(d)
	}
	return out
}

// wantErr fails unless err matches target (errors.Is).
func wantErr(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// number normalizes a numeric value for comparison.
func number(v any) (i int64, f float64, isInt, ok bool) {
	switch n := v.(type) {
	case int:
		return int64(n), 0, true, true
	case int8:
		return int64(n), 0, true, true
	case int16:
		return int64(n), 0, true, true
	case int32:
		return int64(n), 0, true, true
	case int64:
		return n, 0, true, true
	case uint8:
		return int64(n), 0, true, true
	case uint16:
		return int64(n), 0, true, true
	case uint32:
		return int64(n), 0, true, true
	case float32:
		return 0, float64(n), false, true
	case float64:
		return 0, n, false, true
	}
	return 0, 0, false, false
}

// sameValue compares a written value with the one read back: numbers by value
// (an integral float may come back as int64, per the contract), typed slices
// and maps element-wise, everything else exactly.
func sameValue(want, got any) bool {
	if wi, wf, wInt, ok := number(want); ok {
		gi, gf, gInt, ok := number(got)
		if !ok {
			return false
		}
		switch {
		case wInt && gInt:
			return wi == gi
		case !wInt && !gInt:
			return wf == gf
		case wInt:
			return float64(wi) == gf && gf == math.Trunc(gf)
		default:
			return float64(gi) == wf && wf == math.Trunc(wf)
		}
	}
	switch w := want.(type) {
	case nil:
		return got == nil
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok || !sameValue(v, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	rv := reflect.ValueOf(want)
	if rv.Kind() == reflect.Slice {
		g, ok := got.([]any)
		if !ok || len(g) != rv.Len() {
			return false
		}
		for i := range g {
			if !sameValue(rv.Index(i).Interface(), g[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(want, got)
}

// checkDoc asserts that got holds exactly want's fields (plus _v, and _id if
// want has none) with equal values.
func checkDoc(t testing.TB, what string, want, got store.Doc) {
	t.Helper()
	for k, v := range want {
		if k == store.KeyVersion {
			continue
		}
		if !sameValue(v, got[k]) {
			t.Errorf("%s: field %q = %#v (%T), want %#v (%T)", what, k, got[k], got[k], v, v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok && k != store.KeyVersion && k != store.KeyID {
			t.Errorf("%s: unexpected field %q = %#v", what, k, got[k])
		}
	}
}

// lookup reads a dotted path of a document.
func lookup(d store.Doc, path string) any {
	var cur any = d
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	return cur
}

// compareValues is the reference order of the suite for fields of one type:
// null/missing first, then numbers, strings and booleans by value.
func compareValues(a, b any) int {
	if a == nil || b == nil {
		switch {
		case a == nil && b == nil:
			return 0
		case a == nil:
			return -1
		}
		return 1
	}
	if _, af, aInt, ok := number(a); ok {
		_, bf, bInt, _ := number(b)
		ai, _, _, _ := number(a)
		bi, _, _, _ := number(b)
		if aInt && bInt {
			return cmpOrdered(ai, bi)
		}
		if aInt {
			af = float64(ai)
		}
		if bInt {
			bf = float64(bi)
		}
		return cmpOrdered(af, bf)
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	}
	return 0 // mixed or unsortable types: unspecified by the contract
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// referenceOrder sorts docs as the contract says a query with that sort
// must return them: by the keys, then by _id ascending.
func referenceOrder(docs []store.Doc, keys []store.SortKey) []string {
	sorted := append([]store.Doc(nil), docs...)
	sort.SliceStable(sorted, func(i, j int) bool {
		for _, k := range keys {
			c := compareValues(lookup(sorted[i], k.Field), lookup(sorted[j], k.Field))
			if k.Field == store.KeyID {
				c = strings.Compare(store.ID(sorted[i]), store.ID(sorted[j]))
			}
			if k.Desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
			if k.Field == store.KeyID {
				return false
			}
		}
		return store.ID(sorted[i]) < store.ID(sorted[j])
	})
	return ids(sorted)
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
