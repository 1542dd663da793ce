package calc

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/rules"
)

// dealObject is the credited object of the tests: a deal with an amount, a
// close date, a split list, a refund status and date.
const dealObject = `{
  "label": {"en": "Deal"},
  "schema": {
    "type": "object",
    "properties": {
      "name": {"type": "string"},
      "amount": {"type": "integer", "format": "money"},
      "stage": {"type": "string"},
      "newLogo": {"type": "boolean"},
      "closeDate": {"type": "string", "format": "date"},
      "paidAt": {"type": "string", "format": "date-time"},
      "seller": {"type": "string"},
      "status": {"type": "string"},
      "refundedAt": {"type": "string", "format": "date"},
      "discount": {"type": "number"},
      "splits": {"type": "array", "items": {"type": "object",
        "properties": {"user": {"type": "string"}, "percent": {"type": "number"}}, "required": ["user", "percent"]}}
    }
  }
}`

var testEngine = rules.New(rules.Options{})

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode: %v\n%s", err, s)
	}
	return m
}

// compileObject compiles an object definition as the objects service does.
func compileObject(t testing.TB, key, def string) *objects.Compiled {
	t.Helper()
	d := decode(t, def)
	d["key"] = key
	c, fe := objects.NewService(testEngine).Check(d)
	if len(fe) > 0 {
		t.Fatalf("object: %+v", fe)
	}
	c.Key, c.Version = key, 1
	return c
}

func mustCompile(t testing.TB, def string) *Plan {
	t.Helper()
	obj := compileObject(t, "deal", dealObject)
	p, fe := Compile(testEngine, "t1", "plan", 1, decode(t, def), obj)
	if len(fe) > 0 {
		t.Fatalf("compile: %+v", fe)
	}
	return p
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func window(t testing.TB, key string) Window {
	t.Helper()
	p, err := period.Calendar{Location: shanghai}.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	return Window{Key: p.Key, Start: p.Start, End: p.End}
}
