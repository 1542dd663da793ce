package sqlite

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"stride/engine/store/internal/docutil"
	"stride/engine/store/storetest"
)

// stdDecode is the reference: encoding/json with UseNumber, numbers mapped
// the way the store maps them.
func stdDecode(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if strings.TrimLeft(s[dec.InputOffset():], " \t\r\n") != "" {
		return nil, errTrailing
	}
	var conv func(any) (any, error)
	conv = func(v any) (any, error) {
		switch x := v.(type) {
		case json.Number:
			return docutil.ParseNumber(string(x))
		case map[string]any:
			for k, e := range x {
				n, err := conv(e)
				if err != nil {
					return nil, err
				}
				x[k] = n
			}
		case []any:
			for i, e := range x {
				n, err := conv(e)
				if err != nil {
					return nil, err
				}
				x[i] = n
			}
		}
		return v, nil
	}
	return conv(v)
}

var errTrailing = json.Unmarshal([]byte("1 2"), new(any))

func TestParseJSON(t *testing.T) {
	valid := []string{
		`{}`, `[]`, `null`, `true`, `false`, `0`, `-0`, `1`, `-1`, `0.5`, `-0.0`, `1e3`, `1E+3`, `1.5e-7`,
		`9223372036854775807`, `-9223372036854775808`, `9223372036854775808`, `-9223372036854775809`,
		`9007199254740993`, `123456789012345678901234567890`, `1.7976931348623157e308`, `5e-324`,
		`"plain"`, `""`, `"中文 🚀"`, `"esc \" \\ \/ \b \f \n \r \t"`, `"\u00e9\u4e2d\uD83D\uDE80"`,
		`"lone \ud800 high"`, `"lone \udc00 low"`, `"\ud800\u0041"`, `"\uD83D\uDE80\uD83D"`, `"\u0000"`,
		` { "a" : [ 1 , 2.5 , "x" , null , true , { } , [ ] ] , "b" : { "c" : { "d" : -3 } } } `,
		`{"dup":1,"dup":2}`,
	}
	for _, s := range valid {
		want, err := stdDecode(s)
		if err != nil {
			t.Fatalf("reference rejects %s: %v", s, err)
		}
		got, err := parseJSON(s)
		if err != nil {
			t.Errorf("parseJSON(%s): %v", s, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseJSON(%s) = %#v, want %#v", s, got, want)
		}
	}
	invalid := []string{
		``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a"}`, `{a:1}`, `01`, `-`, `1.`, `.5`, `1e`, `+1`, `tru`, `nul`,
		`"unterminated`, `"bad \x escape"`, `"\u12"`, "\"raw\ncontrol\"", `1 2`, `[1 2]`, `{"a":1 "b":2}`,
		`1e400`, `NaN`, `Infinity`, strings.Repeat("[", 2000) + strings.Repeat("]", 2000),
	}
	for _, s := range invalid {
		if v, err := parseJSON(s); err == nil {
			t.Errorf("parseJSON(%q) = %#v, want an error", s, v)
		}
	}
}

func TestParseJSONRecords(t *testing.T) {
	for i := 0; i < 200; i++ {
		_, body, err := docutil.PrepareDoc(storetest.Record(i))
		if err != nil {
			t.Fatal(err)
		}
		b, err := docutil.EncodeJSON(body)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := stdDecode(string(b))
		got, err := parseJSON(string(b))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d: %v\n got %#v\nwant %#v", i, err, got, want)
		}
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true]}`, `"\ud83d\ude80"`, `-0.0e+1`, `[[[]]]`, `9223372036854775808`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseJSON(s)
		want, werr := stdDecode(s)
		if !utf8.ValidString(s) {
			return // replacement of invalid bytes differs in detail; no panic is enough
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("parseJSON(%q) error %v, encoding/json error %v", s, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("parseJSON(%q) = %#v, want %#v", s, got, want)
		}
	})
}

func BenchmarkParseJSON(b *testing.B) {
	_, body, _ := docutil.PrepareDoc(storetest.Record(5))
	js, _ := docutil.EncodeJSON(body)
	b.Run("parseJSON", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := parseJSON(string(js)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := stdDecode(string(js)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
