package forms

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// decode reads JSON the way the API does: numbers as json.Number.
func decode(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return v
}

func TestValidate(t *testing.T) {
	s := mustCompile(t, dealSchema)
	cases := []struct {
		name   string
		record string
		want   []FieldError
	}{
		{"valid", `{"name":"华东医院设备采购","amount":1250000,"stage":"lead","closeDate":"2026-11-23","signedAt":"2026-11-23T14:00:00+08:00","contact":"li@example.com","vip":true,"tags":["a","b"],"items":[{"sku":"X1","qty":2,"price":100}],"address":{"city":"上海","zip":"200000"},"discount":null}`, nil},
		{"read-only fields may be absent", `{"name":"a","amount":0}`, nil},
		{"read-only fields are still checked", `{"name":"a","amount":0,"commission":"x"}`, []FieldError{
			{"/commission", "type", "expected integer, but got string"},
		}},
		{"missing fields point at themselves", `{}`, []FieldError{
			{"/amount", "required", "this field is required"},
			{"/name", "required", "this field is required"},
		}},
		{"types", `{"name":3,"amount":"12","vip":"yes","tags":"a","address":[]}`, []FieldError{
			{"/address", "type", "expected object, but got array"},
			{"/amount", "type", "expected integer, but got string"},
			{"/name", "type", "expected string, but got number"},
			{"/tags", "type", "expected array, but got string"},
			{"/vip", "type", "expected boolean, but got string"},
		}},
		{"money is whole minor units", `{"name":"a","amount":12.5}`, []FieldError{
			{"/amount", "type", "expected integer, but got number"},
		}},
		{"1.0 is an integer", `{"name":"a","amount":1.0,"probability":1e2}`, nil},
		{"nullable", `{"name":"a","amount":1,"discount":"x"}`, []FieldError{
			{"/discount", "type", "expected null or number, but got string"},
		}},
		{"null where not allowed", `{"name":null,"amount":1}`, []FieldError{
			{"/name", "type", "expected string, but got null"},
		}},
		{"string limits", `{"name":"","amount":1}`, []FieldError{
			{"/name", "min_length", "must be at least 1 character long"},
		}},
		{"max length counts characters", `{"name":"` + strings.Repeat("字", 201) + `","amount":1}`, []FieldError{
			{"/name", "max_length", "must be at most 200 characters long"},
		}},
		{"enum", `{"name":"a","amount":1,"stage":"Won"}`, []FieldError{
			{"/stage", "enum", `must be one of "lead", "won", "lost"`},
		}},
		{"number limits", `{"name":"a","amount":-1,"probability":101,"discount":1}`, []FieldError{
			{"/amount", "minimum", "must be at least 0"},
			{"/discount", "exclusive_maximum", "must be less than 1"},
			{"/probability", "maximum", "must be at most 100"},
		}},
		{"formats", `{"name":"a","amount":1,"closeDate":"2026-13-01","signedAt":"2026-11-23","contact":"nope"}`, []FieldError{
			{"/closeDate", "format", "must be a date like 2026-11-23"},
			{"/contact", "format", "must be an email address"},
			{"/signedAt", "format", "must be a date and time like 2026-11-23T14:00:00+08:00"},
		}},
		{"money beyond exact integers", `{"name":"a","amount":9007199254740992}`, []FieldError{
			{"/amount", "format", "must be a whole amount in minor units (分), e.g. 1250000 for 12500.00; at most 9007199254740991"},
		}},
		{"arrays", `{"name":"a","amount":1,"tags":["a","a","b","c"]}`, []FieldError{
			{"/tags", "max_items", "must have at most 3 items"},
			{"/tags", "unique_items", "must not contain duplicates (items 0 and 1 are equal)"},
		}},
		{"nested errors", `{"name":"a","amount":1,"items":[{"sku":"X","qty":0},{"qty":1.5,"colour":"red"}],"address":{"zip":"12"}}`, []FieldError{
			{"/address/zip", "pattern", "must match the pattern ^[0-9]{6}$"},
			{"/items/0/qty", "minimum", "must be at least 1"},
			{"/items/1/colour", "additional_properties", "unknown field"},
			{"/items/1/qty", "type", "expected integer, but got number"},
			{"/items/1/sku", "required", "this field is required"},
		}},
		{"not an object", `[1,2]`, []FieldError{
			{"", "type", "expected object, but got array"},
		}},
		{"numbers out of range", `{"name":"a","amount":1e400,"probability":123456789012345678901234567890123456789012345}`, []FieldError{
			{"/amount", "out_of_range", "number is too large or has too many digits"},
			{"/probability", "out_of_range", "number is too large or has too many digits"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := s.Validate(decode(t, c.record))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// TestValidateGoValues: decoded JSON with float64 or int64 numbers (and Go
// values that only JSON can make sense of) validate the same.
func TestValidateGoValues(t *testing.T) {
	s := mustCompile(t, dealSchema)
	ok := []map[string]any{
		{"name": "a", "amount": int64(1250000), "probability": 40.0},
		{"name": "a", "amount": 1250000.0, "tags": []string{"x"}},
		{"name": "a", "amount": 3, "items": []map[string]any{{"sku": "s", "qty": int32(2)}}},
	}
	for _, r := range ok {
		if fe := s.Validate(r); fe != nil {
			t.Errorf("Validate(%v) = %v", r, fe)
		}
	}
	fe := s.Validate(map[string]any{"name": "a", "amount": 1.5})
	if len(fe) != 1 || fe[0].Pointer != "/amount" || fe[0].Code != "type" {
		t.Errorf("float money: %v", fe)
	}
	fe = s.Validate(map[string]any{"name": "a", "amount": 1, "bad": make(chan int)})
	if len(fe) != 1 || fe[0].Code != "invalid" || fe[0].Pointer != "" {
		t.Errorf("channel: %v", fe)
	}
}

func TestFieldErrorText(t *testing.T) {
	if got := (FieldError{Pointer: "/a", Code: "type", Message: "m"}).Error(); got != "/a: m" {
		t.Error(got)
	}
	if got := (FieldError{Code: "type", Message: "m"}).Error(); got != "m" {
		t.Error(got)
	}
}

func TestMessages(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{
		"a":{"type":"string","const":"x"},
		"b":{"type":"integer","multipleOf":5,"exclusiveMinimum":0},
		"c":{"type":"array","items":{"type":"integer"},"minItems":2,"contains":{"const":7}},
		"d":{"type":"object","properties":{"x":{"type":"string"}},"minProperties":1,"maxProperties":1},
		"e":{"type":"string","not":{"const":"bad"}},
		"f":{"type":"string","anyOf":[{"minLength":3},{"const":"a"}]},
		"g":{"type":"string","oneOf":[{"minLength":1},{"maxLength":5}]},
		"h":{"type":"string","format":"uuid"},
		"i":{"type":"object","properties":{"x":{"type":"string"}},"dependentRequired":{"x":["y"]}},
		"k":{"type":"string","format":"ipv4"},
		"l":{"type":"object","properties":{"x":{"type":"string"}},"additionalProperties":false}
	}}`)
	rec := `{"a":"y","b":3,"c":[1],"d":{},"e":"bad","f":"b","g":"abc","h":"nope","i":{"x":"1"},"k":"1.2.3","l":{"y":1}}`
	want := []FieldError{
		{"/a", "const", `must be "x"`},
		{"/b", "multiple_of", "must be a multiple of 5"},
		{"/c", "contains", "does not contain the expected items"},
		{"/c", "min_items", "must have at least 2 items"},
		{"/d", "min_properties", "must have at least 1 field"},
		{"/e", "not", "is a value that is not allowed here"},
		{"/f", "any_of", "does not match any of the allowed forms"},
		{"/g", "one_of", "must match exactly one of the allowed forms"},
		{"/h", "format", "must be a UUID"},
		{"/i/y", "dependent_required", "this field is required when x is present"},
		{"/k", "format", "must be an IPv4 address"},
		{"/l/y", "additional_properties", "unknown field"},
	}
	got := s.Validate(decode(t, rec))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := s.Validate(decode(t, `{"b":0}`)); len(got) != 1 || got[0].Code != "exclusive_minimum" || got[0].Message != "must be greater than 0" {
		t.Errorf("exclusiveMinimum: %v", got)
	}
}

func TestNormalize(t *testing.T) {
	s := mustCompile(t, dealSchema)
	in := decode(t, `{"name":"a","amount":1250000,"probability":4e1,"discount":0.25,"tags":["x"],"items":[{"sku":"s","qty":2,"price":150}],"address":{"city":"c"},"extra":{"n":3},"vip":true}`).(map[string]any)
	got := s.Normalize(in)
	want := map[string]any{
		"name": "a", "amount": int64(1250000), "probability": int64(40), "discount": 0.25, "tags": []any{"x"},
		"items": []any{map[string]any{"sku": "s", "qty": int64(2), "price": int64(150)}}, "address": map[string]any{"city": "c"},
		"extra": map[string]any{"n": 3.0}, "vip": true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
	if _, isNumber := in["amount"].(json.Number); !isNumber {
		t.Error("Normalize changed its input")
	}
	if s.Normalize(nil) != nil {
		t.Error("Normalize(nil) != nil")
	}
	// Already-normal values stay as they are.
	again := s.Normalize(got)
	if !reflect.DeepEqual(again, want) {
		t.Errorf("Normalize is not idempotent: %#v", again)
	}
}
