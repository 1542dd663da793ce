package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"stride/engine/store"
)

// collPattern is what collection and index names must match.
var collPattern = store.CollectionPattern

func checkColl(name string) error {
	if !collPattern.MatchString(name) {
		return fmt.Errorf("collection name %q: %w", name, store.ErrInvalid)
	}
	return nil
}

// checkPath validates a dotted field path used in a query, an index or an
// increment. Segments are non-empty, do not start with '$' and contain no
// characters that would need quoting inside a SQLite JSON path or a SQL
// string literal.
func checkPath(p string) error {
	if p == "" || len(p) > 256 {
		return fmt.Errorf("field path %q: %w", p, store.ErrInvalid)
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" || seg[0] == '$' {
			return fmt.Errorf("field path %q: %w", p, store.ErrInvalid)
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; c < 0x20 || c == '"' || c == '\'' || c == '\\' || c == 0x7f {
				return fmt.Errorf("field path %q: %w", p, store.ErrInvalid)
			}
		}
	}
	return nil
}

// checkKey validates a document key: it is stored verbatim, so it only has to
// be addressable and portable to MongoDB (no '.', no leading '$', no NUL).
func checkKey(k string) error {
	if k == "" || k[0] == '$' || strings.ContainsAny(k, ".\x00") {
		return fmt.Errorf("document key %q: %w", k, store.ErrInvalid)
	}
	return nil
}

// normalize copies v into the document value set (nil, bool, string, int64,
// float64, []any, map[string]any), validating keys on the way. Values of
// other types go through encoding/json, exactly as they would be stored.
func normalize(v any, depth int) (any, error) {
	if depth > 100 {
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
		return normalize(float64(x), depth)
	case json.Number:
		return parseNumber(string(x))
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if err := checkKey(k); err != nil {
				return nil, err
			}
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	// Anything else (typed slices and maps, structs, time.Time…) is stored as
	// its JSON encoding, so normalize that.
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value of type %T: %v: %w", v, err, store.ErrInvalid)
	}
	d, err := parseJSON(string(b))
	if err != nil {
		return nil, err
	}
	return normalize(d, depth)
}

// parseNumber converts a JSON number literal: integers that fit are int64,
// everything else float64.
func parseNumber(s string) (any, error) {
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

// decodeDoc decodes a stored document body and adds the reserved keys.
func decodeDoc(id string, version int64, body string) (store.Doc, error) {
	v, err := parseJSON(body)
	if err != nil {
		return nil, fmt.Errorf("document %q: %w", id, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("document %q: stored body is not an object", id)
	}
	m[store.KeyID] = id
	m[store.KeyVersion] = version
	return m, nil
}

// encodeJSON encodes a normalized value without HTML escaping (map keys are
// sorted by encoding/json, so equal documents encode equally).
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode JSON: %v: %w", err, store.ErrInvalid)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// prepareDoc validates a caller's document and splits it into its id and its
// stored body (the document without the reserved keys). The caller's map is
// not modified.
func prepareDoc(doc store.Doc) (string, map[string]any, error) {
	if doc == nil {
		return "", nil, fmt.Errorf("nil document: %w", store.ErrInvalid)
	}
	id, ok := doc[store.KeyID].(string)
	if !ok || id == "" {
		return "", nil, fmt.Errorf("document needs a non-empty string %s: %w", store.KeyID, store.ErrInvalid)
	}
	body := make(map[string]any, len(doc))
	for k, v := range doc {
		if k == store.KeyID || k == store.KeyVersion {
			continue
		}
		if err := checkKey(k); err != nil {
			return "", nil, err
		}
		n, err := normalize(v, 1)
		if err != nil {
			return "", nil, fmt.Errorf("field %q: %w", k, err)
		}
		body[k] = n
	}
	return id, body, nil
}

// lookup returns the value at a dotted path of a decoded document.
func lookup(d map[string]any, path string) any {
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

// condValue normalizes a scalar condition value. ok is false for values that
// cannot be compared (maps, slices, unknown types).
func condValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, true
	case json.Number:
		n, err := parseNumber(string(x))
		return n, err == nil
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return float64(x), !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		n, err := normalize(x, 0)
		return n, err == nil
	}
	return nil, false
}

// listValue turns the Value of an In condition into a slice of scalars.
func listValue(v any) ([]any, bool) {
	if v == nil {
		return nil, false
	}
	if l, ok := v.([]any); ok {
		out := make([]any, len(l))
		for i, e := range l {
			n, ok := condValue(e)
			if !ok {
				return nil, false
			}
			out[i] = n
		}
		return out, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		n, ok := condValue(rv.Index(i).Interface())
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// setPath stores v at a dotted path, creating intermediate objects.
func setPath(d map[string]any, path string, v any) error {
	segs := strings.Split(path, ".")
	cur := d
	for _, seg := range segs[:len(segs)-1] {
		next, ok := cur[seg]
		if !ok || next == nil {
			m := map[string]any{}
			cur[seg] = m
			cur = m
			continue
		}
		m, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("path %q crosses a non-object value: %w", path, store.ErrInvalid)
		}
		cur = m
	}
	cur[segs[len(segs)-1]] = v
	return nil
}

// incPath adds delta to the number at a dotted path (absent counts as 0).
func incPath(d map[string]any, path string, delta int64) error {
	cur := lookup(d, path)
	var next any
	switch n := cur.(type) {
	case nil:
		next = delta
	case int64:
		s := n + delta
		if (delta > 0 && s < n) || (delta < 0 && s > n) {
			return fmt.Errorf("increment of %q overflows int64: %w", path, store.ErrInvalid)
		}
		next = s
	case float64:
		next = n + float64(delta)
	default:
		return fmt.Errorf("cannot increment non-numeric %q (%T): %w", path, cur, store.ErrInvalid)
	}
	return setPath(d, path, next)
}

// checkIncPaths validates the paths of an Inc call: valid, not reserved, and
// no path equal to or a prefix of another (MongoDB rejects such updates).
func checkIncPaths(inc map[string]int64, setOnInsert store.Doc) error {
	paths := make([]string, 0, len(inc)+len(setOnInsert))
	for p := range inc {
		if p == store.KeyID || p == store.KeyVersion {
			return fmt.Errorf("cannot increment %q: %w", p, store.ErrInvalid)
		}
		if err := checkPath(p); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	for p := range setOnInsert {
		if p == store.KeyID || p == store.KeyVersion {
			continue
		}
		if err := checkPath(p); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			if a == b || strings.HasPrefix(b, a+".") || strings.HasPrefix(a, b+".") {
				return fmt.Errorf("conflicting update paths %q and %q: %w", a, b, store.ErrInvalid)
			}
		}
	}
	return nil
}
