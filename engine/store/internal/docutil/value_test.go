package docutil

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"stride/engine/store"
)

func TestNormalize(t *testing.T) {
	type custom struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	cases := []struct {
		in   any
		want any
	}{
		{nil, nil},
		{true, true},
		{"s", "s"},
		{int64(math.MinInt64), int64(math.MinInt64)},
		{int(3), int64(3)},
		{int8(-8), int64(-8)},
		{int16(-16), int64(-16)},
		{int32(-32), int64(-32)},
		{uint(7), int64(7)},
		{uint8(200), int64(200)},
		{uint16(65535), int64(65535)},
		{uint32(math.MaxUint32), int64(math.MaxUint32)},
		{uint64(math.MaxInt64), int64(math.MaxInt64)},
		{0.25, 0.25},
		{float32(0.5), 0.5},
		{json.Number("9007199254740993"), int64(9007199254740993)},
		{json.Number("1.5"), 1.5},
		{json.Number("1e3"), 1000.0},
		{json.Number("9223372036854775808"), 9223372036854775808.0},
		{[]any{1, "x", nil, []any{}}, []any{int64(1), "x", nil, []any{}}},
		{map[string]any{"a": map[string]any{"b": uint8(1)}}, map[string]any{"a": map[string]any{"b": int64(1)}}},
		// Other types go through their JSON form.
		{[]string{"x", "y"}, []any{"x", "y"}},
		{map[string]int{"n": 1}, map[string]any{"n": int64(1)}},
		{custom{A: 1, B: "z"}, map[string]any{"a": int64(1), "b": "z"}},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05Z"},
		{[]float64{1, 1.5}, []any{int64(1), 1.5}},
		{store.Doc{"k": int32(2)}, map[string]any{"k": int64(2)}},
	}
	for _, tc := range cases {
		got, err := Normalize(tc.in, 0)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Normalize(%#v) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}

	deep := any("leaf")
	for range 101 {
		deep = []any{deep}
	}
	bad := []struct {
		name string
		in   any
	}{
		{"NaN", math.NaN()},
		{"+Inf", math.Inf(1)},
		{"-Inf", math.Inf(-1)},
		{"float32 Inf", float32(math.Inf(1))},
		{"uint64 overflow", uint64(math.MaxUint64)},
		{"uint overflow", uint(math.MaxInt64) + 1},
		{"bad json.Number", json.Number("x")},
		{"huge json.Number", json.Number("1e400")},
		{"dotted key", map[string]any{"a.b": 1}},
		{"dollar key", map[string]any{"$x": 1}},
		{"empty key", map[string]any{"": 1}},
		{"NUL key", map[string]any{"a\x00": 1}},
		{"nested bad key", map[string]any{"a": []any{map[string]any{"$x": 1}}}},
		{"nested NaN", []any{1, math.NaN()}},
		{"bad key via JSON", map[string]string{"a.b": "x"}},
		{"unmarshalable", make(chan int)},
		{"func", func() {}},
		{"too deep", deep},
	}
	for _, tc := range bad {
		if got, err := Normalize(tc.in, 0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Normalize(%s) = %#v, %v; want store.ErrInvalid", tc.name, got, err)
		}
	}
}

func TestNormalizeCopies(t *testing.T) {
	in := map[string]any{"a": map[string]any{"b": int64(1)}, "l": []any{int64(1)}}
	out, err := Normalize(in, 0)
	if err != nil {
		t.Fatal(err)
	}
	m := out.(map[string]any)
	m["a"].(map[string]any)["b"] = int64(2)
	m["l"].([]any)[0] = int64(2)
	if in["a"].(map[string]any)["b"] != int64(1) || in["l"].([]any)[0] != int64(1) {
		t.Error("Normalize's result shares memory with its input")
	}
}

func TestNormalizeDepth(t *testing.T) {
	nest := func(n int) any {
		var v any = int64(1)
		for range n {
			v = map[string]any{"x": v}
		}
		return v
	}
	// A document's fields are at depth 1: 100 levels of objects fit, 101 do not.
	if _, err := Normalize(nest(100), 0); err != nil {
		t.Errorf("100 levels: %v", err)
	}
	if _, err := Normalize(nest(101), 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("101 levels: %v, want store.ErrInvalid", err)
	}
	if _, err := Normalize(nest(100), 1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("100 levels at depth 1: %v, want store.ErrInvalid", err)
	}
}

func TestNormalizeErrorNamesField(t *testing.T) {
	_, err := Normalize(map[string]any{"a": map[string]any{"b": math.NaN()}}, 0)
	if err == nil || !strings.Contains(err.Error(), `field "a": field "b": `) {
		t.Errorf("error %v does not name the path", err)
	}
}

func TestParseNumber(t *testing.T) {
	cases := []struct {
		in   string
		want any
	}{
		{"0", int64(0)},
		{"-0", int64(0)},
		{"42", int64(42)},
		{"-9223372036854775808", int64(math.MinInt64)},
		{"9223372036854775807", int64(math.MaxInt64)},
		{"9223372036854775808", 9223372036854775808.0},
		{"1.0", 1.0},
		{"1e2", 100.0},
		{"1E-2", 0.01},
		{"-0.5", -0.5},
		{"1.7976931348623157e308", math.MaxFloat64},
	}
	for _, tc := range cases {
		got, err := ParseNumber(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseNumber(%q) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "x", "1e400", "-1e400", "0x10", "Infinity", "NaN", "nan", "Inf", "1_000", "0x1p4", "+1", "01", "1.", ".5", " 1"} {
		if got, err := ParseNumber(in); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ParseNumber(%q) = %#v, %v; want store.ErrInvalid", in, got, err)
		}
	}
}

func TestPrepareDoc(t *testing.T) {
	cases := []struct {
		name     string
		in       store.Doc
		wantID   string
		wantBody map[string]any
	}{
		{"minimal", store.Doc{"_id": "a"}, "a", map[string]any{}},
		{"reserved dropped", store.Doc{"_id": "a", "_v": int64(9), "n": 1}, "a", map[string]any{"n": int64(1)}},
		{"any _v ignored", store.Doc{"_id": "a", "_v": "junk"}, "a", map[string]any{}},
		{"nested", store.Doc{"_id": "a", "o": map[string]any{"x": []any{uint16(2)}}}, "a",
			map[string]any{"o": map[string]any{"x": []any{int64(2)}}}},
	}
	for _, tc := range cases {
		id, body, err := PrepareDoc(tc.in)
		if err != nil || id != tc.wantID || !reflect.DeepEqual(body, tc.wantBody) {
			t.Errorf("%s: PrepareDoc = %q, %#v, %v; want %q, %#v", tc.name, id, body, err, tc.wantID, tc.wantBody)
		}
	}
	bad := []struct {
		name string
		in   store.Doc
	}{
		{"nil", nil},
		{"no id", store.Doc{"a": 1}},
		{"empty id", store.Doc{"_id": ""}},
		{"numeric id", store.Doc{"_id": 1}},
		{"bad key", store.Doc{"_id": "a", "a.b": 1}},
		{"dollar key", store.Doc{"_id": "a", "$set": 1}},
		{"bad value", store.Doc{"_id": "a", "f": math.Inf(1)}},
		{"bad nested key", store.Doc{"_id": "a", "f": map[string]any{"$x": 1}}},
	}
	for _, tc := range bad {
		_, _, err := PrepareDoc(tc.in)
		checkErr(t, tc.name, err, false)
	}
	in := store.Doc{"_id": "a", "_v": int64(3), "o": map[string]any{"x": 1}}
	if _, _, err := PrepareDoc(in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, store.Doc{"_id": "a", "_v": int64(3), "o": map[string]any{"x": 1}}) {
		t.Errorf("PrepareDoc modified its argument: %#v", in)
	}
}

func TestLookup(t *testing.T) {
	d := map[string]any{"a": map[string]any{"b": map[string]any{"c": int64(1)}, "s": "x"}, "n": nil, "l": []any{1}}
	cases := []struct {
		path string
		want any
	}{
		{"a.b.c", int64(1)},
		{"a.s", "x"},
		{"a.b", map[string]any{"c": int64(1)}},
		{"n", nil},
		{"missing", nil},
		{"a.s.x", nil}, // through a scalar
		{"l.0", nil},   // arrays are not indexed
		{"a.missing.c", nil},
	}
	for _, tc := range cases {
		if got := Lookup(d, tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Lookup(%q) = %#v, want %#v", tc.path, got, tc.want)
		}
	}
}

func TestEncodeJSON(t *testing.T) {
	cases := []struct {
		in   any
		want string
	}{
		{map[string]any{"b": int64(1), "a": "<&>"}, `{"a":"<&>","b":1}`},
		{[]any{nil, true, 1.5}, `[null,true,1.5]`},
		{"中文", `"中文"`},
	}
	for _, tc := range cases {
		got, err := EncodeJSON(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("EncodeJSON(%#v) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
	if _, err := EncodeJSON(math.NaN()); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("EncodeJSON(NaN): %v, want store.ErrInvalid", err)
	}
}
