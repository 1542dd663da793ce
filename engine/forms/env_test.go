package forms

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestToEnv(t *testing.T) {
	s := mustCompile(t, dealSchema)
	stored := s.Normalize(decode(t, `{"name":"a","amount":1250000,"closeDate":"2026-11-23","signedAt":"2026-11-23T14:00:00+08:00","probability":40,"discount":0.5,"vip":true,"tags":["x"],"items":[{"sku":"s","qty":2,"price":333}],"address":{"city":"上海"},"extra":1}`).(map[string]any))
	env := s.ToEnv(stored)
	want := map[string]any{
		"name": "a", "amount": 12500.0, "stage": "", "closeDate": time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		"lossReason": "", "commission": 0.0, "probability": 40, "discount": 0.5,
		"signedAt": time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC), "contact": "", "vip": true, "tags": []any{"x"},
		"items":   []any{map[string]any{"sku": "s", "qty": 2, "price": 3.33}},
		"address": map[string]any{"city": "上海", "zip": ""},
	}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("got  %#v\nwant %#v", env, want)
	}
}

// TestToEnvZeroValues: every declared field is present with its type's zero
// value when the record lacks it (spreadsheet semantics).
func TestToEnvZeroValues(t *testing.T) {
	s := mustCompile(t, dealSchema)
	want := map[string]any{
		"name": "", "amount": 0.0, "stage": "", "closeDate": time.Time{}, "lossReason": "", "commission": 0.0,
		"probability": 0, "discount": 0.0, "signedAt": time.Time{}, "contact": "", "vip": false,
		"tags": []any{}, "items": []any{}, "address": map[string]any{"city": "", "zip": ""},
	}
	for _, data := range []map[string]any{nil, {}, {"name": nil, "discount": nil, "tags": nil, "address": nil}} {
		if got := s.ToEnv(data); !reflect.DeepEqual(got, want) {
			t.Errorf("ToEnv(%v) = %#v", data, got)
		}
	}
	// Values of the wrong type read as zero too.
	got := s.ToEnv(map[string]any{"amount": "12", "probability": 1.5, "closeDate": "yesterday", "vip": "yes"})
	if got["amount"] != 0.0 || got["probability"] != 0 || got["closeDate"] != (time.Time{}) || got["vip"] != false {
		t.Errorf("wrong types: %v", got)
	}
	// Every kind of stored number is understood.
	for _, v := range []any{int64(150), 150, 150.0} {
		if got := s.ToEnv(map[string]any{"amount": v, "probability": v}); got["amount"] != 1.5 || got["probability"] != 150 {
			t.Errorf("ToEnv(%T) = %v %v", v, got["amount"], got["probability"])
		}
	}
	// The result is the caller's to change.
	a, b := s.ToEnv(nil), s.ToEnv(nil)
	a["name"] = "x"
	if b["name"] != "" {
		t.Error("ToEnv shares maps")
	}
}

func TestFromResult(t *testing.T) {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	money := Field{Name: "commission", Type: TypeMoney}
	integer := Field{Name: "n", Type: TypeInteger}
	number := Field{Name: "x", Type: TypeNumber}
	cases := []struct {
		f    Field
		in   any
		want any
		err  string
	}{
		{money, 125.0, int64(12500), ""},
		{money, 3.333333, int64(333), ""},
		{money, 6.66, int64(666), ""},
		{money, 0.125, int64(12), ""}, // 12.5 fen: ties go to even
		{money, 0.135, int64(14), ""},
		{money, 1.005, int64(100), ""},
		{money, 1.015, int64(102), ""}, // the decimal 1.015, not 1.01499999…
		{money, -0.125, int64(-12), ""},
		{money, 3 * 1.005, int64(302), ""}, // float arithmetic gives 3.0149999999999997; the decimal is 3.015
		{money, -2.675, int64(-268), ""},
		{money, 7, int64(700), ""},
		{money, int64(7), int64(700), ""},
		{money, 90071992547409.91, int64(9007199254740991), ""},
		{money, 1e20, nil, "commission: the amount 100000000000000000000 is too large"},
		{money, math.NaN(), nil, "commission: the amount is not a finite number"},
		{money, math.Inf(-1), nil, "commission: the amount is not a finite number"},
		{money, "12", nil, "commission: expected an amount, but got text"},
		{integer, 3.0, int64(3), ""},
		{integer, 3, int64(3), ""},
		{integer, -4.0, int64(-4), ""},
		{integer, 2.5, nil, "n: expected a whole number, but got 2.5"},
		{integer, true, nil, "n: expected a whole number, but got a boolean"},
		{number, 2, 2.0, ""},
		{number, 2.5, 2.5, ""},
		{number, math.Inf(1), nil, "x: the result is not a finite number"},
		{Field{Name: "s", Type: TypeString}, "ok", "ok", ""},
		{Field{Name: "s", Type: TypeString}, 3, nil, "s: expected text, but got a number"},
		{Field{Name: "b", Type: TypeBoolean}, true, true, ""},
		{Field{Name: "b", Type: TypeBoolean}, "true", nil, "b: expected true or false, but got text"},
		{Field{Name: "d", Type: TypeDate}, time.Date(2026, 11, 23, 23, 0, 0, 0, shanghai), "2026-11-23", ""},
		{Field{Name: "d", Type: TypeDate}, "2026-11-23", "2026-11-23", ""},
		{Field{Name: "d", Type: TypeDate}, "23/11/2026", nil, "d: expected a date, but got text"},
		{Field{Name: "t", Type: TypeDateTime}, time.Date(2026, 11, 23, 14, 0, 0, 0, shanghai), "2026-11-23T06:00:00.000Z", ""},
		{Field{Name: "t", Type: TypeDateTime}, "2026-11-23T14:00:00+08:00", "2026-11-23T06:00:00.000Z", ""},
		{Field{Name: "t", Type: TypeDateTime}, 5, nil, "t: expected a date and time, but got a number"},
		{Field{Name: "l", Type: TypeArray}, []any{1}, nil, "l: a computed array field is not supported"},
		{money, nil, nil, ""},
	}
	for _, c := range cases {
		got, err := FromResult(c.f, c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("FromResult(%s, %v) = %v, %v; want error %q", c.f.Type, c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("FromResult(%s, %v) = %#v, %v; want %#v", c.f.Type, c.in, got, err, c.want)
		}
	}
}

// TestMoneyRoundTrip: an amount read by a formula and written back unchanged
// is the same number of minor units.
func TestMoneyRoundTrip(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"m":{"type":"integer","format":"money"}}}`)
	f, _ := s.Field("m")
	for _, minor := range []int64{0, 1, 5, 99, 100, 333, 12345678, -1, -250, maxSafeMinor, -maxSafeMinor, 123456789012345} {
		major := s.ToEnv(map[string]any{"m": minor})["m"]
		back, err := FromResult(f, major)
		if err != nil || back != minor {
			t.Errorf("%d → %v → %v, %v", minor, major, back, err)
		}
	}
}
