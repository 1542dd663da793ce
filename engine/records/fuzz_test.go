package records

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"stride/engine/apperr"
	"stride/engine/objects"
	"stride/engine/rules"
)

// FuzzValidate throws arbitrary JSON bodies at the full write-path
// validation of the demo deal object (schema, computed fields, requiredIf):
// it must never panic, and every refusal must be a 422 with field pointers.
func FuzzValidate(f *testing.F) {
	raw, err := os.ReadFile("../setup/demo/deal.json")
	if err != nil {
		f.Fatal(err)
	}
	var def map[string]any
	if err := json.Unmarshal(raw, &def); err != nil {
		f.Fatal(err)
	}
	svc := objects.NewService(rules.New(rules.Options{}))
	c, fe := svc.Check(def)
	if len(fe) > 0 {
		f.Fatalf("demo deal does not compile: %v", fe)
	}
	s := NewService(svc)
	for _, seed := range []string{
		`{"name":"x","amount":1}`,
		`{"name":"x","amount":1,"stage":"lost"}`,
		`{"name":"x","amount":9007199254740993,"probability":100}`,
		`{"name":"","amount":-1,"closeDate":"2026-02-30"}`,
		`{"name":"x","amount":1e308,"probability":1e308}`,
		`{"name":{"a":[1,2,{}]},"amount":null,"weightedAmount":"x"}`,
		`{"名称":"华东","amount":0.5}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var in map[string]any
		if dec.Decode(&in) != nil || in == nil {
			return
		}
		data, err := s.validate(c, in)
		if err != nil {
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindInvalid || len(e.Fields) == 0 {
				t.Fatalf("refusal is not a 422 with fields: %#v", err)
			}
			for _, fe := range e.Fields {
				if !strings.HasPrefix(fe.Pointer, "/") || fe.Message == "" {
					t.Fatalf("bad field error %+v", fe)
				}
			}
			return
		}
		if _, err := json.Marshal(data); err != nil {
			t.Fatalf("accepted data does not encode: %v", err)
		}
	})
}
