// Package forms compiles and applies the JSON Schemas (draft 2020-12) that
// describe custom object records, and derives from them the typed formula
// environment of a record (DESIGN.md §4).
//
// A record schema is an object schema whose properties are the record's
// fields. Every field declares its type; the types a formula sees are:
//
//	JSON Schema                               Field type  formula (expr) type
//	{"type":"string"}                         string      string
//	{"type":"string","format":"date"}         date        time.Time (midnight UTC)
//	{"type":"string","format":"date-time"}    datetime    time.Time (UTC)
//	{"type":"integer"}                        integer     int
//	{"type":"integer","format":"money"}       money       float64, in major units (元)
//	{"type":"number"}                         number      float64
//	{"type":"boolean"}                        boolean     bool
//	{"type":"array","items":{…}}              array       []any of the item type
//	{"type":"object","properties":{…}}        object      a map with the nested fields
//
// Money is stored as an integer count of minor units (分, cents) and shown to
// formulas in major units; FromResult converts a computed amount back,
// rounding half-even to the minor unit.
//
// Formulas have spreadsheet semantics for missing values: ToEnv gives every
// declared field a value, the zero value of its type (0, "", false, the zero
// time, an empty list) when the record does not have it, so a formula never
// fails because an optional field was left empty.
package forms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr/types"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// FieldType is the type of a record field as the product sees it.
type FieldType string

// The field types.
const (
	TypeString   FieldType = "string"
	TypeInteger  FieldType = "integer"
	TypeNumber   FieldType = "number"
	TypeBoolean  FieldType = "boolean"
	TypeMoney    FieldType = "money"
	TypeDate     FieldType = "date"
	TypeDateTime FieldType = "datetime"
	TypeArray    FieldType = "array"
	TypeObject   FieldType = "object"
)

// MinorPerMajor is the number of minor units (分, cents) in one major unit
// (元, dollar) of every money field.
const MinorPerMajor = 100

// maxSafeMinor bounds money amounts to integers a float64 (and a browser)
// represents exactly: ±(2^53−1) minor units.
const maxSafeMinor = 1<<53 - 1

// Field describes one field of a record schema.
type Field struct {
	// Name is the property name; empty for the item of an array.
	Name string
	Type FieldType
	// Format is the schema's format keyword, if any ("email", "money", …).
	Format string
	// Enum lists the allowed values, if the schema restricts them.
	Enum []any
	// ReadOnly fields are set by the server (computed fields); they may be
	// absent from submitted records even when listed as required.
	ReadOnly bool
	// Required reports whether the field is listed in its object's required
	// list (and is not read-only).
	Required bool
	// Nullable reports whether null is an allowed value.
	Nullable    bool
	Title       string
	Description string
	// Items describes the elements of an array field.
	Items *Field
	// Fields are the properties of an object field, in declared order.
	Fields []Field
}

// Schema is a compiled record schema. It is safe for concurrent use.
type Schema struct {
	compiled *jsonschema.Schema
	fields   []Field
	env      types.Map
}

// SchemaError is a problem with a record schema. Pointer is a JSON Pointer
// into the schema document ("" for the whole document).
type SchemaError struct {
	Pointer string
	Message string
}

// Error formats the problem with its pointer.
func (e *SchemaError) Error() string {
	if e.Pointer == "" {
		return "invalid schema: " + e.Message
	}
	return fmt.Sprintf("invalid schema at %s: %s", e.Pointer, e.Message)
}

// SchemaErrorList is every problem found in a schema; Compile returns one
// when a schema is rejected.
type SchemaErrorList []*SchemaError

// Error joins the problems into one message.
func (l SchemaErrorList) Error() string {
	if len(l) == 0 {
		return "invalid schema"
	}
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	if len(l) == 1 {
		return msgs[0]
	}
	return fmt.Sprintf("%d problems: %s", len(l), strings.Join(msgs, "; "))
}

// SchemaErrors returns the problems an error from Compile describes, or nil
// if err is not a schema error.
func SchemaErrors(err error) []SchemaError {
	var list SchemaErrorList
	if errors.As(err, &list) {
		out := make([]SchemaError, len(list))
		for i, e := range list {
			out[i] = *e
		}
		return out
	}
	var one *SchemaError
	if errors.As(err, &one) {
		return []SchemaError{*one}
	}
	return nil
}

var (
	fieldName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	reserved  = map[string]bool{"id": true, "owner": true, "version": true}
)

// maxSchemaBytes bounds the size of a record schema.
const maxSchemaBytes = 1 << 20

// schemaURL names the schema resource inside its private compiler.
const schemaURL = "stride:///record.schema.json"

// Compile checks and compiles a record schema. The root must be an object
// schema with properties; every property must have an identifier name that
// is not reserved (id, owner, version, or anything starting with "_") and
// declare its type. A rejected schema yields a SchemaErrorList whose
// pointers point into the schema.
func Compile(schema []byte) (*Schema, error) {
	if len(schema) > maxSchemaBytes {
		return nil, SchemaErrorList{{Message: fmt.Sprintf("schema is larger than %d bytes", maxSchemaBytes)}}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, SchemaErrorList{{Message: "not valid JSON: " + err.Error()}}
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, SchemaErrorList{{Message: "a record schema must be a JSON object"}}
	}
	var errs SchemaErrorList
	fail := func(ptr, format string, args ...any) {
		errs = append(errs, &SchemaError{Pointer: ptr, Message: fmt.Sprintf(format, args...)})
	}
	if t, _ := root["type"].(string); t != "object" {
		fail("/type", `a record schema must have "type": "object"`)
	}
	if s, ok := root["$schema"]; ok && s != "https://json-schema.org/draft/2020-12/schema" {
		fail("/$schema", "only JSON Schema draft 2020-12 is supported")
	}
	props, ok := root["properties"].(map[string]any)
	if !ok || len(props) == 0 {
		fail("/properties", "a record schema must declare its fields in properties")
	}
	noRefs(root, "", fail)
	// Exact arithmetic on huge numbers is slow; no sane schema needs them.
	for _, fe := range screenNumbers(root, nil, nil) {
		fail(fe.Pointer, "%s", fe.Message)
	}
	order, err := propertyOrder(schema)
	if err != nil {
		return nil, SchemaErrorList{{Message: "not valid JSON: " + err.Error()}}
	}
	var fields []Field
	if ok {
		fields = objectFields(root, "", order, fail, true)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sch, err := compileDoc(doc, true)
	if err != nil {
		return nil, err
	}
	s := &Schema{compiled: sch, fields: fields}
	s.env = envTypes(fields)
	return s, nil
}

// unsupported names the keywords record schemas may not use, and why.
var unsupported = map[string]string{
	"$ref":          "references are not supported in record schemas; define the field inline",
	"$dynamicRef":   "references are not supported in record schemas; define the field inline",
	"$recursiveRef": "references are not supported in record schemas; define the field inline",
	// jsonschema v6.0.3 reports propertyNames failures at a wrong location;
	// record fields are declared by name in properties anyway.
	"propertyNames": "propertyNames is not supported in record schemas; declare the fields in properties",
}

// noRefs rejects references (fields are defined inline, so their types are
// known without resolving anything) and the other unsupported keywords
// anywhere in a record schema.
func noRefs(v any, ptr string, fail func(string, string, ...any)) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			if msg, ok := unsupported[k]; ok {
				fail(ptr+"/"+escape(k), "%s", msg)
				continue
			}
			noRefs(x[k], ptr+"/"+escape(k), fail)
		}
	case []any:
		for i, e := range x {
			noRefs(e, fmt.Sprintf("%s/%d", ptr, i), fail)
		}
	}
}

// objectFields extracts the fields of an object schema at ptr, in declared
// order, checking each one. Read-only properties are dropped from the
// object's required list so records may leave them out.
func objectFields(obj map[string]any, ptr string, order map[string][]string, fail func(string, string, ...any), root bool) []Field {
	props, _ := obj["properties"].(map[string]any)
	required := map[string]bool{}
	if req, ok := obj["required"].([]any); ok {
		kept := req[:0:0]
		for _, r := range req {
			name, _ := r.(string)
			if p, ok := props[name].(map[string]any); ok && p["readOnly"] == true {
				continue
			}
			required[name] = true
			kept = append(kept, r)
		}
		obj["required"] = kept
	}
	names := order[ptr+"/properties"]
	// Keys the order scan missed cannot happen for valid JSON, but keep every
	// property whatever happens.
	for _, k := range sortedKeys(props) {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	fields := make([]Field, 0, len(props))
	for _, name := range names {
		p := ptr + "/properties/" + escape(name)
		switch {
		case !fieldName.MatchString(name):
			fail(p, "field name %q is not an identifier (letters, digits and _, not starting with a digit)", name)
			continue
		case root && (reserved[name] || strings.HasPrefix(name, "_")):
			fail(p, "field name %q is reserved", name)
			continue
		}
		sub, ok := props[name].(map[string]any)
		if !ok {
			fail(p, "a field must be described by an object schema")
			continue
		}
		f, ok := field(sub, p, order, fail)
		if !ok {
			continue
		}
		f.Name = name
		f.Required = required[name]
		fields = append(fields, f)
	}
	return fields
}

// field describes the property schema at ptr.
func field(s map[string]any, ptr string, order map[string][]string, fail func(string, string, ...any)) (Field, bool) {
	var f Field
	var typ string
	switch t := s["type"].(type) {
	case string:
		typ = t
	case []any:
		var kinds []string
		for _, k := range t {
			ks, _ := k.(string)
			if ks == "null" {
				f.Nullable = true
				continue
			}
			kinds = append(kinds, ks)
		}
		if len(kinds) == 1 {
			typ = kinds[0]
		}
	}
	format, _ := s["format"].(string)
	f.Format = format
	f.ReadOnly = s["readOnly"] == true
	f.Title, _ = s["title"].(string)
	f.Description, _ = s["description"].(string)
	if e, ok := s["enum"].([]any); ok {
		f.Enum = make([]any, len(e))
		for i, v := range e {
			f.Enum[i] = normalizeNumber(v, typ == "integer")
		}
	}
	switch typ {
	case "string":
		switch format {
		case "date":
			f.Type = TypeDate
		case "date-time":
			f.Type = TypeDateTime
		case "money":
			fail(ptr+"/format", `format "money" needs "type": "integer" (an amount in minor units)`)
			return f, false
		default:
			f.Type = TypeString
		}
	case "integer":
		f.Type = TypeInteger
		if format == "money" {
			f.Type = TypeMoney
		}
	case "number":
		f.Type = TypeNumber
		if format == "money" {
			fail(ptr+"/type", `format "money" needs "type": "integer" (an amount in minor units)`)
			return f, false
		}
	case "boolean":
		f.Type = TypeBoolean
	case "array":
		f.Type = TypeArray
		items, ok := s["items"].(map[string]any)
		if !ok {
			fail(ptr+"/items", "an array field must describe its items with an object schema")
			return f, false
		}
		it, ok := field(items, ptr+"/items", order, fail)
		if !ok {
			return f, false
		}
		f.Items = &it
	case "object":
		f.Type = TypeObject
		if _, ok := s["properties"].(map[string]any); !ok {
			fail(ptr+"/properties", "an object field must declare its fields in properties")
			return f, false
		}
		f.Fields = objectFields(s, ptr, order, fail, false)
	default:
		fail(ptr+"/type", `a field must declare one type: "string", "integer", "number", "boolean", "array" or "object" (optionally with "null")`)
		return f, false
	}
	if format == "date" || format == "date-time" {
		if f.Type != TypeDate && f.Type != TypeDateTime {
			fail(ptr+"/format", "format %q needs \"type\": \"string\"", format)
			return f, false
		}
	}
	return f, true
}

// propertyOrder scans the raw schema and returns, for every "properties"
// object (keyed by its JSON pointer), its member names in document order —
// decoding into maps loses that order, and forms show fields as declared.
func propertyOrder(raw []byte) (map[string][]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	out := map[string][]string{}
	var walk func(ptr string, collect bool) error
	walk = func(ptr string, collect bool) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				k, _ := kt.(string)
				if collect && !seen[k] {
					out[ptr] = append(out[ptr], k)
					seen[k] = true
				}
				if err := walk(ptr+"/"+escape(k), k == "properties" && !collect); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s/%d", ptr, i), false); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return out, walk("", false)
}

// refuseLoader keeps schemas from reaching files or the network: every
// reference must resolve inside the document.
type refuseLoader struct{}

// Load refuses every URL.
func (refuseLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("loading %q is not allowed: references must stay inside the schema", url)
}

// moneyFormat accepts whole numbers of minor units a float64 represents
// exactly; other JSON types are left to the type keyword.
var moneyFormat = &jsonschema.Format{Name: "money", Validate: func(v any) error {
	n, ok := asNumber(v)
	if !ok {
		return nil
	}
	if n != float64(int64(n)) || n > maxSafeMinor || n < -maxSafeMinor {
		return errors.New("not a whole number of minor units")
	}
	return nil
}}

// newCompiler returns a compiler for draft 2020-12 with format assertions on,
// the money format registered and all loading refused.
func newCompiler() *jsonschema.Compiler {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.RegisterFormat(moneyFormat)
	c.UseLoader(refuseLoader{})
	return c
}

// compileDoc compiles a decoded schema document; with record set, problems
// are reported as a SchemaErrorList.
func compileDoc(doc any, record bool) (*jsonschema.Schema, error) {
	c := newCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, SchemaErrorList{{Message: err.Error()}}
	}
	sch, err := c.Compile(schemaURL)
	if err == nil {
		return sch, nil
	}
	var sve *jsonschema.SchemaValidationError
	if errors.As(err, &sve) {
		var ve *jsonschema.ValidationError
		if errors.As(sve.Err, &ve) {
			var list SchemaErrorList
			for _, fe := range flatten(ve) {
				list = append(list, &SchemaError{Pointer: fe.Pointer, Message: fe.Message})
			}
			if len(list) > 0 {
				return nil, list
			}
		}
	}
	var re *jsonschema.InvalidRegexError
	if errors.As(err, &re) {
		return nil, SchemaErrorList{{Pointer: fragment(re.URL), Message: fmt.Sprintf("invalid regular expression %q: %v", re.Regex, re.Err)}}
	}
	return nil, SchemaErrorList{{Message: err.Error()}}
}

// fragment returns the JSON pointer in a schema URL's fragment.
func fragment(url string) string {
	if _, frag, ok := strings.Cut(url, "#"); ok {
		return frag
	}
	return ""
}

// Fields returns the schema's fields in declared order.
func (s *Schema) Fields() []Field {
	return slices.Clone(s.fields)
}

// Field returns the top-level field called name.
func (s *Schema) Field(name string) (Field, bool) {
	for _, f := range s.fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

var timeType = types.TypeOf(time.Time{})

// EnvTypes returns the expr type of every top-level field, for compiling
// formulas over a record: integer → int, number and money → float64 (money
// in major units), string → string, boolean → bool, date and date-time →
// time.Time, arrays → types.Array of the item type, objects → a nested
// types.Map. The caller owns the returned map.
func (s *Schema) EnvTypes() types.Map {
	out := make(types.Map, len(s.env))
	for k, v := range s.env {
		out[k] = v
	}
	return out
}

func envTypes(fields []Field) types.Map {
	m := make(types.Map, len(fields))
	for _, f := range fields {
		m[f.Name] = envType(f)
	}
	return m
}

func envType(f Field) types.Type {
	switch f.Type {
	case TypeInteger:
		return types.Int
	case TypeNumber, TypeMoney:
		return types.Float64
	case TypeString:
		return types.String
	case TypeBoolean:
		return types.Bool
	case TypeDate, TypeDateTime:
		return timeType
	case TypeArray:
		if f.Items == nil {
			return types.Array(types.Any)
		}
		return types.Array(envType(*f.Items))
	case TypeObject:
		return envTypes(f.Fields)
	}
	return types.Any
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// escape encodes one JSON Pointer reference token (RFC 6901).
func escape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// pointer joins reference tokens into a JSON Pointer.
func pointer(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		b.WriteString(escape(t))
	}
	return b.String()
}

var (
	_ error                = (*SchemaError)(nil)
	_ error                = SchemaErrorList(nil)
	_ jsonschema.URLLoader = refuseLoader{}
)
