package forms

import (
	"encoding/json"
	"io/fs"
	"reflect"
	"testing"

	"stride/schemas"
)

// apiExample is the object definition from docs/api.md.
const apiExample = `{
  "key": "deal",
  "label": {"zh-CN": "商机", "en": "Deal"},
  "titleField": "name",
  "schema": {
    "type": "object",
    "properties": {
      "name":       {"type": "string", "minLength": 1, "maxLength": 200},
      "amount":     {"type": "integer", "format": "money", "minimum": 0},
      "stage":      {"type": "string", "enum": ["lead", "won", "lost"]},
      "closeDate":  {"type": "string", "format": "date"},
      "lossReason": {"type": "string"},
      "commission": {"type": "integer", "format": "money", "readOnly": true}
    },
    "required": ["name", "amount"]
  },
  "fields": {
    "name":       {"label": {"zh-CN": "名称", "en": "Name"}, "placeholder": {"zh-CN": "商机名称", "en": "Deal name"}},
    "amount":     {"label": {"zh-CN": "金额", "en": "Amount"}, "widget": "money"},
    "commission": {"label": {"zh-CN": "提成", "en": "Commission"}, "computed": "amount * 0.1"},
    "lossReason": {"visibleIf": "stage == 'lost'", "requiredIf": "stage == 'lost'"}
  },
  "order": ["name", "amount", "stage", "closeDate", "lossReason", "commission"]
}`

func TestValidateConfigObject(t *testing.T) {
	doc := decode(t, apiExample)
	if fe := ValidateConfig("object", doc); fe != nil {
		t.Fatalf("the documented example is invalid: %v", fe)
	}
	// The record schema inside compiles too.
	raw, _ := json.Marshal(doc.(map[string]any)["schema"])
	if _, err := Compile(raw); err != nil {
		t.Fatalf("the documented record schema: %v", err)
	}
	cases := []struct {
		name string
		edit func(d map[string]any)
		want []FieldError
	}{
		{"unknown member", func(d map[string]any) { d["colour"] = "red" }, []FieldError{
			{"/colour", "additional_properties", "unknown field"},
		}},
		{"bad key", func(d map[string]any) { d["key"] = "Deal-1" }, []FieldError{
			{"/key", "pattern", "must match the pattern ^[a-z][a-z0-9_]{0,39}$"},
		}},
		{"label languages", func(d map[string]any) { d["label"] = map[string]any{"fr": "Affaire"} }, []FieldError{
			{"/label/fr", "additional_properties", "unknown field"},
		}},
		{"empty label", func(d map[string]any) { d["label"] = map[string]any{} }, []FieldError{
			{"/label", "min_properties", "must have at least 1 field"},
		}},
		{"missing schema", func(d map[string]any) { delete(d, "schema"); delete(d, "label") }, []FieldError{
			{"/label", "required", "this field is required"},
			{"/schema", "required", "this field is required"},
		}},
		{"schema not an object schema", func(d map[string]any) { d["schema"] = map[string]any{"type": "string"} }, []FieldError{
			{"/schema/properties", "required", "this field is required"},
			{"/schema/type", "const", `must be "object"`},
		}},
		{"field hints", func(d map[string]any) {
			d["fields"] = map[string]any{
				"amount": map[string]any{"widget": "slider", "colour": "red", "computed": 3},
				"9bad":   map[string]any{},
			}
		}, []FieldError{
			{"/fields/9bad", "additional_properties", "unknown field"},
			{"/fields/amount/colour", "additional_properties", "unknown field"},
			{"/fields/amount/computed", "type", "expected string, but got number"},
			{"/fields/amount/widget", "enum", `must be one of "text", "textarea", "number", "money", "percent", "date", "datetime", "select", "radio", "checkbox", "switch", "tags", "user", "email", "phone", "url"`},
		}},
		{"empty formula", func(d map[string]any) { d["fields"] = map[string]any{"name": map[string]any{"visibleIf": ""}} }, []FieldError{
			{"/fields/name/visibleIf", "min_length", "must be at least 1 character long"},
		}},
		{"order", func(d map[string]any) { d["order"] = []any{"name", "name", 3} }, []FieldError{
			{"/order", "unique_items", "must not contain duplicates (items 0 and 1 are equal)"},
			{"/order/2", "type", "expected string, but got number"},
		}},
		{"title field", func(d map[string]any) { d["titleField"] = "a b" }, []FieldError{
			{"/titleField", "pattern", "must match the pattern ^[A-Za-z_][A-Za-z0-9_]*$"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := decode(t, apiExample).(map[string]any)
			c.edit(d)
			got := ValidateConfig("object", d)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestValidateConfigUnknownKind(t *testing.T) {
	for _, kind := range []string{"nope", "../object", "", "Object"} {
		fe := ValidateConfig(kind, map[string]any{})
		if len(fe) != 1 || fe[0].Code != "unknown_kind" || fe[0].Message != `unknown configuration kind "`+kind+`"` {
			t.Errorf("%q: %v", kind, fe)
		}
	}
}

// TestEmbeddedSchemasCompile: every embedded configuration schema is a valid
// draft 2020-12 schema.
func TestEmbeddedSchemasCompile(t *testing.T) {
	files, err := fs.Glob(schemas.FS, "*.schema.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas: %v", err)
	}
	for _, f := range files {
		if _, err := compileConfig(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
