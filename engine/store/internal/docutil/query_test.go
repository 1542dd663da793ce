package docutil

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"stride/engine/store"
)

func TestCheckCond(t *testing.T) {
	c := func(f string, op store.Op, v any) store.Cond { return store.Cond{Field: f, Op: op, Value: v} }
	valid := []struct {
		in   store.Cond
		want any
	}{
		{c("a", store.Eq, "x"), "x"},
		{c("a", store.Eq, nil), nil},
		{c("a", store.Eq, true), true},
		{c("a", store.Eq, 3), int64(3)},
		{c("a", store.Eq, uint32(3)), int64(3)},
		{c("a", store.Eq, float32(0.5)), 0.5},
		{c("a", store.Eq, json.Number("12")), int64(12)},
		{c("a", store.Ne, nil), nil},
		{c("a.b", store.Ne, 1.5), 1.5},
		{c("a", store.Gt, 1), int64(1)},
		{c("a", store.Gte, "m"), "m"},
		{c("a", store.Lt, 2.5), 2.5},
		{c("a", store.Lte, int8(-1)), int64(-1)},
		{c("a", store.In, []any{"x", 1, nil, true}), []any{"x", int64(1), nil, true}},
		{c("a", store.In, []string{"x", "y"}), []any{"x", "y"}},
		{c("a", store.In, [2]int{1, 2}), []any{int64(1), int64(2)}},
		{c("a", store.In, []any{}), []any{}},
		{c("a", store.Exists, true), true},
		{c("a", store.Exists, false), false},
		{c(store.KeyID, store.Eq, "id1"), "id1"},
		{c(store.KeyID, store.In, []string{"a", "b"}), []any{"a", "b"}},
		{c(store.KeyID, store.Gt, "a"), "a"},
		{c(store.KeyVersion, store.Eq, 2), int64(2)},
		{c(store.KeyVersion, store.Gte, 1.5), 1.5},
		{c(store.KeyVersion, store.In, []any{1, 2.5}), []any{int64(1), 2.5}},
		{c(store.KeyID, store.Exists, true), true},
	}
	for _, tc := range valid {
		got, err := CheckCond(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("CheckCond(%+v) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	invalid := []struct {
		name string
		in   store.Cond
	}{
		{"bad field", c("a..b", store.Eq, 1)},
		{"dollar field", c("$where", store.Eq, 1)},
		{"empty field", c("", store.Eq, 1)},
		{"unknown op", c("a", "regex", "x")},
		{"empty op", c("a", "", "x")},
		{"object value", c("a", store.Eq, map[string]any{"$gt": 1})},
		{"array value", c("a", store.Eq, []any{1})},
		{"NaN", c("a", store.Eq, math.NaN())},
		{"float32 Inf", c("a", store.Ne, float32(math.Inf(1)))},
		{"uint64 overflow", c("a", store.Eq, uint64(math.MaxUint64))},
		{"bad json.Number", c("a", store.Eq, json.Number("x"))},
		{"struct", c("a", store.Eq, struct{}{})},
		{"range on nil", c("a", store.Gt, nil)},
		{"range on bool", c("a", store.Lt, true)},
		{"range on object", c("a", store.Gte, map[string]any{})},
		{"in nil", c("a", store.In, nil)},
		{"in scalar", c("a", store.In, "x")},
		{"in with object", c("a", store.In, []any{map[string]any{}})},
		{"in with NaN", c("a", store.In, []float64{1, math.NaN()})},
		{"exists non-bool", c("a", store.Exists, 1)},
		{"exists nil", c("a", store.Exists, nil)},
		{"_id number", c(store.KeyID, store.Eq, 1)},
		{"_id null", c(store.KeyID, store.Eq, nil)},
		{"_id in mixed", c(store.KeyID, store.In, []any{"a", 1})},
		{"_id range number", c(store.KeyID, store.Gt, 1)},
		{"_v string", c(store.KeyVersion, store.Eq, "1")},
		{"_v bool", c(store.KeyVersion, store.Ne, true)},
		{"_v in string", c(store.KeyVersion, store.In, []any{"1"})},
		{"_v range string", c(store.KeyVersion, store.Lt, "9")},
	}
	for _, tc := range invalid {
		got, err := CheckCond(tc.in)
		if err == nil {
			t.Errorf("%s: CheckCond = %#v, want an error", tc.name, got)
			continue
		}
		checkErr(t, tc.name, err, false)
	}
}

func TestSortKeys(t *testing.T) {
	s := func(f string, desc bool) store.SortKey { return store.SortKey{Field: f, Desc: desc} }
	cases := []struct {
		name string
		in   []store.SortKey
		want []store.SortKey
		ok   bool
	}{
		{"none", nil, []store.SortKey{}, true},
		{"one", []store.SortKey{s("a", true)}, []store.SortKey{s("a", true)}, true},
		{"reserved", []store.SortKey{s("_v", false), s("a.b", true)}, []store.SortKey{s("_v", false), s("a.b", true)}, true},
		{"cut after _id", []store.SortKey{s("a", false), s("_id", true), s("b", false)},
			[]store.SortKey{s("a", false), s("_id", true)}, true},
		{"repeated", []store.SortKey{s("a", false), s("a", true)}, nil, false},
		{"bad field", []store.SortKey{s("a", false), s("$b", true)}, nil, false},
		{"nothing after _id is looked at", []store.SortKey{s("_id", false), s("", true)},
			[]store.SortKey{s("_id", false)}, true},
	}
	for _, tc := range cases {
		got, err := SortKeys(store.Query{Sort: tc.in})
		checkErr(t, tc.name, err, tc.ok)
		if tc.ok && !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: SortKeys = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
