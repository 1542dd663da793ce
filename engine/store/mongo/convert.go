package mongo

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"stride/engine/store"
)

// The validation rules below match the sqlite adapter's, so that a call
// rejected by one backend is rejected by the other (the conformance suite
// checks both).

// collPattern is what collection and index names must match.
var collPattern = store.CollectionPattern

func checkColl(name string) error {
	if !collPattern.MatchString(name) {
		return fmt.Errorf("collection name %q: %w", name, store.ErrInvalid)
	}
	return nil
}

// checkPath validates a dotted field path used in a query, an index or an
// increment.
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

func isReserved(path string) bool { return path == store.KeyID || path == store.KeyVersion }

func checkField(path string) error {
	if isReserved(path) {
		return nil
	}
	return checkPath(path)
}

// checkKey validates a document key (no '.', no leading '$', no NUL).
func checkKey(k string) error {
	if k == "" || k[0] == '$' || strings.ContainsAny(k, ".\x00") {
		return fmt.Errorf("document key %q: %w", k, store.ErrInvalid)
	}
	return nil
}

func e(k string, v any) bson.E { return bson.E{Key: k, Value: v} }

// toBSON converts a document value to what is written: int64 for every
// integer type, float64 for floats, bson.D with sorted keys for objects,
// bson.A for arrays. Values of other types go through encoding/json, as the
// sqlite adapter stores them.
func toBSON(v any, depth int) (any, error) {
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
	case float32:
		return toBSON(float64(x), depth)
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
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
	case json.Number:
		return parseNumber(string(x))
	case map[string]any:
		return toBSONDoc(x, depth)
	case []any:
		out := make(bson.A, len(x))
		for i, el := range x {
			n, err := toBSON(el, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("value of type %T: %v: %w", v, err, store.ErrInvalid)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var d any
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("value of type %T: %v: %w", v, err, store.ErrInvalid)
	}
	return toBSON(d, depth)
}

func toBSONDoc(m map[string]any, depth int) (bson.D, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if err := checkKey(k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(bson.D, 0, len(keys))
	for _, k := range keys {
		n, err := toBSON(m[k], depth+1)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		out = append(out, e(k, n))
	}
	return out, nil
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

// encodeDoc validates a caller's document and builds the stored one: _id
// first, then _v, then the fields in key order. The caller's map is not
// modified.
func encodeDoc(doc store.Doc, version int64) (string, bson.D, error) {
	if doc == nil {
		return "", nil, fmt.Errorf("nil document: %w", store.ErrInvalid)
	}
	id, ok := doc[store.KeyID].(string)
	if !ok || id == "" {
		return "", nil, fmt.Errorf("document needs a non-empty string %s: %w", store.KeyID, store.ErrInvalid)
	}
	body := make(map[string]any, len(doc))
	for k, v := range doc {
		if !isReserved(k) {
			body[k] = v
		}
	}
	fields, err := toBSONDoc(body, 0)
	if err != nil {
		return "", nil, err
	}
	return id, append(bson.D{e(store.KeyID, id), e(store.KeyVersion, version)}, fields...), nil
}

// fromRaw converts a stored document to the document value set.
func fromRaw(r bson.Raw) (map[string]any, error) {
	elems, err := r.Elements()
	if err != nil {
		return nil, fmt.Errorf("decode document: %w", err)
	}
	m := make(map[string]any, len(elems))
	for _, el := range elems {
		v, err := fromRawValue(el.Value())
		if err != nil {
			return nil, err
		}
		m[el.Key()] = v
	}
	return m, nil
}

func fromRawValue(v bson.RawValue) (any, error) {
	switch v.Type {
	case bson.TypeNull, bson.TypeUndefined:
		return nil, nil
	case bson.TypeBoolean:
		b, _ := v.BooleanOK()
		return b, nil
	case bson.TypeString:
		s, _ := v.StringValueOK()
		return s, nil
	case bson.TypeInt32:
		n, _ := v.Int32OK()
		return int64(n), nil
	case bson.TypeInt64:
		n, _ := v.Int64OK()
		return n, nil
	case bson.TypeDouble:
		f, _ := v.DoubleOK()
		return f, nil
	case bson.TypeEmbeddedDocument:
		d, _ := v.DocumentOK()
		return fromRaw(d)
	case bson.TypeArray:
		a, _ := v.ArrayOK()
		vals, err := a.Values()
		if err != nil {
			return nil, fmt.Errorf("decode array: %w", err)
		}
		out := make([]any, len(vals))
		for i, el := range vals {
			if out[i], err = fromRawValue(el); err != nil {
				return nil, err
			}
		}
		return out, nil
	// Types the adapter never writes, should another tool have written them.
	case bson.TypeDateTime:
		t, _ := v.TimeOK()
		return t.UTC().Format(time.RFC3339Nano), nil
	case bson.TypeObjectID:
		id, _ := v.ObjectIDOK()
		return id.Hex(), nil
	case bson.TypeDecimal128:
		d, _ := v.Decimal128OK()
		return d.String(), nil
	case bson.TypeBinary:
		_, data, _ := v.BinaryOK()
		return base64.StdEncoding.EncodeToString(data), nil
	}
	return v.String(), nil
}

// condValue normalizes a scalar condition value; ok is false for values that
// cannot be compared (objects, arrays, NaN, other types).
func condValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, true
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return condValue(float64(x))
	case json.Number:
		n, err := parseNumber(string(x))
		return n, err == nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		n, err := toBSON(x, 0)
		return n, err == nil
	}
	return nil, false
}

// listValue turns the Value of an In condition into a list of scalars.
func listValue(v any) (bson.A, bool) {
	if v == nil {
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make(bson.A, rv.Len())
	for i := range out {
		n, ok := condValue(rv.Index(i).Interface())
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
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

// cursor is the decoded form of Page.Next: the sort-key values and id of
// the last document of a page, and a fingerprint of the query it belongs to.
type cursor struct {
	Query string `json:"q"`
	Keys  []any  `json:"k,omitempty"`
	ID    string `json:"i"`
}

// fingerprint identifies a query's Where and Sort (not its Limit).
func fingerprint(q store.Query) string {
	h := fnv.New64a()
	for _, c := range q.Where {
		fmt.Fprintf(h, "w%q%q%T%v;", c.Field, c.Op, c.Value, c.Value)
	}
	for _, s := range q.Sort {
		fmt.Fprintf(h, "s%q%t;", s.Field, s.Desc)
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

func encodeCursor(q store.Query, keys []store.SortKey, last map[string]any) (string, error) {
	c := cursor{Query: fingerprint(q), ID: store.ID(last)}
	for _, k := range keys {
		if k.Field == store.KeyID {
			break
		}
		c.Keys = append(c.Keys, lookup(last, k.Field))
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeCursor(q store.Query, keys []store.SortKey) (*cursor, error) {
	if q.After == "" {
		return nil, nil
	}
	bad := fmt.Errorf("malformed cursor: %w", store.ErrInvalid)
	b, err := base64.RawURLEncoding.DecodeString(q.After)
	if err != nil {
		return nil, bad
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, bad
	}
	var c cursor
	c.Query, _ = raw["q"].(string)
	c.ID, _ = raw["i"].(string)
	list, _ := raw["k"].([]any)
	for _, v := range list {
		n, err := toBSON(v, 0) // json.Number → int64/float64, objects → bson.D
		if err != nil {
			return nil, bad
		}
		c.Keys = append(c.Keys, n)
	}
	n := 0
	for _, k := range keys {
		if k.Field == store.KeyID {
			break
		}
		n++
	}
	if c.Query != fingerprint(q) || c.ID == "" || len(c.Keys) != n {
		return nil, fmt.Errorf("cursor does not belong to this query: %w", store.ErrInvalid)
	}
	return &c, nil
}

// checkIncPaths validates the paths of an Inc call: valid, not reserved, and
// no path equal to or a prefix of another.
func checkIncPaths(inc map[string]int64, setOnInsert store.Doc) error {
	paths := make([]string, 0, len(inc)+len(setOnInsert))
	for p := range inc {
		if isReserved(p) {
			return fmt.Errorf("cannot increment %q: %w", p, store.ErrInvalid)
		}
		if err := checkPath(p); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	for p := range setOnInsert {
		if isReserved(p) {
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
