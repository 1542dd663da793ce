package mongo

import (
	"encoding/json"
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

func TestToBSON(t *testing.T) {
	type custom struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	cases := []struct {
		in   any
		want any
	}{
		{int(3), int64(3)},
		{int32(-3), int64(-3)},
		{uint8(200), int64(200)},
		{float32(0.5), 0.5},
		{json.Number("9007199254740993"), int64(9007199254740993)},
		{json.Number("1.5"), 1.5},
		{[]string{"x", "y"}, bson.A{"x", "y"}},
		{map[string]any{"b": 1, "a": "x"}, bson.D{{Key: "a", Value: "x"}, {Key: "b", Value: int64(1)}}},
		{custom{A: 1, B: "z"}, bson.D{{Key: "a", Value: int64(1)}, {Key: "b", Value: "z"}}},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05Z"},
	}
	for _, tc := range cases {
		got, err := toBSON(tc.in, 0)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("toBSON(%#v) = %#v, %v; want %#v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(-1), uint64(math.MaxUint64), map[string]any{"a.b": 1},
		map[string]any{"$x": 1}, make(chan int)} {
		if _, err := toBSON(bad, 0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("toBSON(%#v): %v, want ErrInvalid", bad, err)
		}
	}
}
