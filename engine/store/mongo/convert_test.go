package mongo

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"stride/engine/store"
)

// TestFromRaw covers BSON types the adapter never writes but may read from
// documents written by other tools.
func TestFromRaw(t *testing.T) {
	oid := bson.NewObjectID()
	when := time.Date(2024, 5, 7, 8, 9, 10, 123e6, time.UTC)
	dec, err := bson.ParseDecimal128("12.50")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := bson.Marshal(bson.D{
		{Key: "i32", Value: int32(-7)},
		{Key: "i64", Value: int64(math.MaxInt64)},
		{Key: "f", Value: 0.25},
		{Key: "s", Value: "中文"},
		{Key: "b", Value: true},
		{Key: "n", Value: nil},
		{Key: "d", Value: bson.D{{Key: "x", Value: int32(1)}}},
		{Key: "a", Value: bson.A{int32(1), "two", bson.D{{Key: "k", Value: false}}}},
		{Key: "t", Value: bson.NewDateTimeFromTime(when)},
		{Key: "oid", Value: oid},
		{Key: "dec", Value: dec},
		{Key: "bin", Value: bson.Binary{Data: []byte("hi")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := fromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i32": int64(-7), "i64": int64(math.MaxInt64), "f": 0.25, "s": "中文", "b": true, "n": nil,
		"d": map[string]any{"x": int64(1)},
		"a": []any{int64(1), "two", map[string]any{"k": false}},
		"t": "2024-05-07T08:09:10.123Z", "oid": oid.Hex(), "dec": "12.50", "bin": "aGk=",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fromRaw =\n%#v\nwant\n%#v", got, want)
	}
}

// TestEncodeDoc covers the BSON side of a write: _id and _v first, then the
// fields, objects as bson.D with sorted keys at every level, arrays as bson.A.
// Which values are accepted and how they normalize is docutil's (tested there).
func TestEncodeDoc(t *testing.T) {
	type custom struct {
		B string `json:"b"`
		A int    `json:"a"`
	}
	d := func(kv ...any) bson.D {
		out := bson.D{}
		for i := 0; i < len(kv); i += 2 {
			out = append(out, bson.E{Key: kv[i].(string), Value: kv[i+1]})
		}
		return out
	}
	id, got, err := encodeDoc(store.Doc{
		"_id": "x", "_v": int64(9), "z": 1, "s": []string{"p", "q"}, "c": custom{B: "z", A: 1},
		"o": map[string]any{"y": []any{map[string]any{"k2": 2, "k1": 1}}, "x": nil},
	}, 4)
	want := d("_id", "x", "_v", int64(4),
		"c", d("a", int64(1), "b", "z"),
		"o", d("x", nil, "y", bson.A{d("k1", int64(1), "k2", int64(2))}),
		"s", bson.A{"p", "q"},
		"z", int64(1))
	if err != nil || id != "x" || !reflect.DeepEqual(got, want) {
		t.Errorf("encodeDoc = %q, %#v, %v\nwant %#v", id, got, err, want)
	}
	for _, bad := range []store.Doc{nil, {"a": 1}, {"_id": "x", "f": math.NaN()}, {"_id": "x", "o": map[string]any{"$x": 1}}} {
		if _, _, err := encodeDoc(bad, 1); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("encodeDoc(%#v): %v, want ErrInvalid", bad, err)
		}
	}
}

// Arrays inside arrays (commission tables) survive the wrapping FerretDB
// needs, and a caller cannot forge the wrapper.
func TestNestedArraysRoundTrip(t *testing.T) {
	in := map[string]any{"_id": "p", "table": []any{[]any{int64(0), 0.04}, []any{1.5, []any{"x", []any{}}}}, "flat": []any{int64(1)}}
	_, d, err := encodeDoc(in, 1)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := bson.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got["table"], in["table"]) || !reflect.DeepEqual(got["flat"], in["flat"]) {
		t.Fatalf("round trip: %#v", got)
	}
	if _, _, err := encodeDoc(map[string]any{"_id": "q", "x": []any{map[string]any{"__array": []any{}}}}, 1); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("the wrapper key is accepted as a document key: %v", err)
	}
}
