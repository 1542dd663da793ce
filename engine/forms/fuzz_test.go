package forms

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// FuzzValidate: any JSON document validates against a fixed schema without
// panicking; every error has a code, a message and a pointer whose parent
// exists in the document, and an object document's errors all point inside
// it.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `null`, `"x"`, `1e400`, `{"name":"a","amount":1}`,
		`{"name":3,"amount":"x","items":[{"qty":1.5},{}],"tags":["a","a","b","c"],"address":{"zip":"1"}}`,
		`{"amount":123456789012345678901234567890123456789012345678901234567890}`,
		`{"closeDate":"2026-02-30","signedAt":"x","contact":"@","discount":1,"a/b":1,"~":2}`,
		`{"items":[{"sku":"s","qty":1,"price":1,"x":{"y":[1,2,{"z":null}]}}]}`,
	} {
		f.Add(s)
	}
	s := mustCompile(f, dealSchema)
	f.Fuzz(func(t *testing.T, doc string) {
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		_, isObject := v.(map[string]any)
		for _, fe := range s.Validate(v) {
			if fe.Code == "" || fe.Message == "" {
				t.Fatalf("%s: empty code or message: %+v", doc, fe)
			}
			if fe.Pointer != "" && !strings.HasPrefix(fe.Pointer, "/") {
				t.Fatalf("%s: bad pointer %q", doc, fe.Pointer)
			}
			if isObject && fe.Pointer == "" {
				t.Fatalf("%s: error without a pointer: %+v", doc, fe)
			}
			if fe.Pointer != "" {
				parent := fe.Pointer[:strings.LastIndex(fe.Pointer, "/")]
				if _, ok := resolve(v, parent); !ok {
					t.Fatalf("%s: pointer %q: parent %q is not in the document", doc, fe.Pointer, parent)
				}
			}
		}
		if m, ok := v.(map[string]any); ok {
			_ = s.ToEnv(s.Normalize(m))
		}
	})
}

// resolve follows a JSON pointer into a decoded document.
func resolve(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[tok]
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// FuzzCompile: no schema text makes Compile panic; a rejected schema is a
// SchemaErrorList of pointers into it, and an accepted one is usable.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		dealSchema, `{}`, `[]`, `{"type":"object","properties":{"a":{"type":"string"}}}`,
		`{"type":"object","properties":{"a":{"type":"array","items":{"type":"object","properties":{"b":{"type":["integer","null"],"format":"money"}}}}}}`,
		`{"type":"object","properties":{"id":{},"x":{"$ref":"#"}},"required":["x"]}`,
		`{"type":"object","properties":{"p":{"type":"string","pattern":"(("}}}`,
		`{"type":"object","properties":{"n":{"type":"number","minimum":1e999}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, schema []byte) {
		s, err := Compile(schema)
		if err != nil {
			var list SchemaErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("%s: error %T %v", schema, err, err)
			}
			for _, e := range list {
				if e.Message == "" || (e.Pointer != "" && !strings.HasPrefix(e.Pointer, "/")) {
					t.Fatalf("%s: bad schema error %+v", schema, e)
				}
			}
			return
		}
		fields := s.Fields()
		if len(fields) == 0 || len(s.EnvTypes()) != len(fields) {
			t.Fatalf("%s: %d fields, %d env types", schema, len(fields), len(s.EnvTypes()))
		}
		for _, v := range []any{map[string]any{}, map[string]any{fields[0].Name: json.Number("1")}, "x"} {
			_ = s.Validate(v)
		}
		env := s.ToEnv(nil)
		for _, fd := range fields {
			if _, ok := env[fd.Name]; !ok {
				t.Fatalf("%s: ToEnv lacks %s", schema, fd.Name)
			}
		}
		if !json.Valid(bytes.TrimSpace(schema)) {
			t.Fatalf("invalid JSON compiled: %q", schema)
		}
	})
}
