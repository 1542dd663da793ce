package forms

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
)

// FieldError is one problem with a value. Pointer is a JSON Pointer into the
// validated document ("/amount", "/items/0/qty"; "" for the document
// itself), Code a stable snake_case kind (required, type, enum, const,
// format, minimum, maximum, exclusive_minimum, exclusive_maximum,
// multiple_of, min_length, max_length, pattern, min_items, max_items,
// unique_items, contains, min_properties, max_properties,
// additional_properties, property_names, dependent_required, any_of, one_of,
// not, not_allowed, out_of_range, invalid) and Message an English sentence
// for a business user.
type FieldError struct {
	Pointer string `json:"pointer"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error formats the problem as "pointer: message".
func (e FieldError) Error() string {
	if e.Pointer == "" {
		return e.Message
	}
	return e.Pointer + ": " + e.Message
}

// Validate checks a record against the schema and returns every problem, in
// pointer order; nil means valid. data is decoded JSON (numbers as
// json.Number, float64 or int64); other Go values are first converted
// through JSON. A "required" problem points at the missing field itself.
// Read-only fields may be absent even if listed as required.
func (s *Schema) Validate(data any) []FieldError {
	return validate(s.compiled, data)
}

func validate(sch *jsonschema.Schema, data any) []FieldError {
	data, err := jsonValue(data)
	if err != nil {
		return []FieldError{{Code: "invalid", Message: "the value cannot be represented as JSON: " + err.Error()}}
	}
	// Numbers too large or too long would make the validator's exact
	// arithmetic (math/big) slow; reject them before it sees them.
	if out := screenNumbers(data, nil, nil); len(out) > 0 {
		return out
	}
	verr := sch.Validate(data)
	if verr == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return []FieldError{{Code: "invalid", Message: verr.Error()}}
	}
	return flatten(ve)
}

// flatten turns a validation error tree into sorted, de-duplicated field
// errors.
func flatten(ve *jsonschema.ValidationError) []FieldError {
	var out []FieldError
	collect(ve, &out)
	slices.SortStableFunc(out, func(a, b FieldError) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		return strings.Compare(a.Code, b.Code)
	})
	return slices.Compact(out)
}

func collect(ve *jsonschema.ValidationError, out *[]FieldError) {
	ptr := pointer(ve.InstanceLocation)
	add := func(p, code, format string, args ...any) {
		*out = append(*out, FieldError{Pointer: p, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	switch k := ve.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf, nil:
		for _, c := range ve.Causes {
			collect(c, out)
		}
	case *kind.Required:
		for _, m := range k.Missing {
			add(ptr+"/"+escape(m), "required", "this field is required")
		}
	case *kind.DependentRequired:
		for _, m := range k.Missing {
			add(ptr+"/"+escape(m), "dependent_required", "this field is required when %s is present", k.Prop)
		}
	case *kind.Dependency:
		for _, m := range k.Missing {
			add(ptr+"/"+escape(m), "dependent_required", "this field is required when %s is present", k.Prop)
		}
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			add(ptr+"/"+escape(p), "additional_properties", "unknown field")
		}
	case *kind.Type:
		add(ptr, "type", "expected %s, but got %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Enum:
		add(ptr, "enum", "must be one of %s", displayList(k.Want))
	case *kind.Const:
		add(ptr, "const", "must be %s", display(k.Want))
	case *kind.Format:
		add(ptr, "format", "%s", formatMessage(k.Want))
	case *kind.MinLength:
		add(ptr, "min_length", "must be at least %s long", plural(k.Want, "character"))
	case *kind.MaxLength:
		add(ptr, "max_length", "must be at most %s long", plural(k.Want, "character"))
	case *kind.Pattern:
		add(ptr, "pattern", "must match the pattern %s", k.Want)
	case *kind.Minimum:
		add(ptr, "minimum", "must be at least %s", rat(k.Want))
	case *kind.Maximum:
		add(ptr, "maximum", "must be at most %s", rat(k.Want))
	case *kind.ExclusiveMinimum:
		add(ptr, "exclusive_minimum", "must be greater than %s", rat(k.Want))
	case *kind.ExclusiveMaximum:
		add(ptr, "exclusive_maximum", "must be less than %s", rat(k.Want))
	case *kind.MultipleOf:
		add(ptr, "multiple_of", "must be a multiple of %s", rat(k.Want))
	case *kind.MinItems:
		add(ptr, "min_items", "must have at least %s", plural(k.Want, "item"))
	case *kind.MaxItems:
		add(ptr, "max_items", "must have at most %s", plural(k.Want, "item"))
	case *kind.UniqueItems:
		add(ptr, "unique_items", "must not contain duplicates (items %d and %d are equal)", k.Duplicates[0], k.Duplicates[1])
	case *kind.Contains, *kind.MinContains, *kind.MaxContains:
		add(ptr, "contains", "does not contain the expected items")
	case *kind.MinProperties:
		add(ptr, "min_properties", "must have at least %s", plural(k.Want, "field"))
	case *kind.MaxProperties:
		add(ptr, "max_properties", "must have at most %s", plural(k.Want, "field"))
	case *kind.PropertyNames:
		add(ptr+"/"+escape(k.Property), "property_names", "%q is not an allowed field name", k.Property)
	case *kind.AnyOf:
		add(ptr, "any_of", "does not match any of the allowed forms")
	case *kind.OneOf:
		add(ptr, "one_of", "must match exactly one of the allowed forms")
	case *kind.Not:
		add(ptr, "not", "is a value that is not allowed here")
	case *kind.FalseSchema:
		add(ptr, "not_allowed", "is not allowed")
	case *kind.InvalidJsonValue:
		add(ptr, "invalid", "is not a JSON value (%T)", k.Value)
	default:
		add(ptr, "invalid", "is invalid (%s)", strings.Join(ve.ErrorKind.KeywordPath(), "/"))
	}
}

func formatMessage(format string) string {
	switch format {
	case "date":
		return "must be a date like 2026-11-23"
	case "date-time":
		return "must be a date and time like 2026-11-23T14:00:00+08:00"
	case "time":
		return "must be a time like 14:00:00+08:00"
	case "email":
		return "must be an email address"
	case "money":
		return fmt.Sprintf("must be a whole amount in minor units (分), e.g. 1250000 for 12500.00; at most %d", int64(maxSafeMinor))
	case "uri", "iri":
		return "must be an absolute URL"
	case "uuid":
		return "must be a UUID"
	case "ipv4", "ipv6":
		return "must be an " + strings.ToUpper(format[:2]) + format[2:] + " address"
	case "hostname":
		return "must be a host name"
	}
	return "must be a valid " + format
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

func rat(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func display(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func displayList(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = display(v)
	}
	return strings.Join(parts, ", ")
}

// Limits on JSON numbers the validator is asked to check exactly.
const (
	maxNumberLen = 40  // characters of a json.Number
	maxExponent  = 400 // |exponent| beyond float64's range is out of range anyway
)

// screenNumbers reports numbers that are out of range for a record field.
func screenNumbers(v any, path []string, out []FieldError) []FieldError {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			out = screenNumbers(x[k], append(path, k), out)
		}
	case []any:
		for i, e := range x {
			out = screenNumbers(e, append(path, strconv.Itoa(i)), out)
		}
	case json.Number:
		if !numberInRange(string(x)) {
			out = append(out, FieldError{Pointer: pointer(path), Code: "out_of_range", Message: "number is too large or has too many digits"})
		}
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			out = append(out, FieldError{Pointer: pointer(path), Code: "out_of_range", Message: "number is not finite"})
		}
	}
	return out
}

func numberInRange(s string) bool {
	if len(s) > maxNumberLen {
		return false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > maxExponent || e < -maxExponent {
			return false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && !math.IsInf(f, 0)
}

// jsonValue returns v if it is made only of decoded-JSON types, else v
// converted through JSON (numbers as json.Number).
func jsonValue(v any) (any, error) {
	if isJSON(v, 0) {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func isJSON(v any, depth int) bool {
	if depth > 10000 {
		return false
	}
	switch x := v.(type) {
	case nil, bool, string, json.Number, float64, int64, int:
		return true
	case map[string]any:
		for _, e := range x {
			if !isJSON(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !isJSON(e, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// asNumber converts any Go or JSON number to float64.
func asNumber(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case int16:
		return float64(x), true
	case int8:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint64:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint8:
		return float64(x), true
	}
	return 0, false
}

// asInt64 converts a whole number to int64.
func asInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, true
		}
	}
	f, ok := asNumber(v)
	if !ok || f != math.Trunc(f) || f >= 1<<63 || f < -(1<<63) {
		return 0, false
	}
	return int64(f), true
}

// normalizeNumber converts a json.Number to int64 (integer fields) or
// float64; other values are returned unchanged.
func normalizeNumber(v any, integer bool) any {
	n, ok := v.(json.Number)
	if !ok {
		return v
	}
	if integer {
		if i, ok := asInt64(n); ok {
			return i
		}
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		return v
	}
	return f
}

// Normalize returns a copy of a validated record in storage form: numbers of
// integer and money fields as int64, other numbers as float64, recursively
// through arrays and objects. Members the schema does not declare are kept,
// their numbers as float64.
func (s *Schema) Normalize(data map[string]any) map[string]any {
	return normalizeObject(s.fields, data)
}

func normalizeObject(fields []Field, data map[string]any) map[string]any {
	if data == nil {
		return nil
	}
	out := make(map[string]any, len(data))
	for k, v := range data {
		f, ok := findField(fields, k)
		if !ok {
			out[k] = normalizeAny(v)
			continue
		}
		out[k] = normalizeValue(f, v)
	}
	return out
}

func findField(fields []Field, name string) (Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

func normalizeValue(f Field, v any) any {
	switch f.Type {
	case TypeInteger, TypeMoney:
		if i, ok := asInt64(v); ok {
			return i
		}
	case TypeNumber:
		if n, ok := asNumber(v); ok {
			return n
		}
	case TypeArray:
		if arr, ok := v.([]any); ok && f.Items != nil {
			out := make([]any, len(arr))
			for i, e := range arr {
				out[i] = normalizeValue(*f.Items, e)
			}
			return out
		}
	case TypeObject:
		if m, ok := v.(map[string]any); ok {
			return normalizeObject(f.Fields, m)
		}
	}
	return normalizeAny(v)
}

// normalizeAny converts the numbers of an undeclared value to float64.
func normalizeAny(v any) any {
	switch x := v.(type) {
	case json.Number:
		return normalizeNumber(x, false)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeAny(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalizeAny(e)
		}
		return out
	}
	return v
}

var _ error = FieldError{}
