package forms

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/expr-lang/expr/types"
)

// dealSchema is the example from docs/api.md plus nested fields.
const dealSchema = `{
  "type": "object",
  "properties": {
    "name":       {"type": "string", "minLength": 1, "maxLength": 200},
    "amount":     {"type": "integer", "format": "money", "minimum": 0},
    "stage":      {"type": "string", "enum": ["lead", "won", "lost"]},
    "closeDate":  {"type": "string", "format": "date"},
    "lossReason": {"type": "string"},
    "commission": {"type": "integer", "format": "money", "readOnly": true},
    "probability":{"type": "integer", "minimum": 0, "maximum": 100},
    "discount":   {"type": ["number", "null"], "exclusiveMaximum": 1},
    "signedAt":   {"type": "string", "format": "date-time"},
    "contact":    {"type": "string", "format": "email"},
    "vip":        {"type": "boolean"},
    "tags":       {"type": "array", "items": {"type": "string"}, "uniqueItems": true, "maxItems": 3},
    "items":      {"type": "array", "items": {"type": "object", "properties": {
                     "sku": {"type": "string"},
                     "qty": {"type": "integer", "minimum": 1},
                     "price": {"type": "integer", "format": "money"}
                   }, "required": ["sku", "qty"], "additionalProperties": false}},
    "address":    {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{6}$"}}}
  },
  "required": ["name", "amount", "commission"]
}`

func mustCompile(t testing.TB, schema string) *Schema {
	t.Helper()
	s, err := Compile([]byte(schema))
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return s
}

func TestFields(t *testing.T) {
	s := mustCompile(t, dealSchema)
	var names []string
	var kinds []FieldType
	for _, f := range s.Fields() {
		names = append(names, f.Name)
		kinds = append(kinds, f.Type)
	}
	wantNames := []string{"name", "amount", "stage", "closeDate", "lossReason", "commission", "probability", "discount", "signedAt", "contact", "vip", "tags", "items", "address"}
	wantKinds := []FieldType{TypeString, TypeMoney, TypeString, TypeDate, TypeString, TypeMoney, TypeInteger, TypeNumber, TypeDateTime, TypeString, TypeBoolean, TypeArray, TypeArray, TypeObject}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("names %v", names)
	}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("types %v", kinds)
	}
	name, _ := s.Field("name")
	if !name.Required || name.ReadOnly {
		t.Errorf("name: %+v", name)
	}
	comm, _ := s.Field("commission")
	if comm.Required || !comm.ReadOnly || comm.Format != "money" {
		t.Errorf("commission: %+v", comm)
	}
	stage, _ := s.Field("stage")
	if !reflect.DeepEqual(stage.Enum, []any{"lead", "won", "lost"}) {
		t.Errorf("stage enum %v", stage.Enum)
	}
	disc, _ := s.Field("discount")
	if !disc.Nullable || disc.Type != TypeNumber {
		t.Errorf("discount: %+v", disc)
	}
	items, _ := s.Field("items")
	if items.Items == nil || items.Items.Type != TypeObject || len(items.Items.Fields) != 3 ||
		items.Items.Fields[0].Name != "sku" || items.Items.Fields[2].Type != TypeMoney || !items.Items.Fields[1].Required {
		t.Errorf("items: %+v", items.Items)
	}
	if _, ok := s.Field("nope"); ok {
		t.Error("Field(nope) found")
	}
	// Fields returns a copy.
	s.Fields()[0].Name = "changed"
	if s.Fields()[0].Name != "name" {
		t.Error("Fields is not a copy")
	}
}

func TestEnumNumbers(t *testing.T) {
	s := mustCompile(t, `{"type":"object","properties":{"level":{"type":"integer","enum":[1,2,3]},"rate":{"type":"number","enum":[0.5,1]}}}`)
	level, _ := s.Field("level")
	rate, _ := s.Field("rate")
	if !reflect.DeepEqual(level.Enum, []any{int64(1), int64(2), int64(3)}) || !reflect.DeepEqual(rate.Enum, []any{0.5, 1.0}) {
		t.Errorf("enums %#v %#v", level.Enum, rate.Enum)
	}
}

func TestEnvTypes(t *testing.T) {
	s := mustCompile(t, dealSchema)
	env := s.EnvTypes()
	tt := types.TypeOf(time.Time{})
	want := map[string]types.Type{
		"name": types.String, "amount": types.Float64, "stage": types.String, "closeDate": tt,
		"lossReason": types.String, "commission": types.Float64, "probability": types.Int,
		"discount": types.Float64, "signedAt": tt, "contact": types.String, "vip": types.Bool,
		"tags":    types.Array(types.String),
		"items":   types.Array(types.Map{"sku": types.String, "qty": types.Int, "price": types.Float64}),
		"address": types.Map{"city": types.String, "zip": types.String},
	}
	if len(env) != len(want) {
		t.Fatalf("env has %d names: %v", len(env), env)
	}
	for k, w := range want {
		if !env[k].Equal(w) || !w.Equal(env[k]) {
			t.Errorf("%s: %v, want %v", k, env[k], w)
		}
	}
	env["name"] = types.Int
	if !s.EnvTypes()["name"].Equal(types.String) {
		t.Error("EnvTypes is not a copy")
	}
}

func TestCompileErrors(t *testing.T) {
	cases := []struct {
		name   string
		schema string
		want   []SchemaError
	}{
		{"not JSON", `{"type":`, []SchemaError{{"", "not valid JSON: unexpected EOF"}}},
		{"not an object", `[1]`, []SchemaError{{"", "a record schema must be a JSON object"}}},
		{"not an object schema", `{"type":"string"}`, []SchemaError{
			{"/type", `a record schema must have "type": "object"`},
			{"/properties", "a record schema must declare its fields in properties"},
		}},
		{"no fields", `{"type":"object","properties":{}}`, []SchemaError{{"/properties", "a record schema must declare its fields in properties"}}},
		{"reserved names", `{"type":"object","properties":{"id":{"type":"string"},"owner":{"type":"string"},"version":{"type":"integer"},"_x":{"type":"string"},"ok":{"type":"string"}}}`, []SchemaError{
			{"/properties/id", `field name "id" is reserved`},
			{"/properties/owner", `field name "owner" is reserved`},
			{"/properties/version", `field name "version" is reserved`},
			{"/properties/_x", `field name "_x" is reserved`},
		}},
		{"bad names", `{"type":"object","properties":{"9a":{"type":"string"},"a-b":{"type":"string"},"a/b":{"type":"string"},"名称":{"type":"string"}}}`, []SchemaError{
			{"/properties/9a", `field name "9a" is not an identifier (letters, digits and _, not starting with a digit)`},
			{"/properties/a-b", `field name "a-b" is not an identifier (letters, digits and _, not starting with a digit)`},
			{"/properties/a~1b", `field name "a/b" is not an identifier (letters, digits and _, not starting with a digit)`},
			{"/properties/名称", `field name "名称" is not an identifier (letters, digits and _, not starting with a digit)`},
		}},
		{"nested names may start with _ but must be identifiers", `{"type":"object","properties":{"a":{"type":"object","properties":{"_ok":{"type":"string"},"id":{"type":"string"},"x y":{"type":"string"}}}}}`, []SchemaError{
			{"/properties/a/properties/x y", `field name "x y" is not an identifier (letters, digits and _, not starting with a digit)`},
		}},
		{"untyped field", `{"type":"object","properties":{"a":{},"b":{"type":["string","integer"]},"c":{"type":"null"}}}`, []SchemaError{
			{"/properties/a/type", `a field must declare one type: "string", "integer", "number", "boolean", "array" or "object" (optionally with "null")`},
			{"/properties/b/type", `a field must declare one type: "string", "integer", "number", "boolean", "array" or "object" (optionally with "null")`},
			{"/properties/c/type", `a field must declare one type: "string", "integer", "number", "boolean", "array" or "object" (optionally with "null")`},
		}},
		{"money must be an integer", `{"type":"object","properties":{"a":{"type":"number","format":"money"},"b":{"type":"string","format":"money"}}}`, []SchemaError{
			{"/properties/a/type", `format "money" needs "type": "integer" (an amount in minor units)`},
			{"/properties/b/format", `format "money" needs "type": "integer" (an amount in minor units)`},
		}},
		{"dates must be strings", `{"type":"object","properties":{"d":{"type":"integer","format":"date"}}}`, []SchemaError{
			{"/properties/d/format", `format "date" needs "type": "string"`},
		}},
		{"array without items", `{"type":"object","properties":{"a":{"type":"array"},"b":{"type":"array","items":{"type":"array","items":{}}}}}`, []SchemaError{
			{"/properties/a/items", "an array field must describe its items with an object schema"},
			{"/properties/b/items/items/type", `a field must declare one type: "string", "integer", "number", "boolean", "array" or "object" (optionally with "null")`},
		}},
		{"object without properties", `{"type":"object","properties":{"a":{"type":"object"}}}`, []SchemaError{
			{"/properties/a/properties", "an object field must declare its fields in properties"},
		}},
		{"references", `{"type":"object","properties":{"a":{"type":"string","allOf":[{"$ref":"#/$defs/x"}]}},"$defs":{"x":{"type":"string"}}}`, []SchemaError{
			{"/properties/a/allOf/0/$ref", "references are not supported in record schemas; define the field inline"},
		}},
		{"propertyNames", `{"type":"object","properties":{"a":{"type":"object","properties":{"x":{"type":"string"}},"propertyNames":{"maxLength":1}}}}`, []SchemaError{
			{"/properties/a/propertyNames", "propertyNames is not supported in record schemas; declare the fields in properties"},
		}},
		{"other draft", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"a":{"type":"string"}}}`, []SchemaError{
			{"/$schema", "only JSON Schema draft 2020-12 is supported"},
		}},
		{"invalid keyword value", `{"type":"object","properties":{"minutes":{"type":"integer","minimum":"zero"}}}`, []SchemaError{
			{"/properties/minutes/minimum", "expected number, but got string"},
		}},
		{"invalid regex", `{"type":"object","properties":{"p":{"type":"string","pattern":"("}}}`, []SchemaError{
			{"/properties/p/pattern", "must be a valid regex"},
		}},
		{"huge numbers", `{"type":"object","properties":{"n":{"type":"number","minimum":1e999999,"maximum":1}}}`, []SchemaError{
			{"/properties/n/minimum", "number is too large or has too many digits"},
		}},
		{"field not a schema object", `{"type":"object","properties":{"a":true}}`, []SchemaError{
			{"/properties/a", "a field must be described by an object schema"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Compile([]byte(c.schema))
			if err == nil {
				t.Fatalf("compiled: %v", s.Fields())
			}
			var list SchemaErrorList
			if !errors.As(err, &list) {
				t.Fatalf("not a SchemaErrorList: %T %v", err, err)
			}
			got := SchemaErrors(err)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestSchemaErrorText(t *testing.T) {
	_, err := Compile([]byte(`{"type":"object","properties":{"id":{"type":"string"}}}`))
	if err == nil || err.Error() != `invalid schema at /properties/id: field name "id" is reserved` {
		t.Errorf("one error: %v", err)
	}
	_, err = Compile([]byte(`{"type":"string"}`))
	if err == nil || err.Error() != `2 problems: invalid schema at /type: a record schema must have "type": "object"; invalid schema at /properties: a record schema must declare its fields in properties` {
		t.Errorf("two errors: %v", err)
	}
	if got := SchemaErrors(errors.New("x")); got != nil {
		t.Errorf("SchemaErrors(other) = %v", got)
	}
	if got := SchemaErrors(&SchemaError{Pointer: "/a", Message: "m"}); len(got) != 1 || got[0].Pointer != "/a" {
		t.Errorf("SchemaErrors(one) = %v", got)
	}
	if (&SchemaError{Message: "m"}).Error() != "invalid schema: m" {
		t.Error("root SchemaError text")
	}
}

// TestNoLoading: a schema cannot make the server read files or the network.
func TestNoLoading(t *testing.T) {
	for _, ref := range []string{"/etc/passwd", "file:///etc/passwd", "http://127.0.0.1:1/x.json"} {
		_, err := Compile([]byte(`{"type":"object","properties":{"a":{"type":"string"}},"$defs":{"x":{"$ref":"` + ref + `"}}}`))
		if err == nil {
			t.Errorf("$ref %s compiled", ref)
		}
	}
	// Even past the record checks, the compiler itself refuses to load.
	_, err := compileDoc(map[string]any{"$ref": "file:///etc/passwd"}, true)
	if err == nil {
		t.Error("compiler loaded a file")
	}
}
