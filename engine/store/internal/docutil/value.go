package docutil

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"stride/engine/store"
)

// maxDepth is how deeply a written value may nest (a document's fields are
// at depth 1).
const maxDepth = 100

// Normalize copies v into the document value set (nil, bool, string, int64,
// float64, []any, map[string]any), validating it on the way: every integer
// type becomes int64 (ErrInvalid beyond its range), float32 becomes float64,
// NaN and ±Inf are ErrInvalid, json.Number is parsed (ParseNumber), object
// keys must pass CheckKey and nesting is bounded. Values of any other type
// (typed slices and maps, structs, time.Time…) are normalized from their
// encoding/json form. depth is v's nesting level, 0 for a whole value.
//
// The result shares nothing with v; an adapter stores it as is (sqlite) or
// converts it without further checks (mongo).
func Normalize(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("document nested too deeply: %w", store.ErrInvalid)
	}
	switch x := v.(type) {
	case nil, bool, string, int64:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("number %v is not representable: %w", x, store.ErrInvalid)
		}
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		if uint64(x) > math.MaxInt64 {
			return nil, fmt.Errorf("number %d overflows int64: %w", x, store.ErrInvalid)
		}
		return int64(x), nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("number %d overflows int64: %w", x, store.ErrInvalid)
		}
		return int64(x), nil
	case float32:
		return Normalize(float64(x), depth)
	case json.Number:
		return ParseNumber(string(x))
	case map[string]any:
		return normalizeMap(x, depth)
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			n, err := Normalize(el, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	// Anything else is stored as its JSON encoding, so normalize that.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value of type %T: %v: %w", v, err, store.ErrInvalid)
	}
	d, err := decodeJSON(b)
	if err != nil {
		return nil, fmt.Errorf("value of type %T: %v: %w", v, err, store.ErrInvalid)
	}
	return Normalize(d, depth)
}

// normalizeMap normalizes an object at the given depth; its values are one
// level deeper.
func normalizeMap(m map[string]any, depth int) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, el := range m {
		if err := CheckKey(k); err != nil {
			return nil, err
		}
		n, err := Normalize(el, depth+1)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		out[k] = n
	}
	return out, nil
}

// decodeJSON decodes one JSON value with numbers as json.Number, which
// Normalize then parses.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, errors.New("trailing data after JSON value")
	}
	return v, nil
}

// jsonNumber is the grammar of a JSON number (RFC 8259 §6).
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// ParseNumber converts a JSON number literal: integers that fit are int64,
// everything else float64 (ErrInvalid if it is not a number or out of the
// float64 range).
func ParseNumber(s string) (any, error) {
	// strconv accepts "NaN", "Inf", "1_000" and hex floats; JSON numbers are
	// only digits, sign, point and exponent, and anything else must be
	// refused identically by every backend.
	if !jsonNumber.MatchString(s) {
		return nil, fmt.Errorf("number %q: %w", s, store.ErrInvalid)
	}
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("number %q: %w", s, store.ErrInvalid)
	}
	return f, nil
}

// PrepareDoc validates a caller's document for Insert or Replace and splits
// it into its id (a non-empty string _id) and its normalized body: every
// field but the reserved _id and _v (a _v in doc is ignored). The caller's
// map is not modified.
func PrepareDoc(doc store.Doc) (string, map[string]any, error) {
	if doc == nil {
		return "", nil, fmt.Errorf("nil document: %w", store.ErrInvalid)
	}
	id, ok := doc[store.KeyID].(string)
	if !ok || id == "" {
		return "", nil, fmt.Errorf("document needs a non-empty string %s: %w", store.KeyID, store.ErrInvalid)
	}
	body := make(map[string]any, len(doc))
	for k, v := range doc {
		if IsReserved(k) {
			continue
		}
		if err := CheckKey(k); err != nil {
			return "", nil, err
		}
		n, err := Normalize(v, 1)
		if err != nil {
			return "", nil, fmt.Errorf("field %q: %w", k, err)
		}
		body[k] = n
	}
	return id, body, nil
}

// Lookup returns the value at a dotted path of a decoded document (nil if
// absent or if the path crosses a non-object).
func Lookup(d map[string]any, path string) any {
	var cur any = d
	for _, seg := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	return cur
}

// EncodeJSON encodes a normalized value without HTML escaping. Map keys are
// sorted by encoding/json, so equal values encode equally.
func EncodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %v: %w", err, store.ErrInvalid)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
