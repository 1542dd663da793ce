package docutil

import (
	"math"
	"reflect"
	"testing"

	"stride/engine/store"
)

func TestCheckInc(t *testing.T) {
	valid := []struct {
		name string
		inc  map[string]int64
		soi  store.Doc
		want map[string]any
	}{
		{"nothing", nil, nil, map[string]any{}},
		{"inc only", map[string]int64{"n": 1, "a.b": -2}, nil, map[string]any{}},
		{"siblings", map[string]int64{"a.b": 1, "a.c": 1}, store.Doc{"a.d": uint8(3), "ab": "x"},
			map[string]any{"a.d": int64(3), "ab": "x"}},
		{"reserved setOnInsert ignored", map[string]int64{"n": 1}, store.Doc{"_id": "x", "_v": 7, "k": "v"},
			map[string]any{"k": "v"}},
		{"nested value normalized", nil, store.Doc{"o": map[string]any{"x": int16(1)}},
			map[string]any{"o": map[string]any{"x": int64(1)}}},
	}
	for _, tc := range valid {
		got, err := CheckInc(tc.inc, tc.soi)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: CheckInc = %#v, %v; want %#v", tc.name, got, err, tc.want)
		}
	}
	invalid := []struct {
		name string
		inc  map[string]int64
		soi  store.Doc
	}{
		{"inc _v", map[string]int64{"_v": 1}, nil},
		{"inc _id", map[string]int64{"_id": 1}, nil},
		{"bad inc path", map[string]int64{"a..b": 1}, nil},
		{"dollar inc path", map[string]int64{"$inc": 1}, nil},
		{"bad setOnInsert path", map[string]int64{"n": 1}, store.Doc{"a.$b": 1}},
		{"same path in both", map[string]int64{"n": 1}, store.Doc{"n": 0}},
		{"prefix in inc", map[string]int64{"a": 1, "a.b": 1}, nil},
		{"prefix across", map[string]int64{"a.b.c": 1}, store.Doc{"a.b": map[string]any{}}},
		{"prefix the other way", map[string]int64{"a": 1}, store.Doc{"a.b": 1}},
		{"bad setOnInsert value", nil, store.Doc{"x": math.NaN()}},
		{"bad setOnInsert nested key", nil, store.Doc{"x": map[string]any{"a.b": 1}}},
	}
	for _, tc := range invalid {
		got, err := CheckInc(tc.inc, tc.soi)
		if err == nil {
			t.Errorf("%s: CheckInc = %#v, want an error", tc.name, got)
			continue
		}
		checkErr(t, tc.name, err, false)
	}
}
