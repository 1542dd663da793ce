package docutil

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"

	"stride/engine/store"
)

// CheckCond validates a condition and returns its value normalized:
//
//   - Eq, Ne: a scalar (nil, bool, string, int64 or float64);
//   - Gt, Gte, Lt, Lte: an int64, a float64 or a string;
//   - In: a []any of scalars (possibly empty);
//   - Exists: a bool.
//
// The field must pass CheckField; on _id values must be strings and on _v
// numbers, so that a condition on them never silently compares across types.
func CheckCond(c store.Cond) (any, error) {
	if err := CheckField(c.Field); err != nil {
		return nil, err
	}
	switch c.Op {
	case store.Eq, store.Ne:
		v, ok := condValue(c.Value)
		if !ok {
			return nil, invalidCond(c, "value must be a scalar")
		}
		if err := checkReservedValue(c, v); err != nil {
			return nil, err
		}
		return v, nil
	case store.In:
		list, ok := listValue(c.Value)
		if !ok {
			return nil, invalidCond(c, "value must be a list of scalars")
		}
		for _, v := range list {
			if err := checkReservedValue(c, v); err != nil {
				return nil, err
			}
		}
		return list, nil
	case store.Gt, store.Gte, store.Lt, store.Lte:
		v, ok := condValue(c.Value)
		if !ok {
			return nil, invalidCond(c, "value must be a scalar")
		}
		switch v.(type) {
		case int64, float64, string:
		default:
			return nil, invalidCond(c, "range value must be a number or a string")
		}
		if err := checkReservedValue(c, v); err != nil {
			return nil, err
		}
		return v, nil
	case store.Exists:
		want, ok := c.Value.(bool)
		if !ok {
			return nil, invalidCond(c, "exists takes a bool")
		}
		return want, nil
	}
	return nil, invalidCond(c, "unknown operator")
}

func invalidCond(c store.Cond, why string) error {
	return fmt.Errorf("condition %s %s %v: %s: %w", c.Field, c.Op, c.Value, why, store.ErrInvalid)
}

// checkReservedValue enforces the types of _id (string) and _v (number)
// values; other fields take any scalar.
func checkReservedValue(c store.Cond, v any) error {
	switch c.Field {
	case store.KeyID:
		if _, ok := v.(string); !ok {
			return invalidCond(c, "_id values are strings")
		}
	case store.KeyVersion:
		switch v.(type) {
		case int64, float64:
		default:
			return invalidCond(c, "_v values are numbers")
		}
	}
	return nil
}

// condValue normalizes a scalar condition value. ok is false for values that
// cannot be compared (objects, arrays, NaN, ±Inf, integers beyond int64,
// other types).
func condValue(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool, string:
		return x, true
	case json.Number:
		n, err := ParseNumber(string(x))
		return n, err == nil
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return condValue(float64(x))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		n, err := Normalize(x, 0)
		return n, err == nil
	}
	return nil, false
}

// listValue turns the Value of an In condition (a slice or array of any
// element type) into a slice of normalized scalars.
func listValue(v any) ([]any, bool) {
	if v == nil {
		return nil, false
	}
	if l, ok := v.([]any); ok {
		out := make([]any, len(l))
		for i, el := range l {
			n, ok := condValue(el)
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

// SortKeys validates a query's sort and returns the effective sort keys: the
// caller's, up to and including an explicit _id key, which already makes the
// order total. A field may appear only once.
func SortKeys(q store.Query) ([]store.SortKey, error) {
	keys := make([]store.SortKey, 0, len(q.Sort))
	seen := map[string]bool{}
	for _, s := range q.Sort {
		if err := CheckField(s.Field); err != nil {
			return nil, err
		}
		if seen[s.Field] {
			return nil, fmt.Errorf("sort field %q repeated: %w", s.Field, store.ErrInvalid)
		}
		seen[s.Field] = true
		keys = append(keys, s)
		if s.Field == store.KeyID {
			break
		}
	}
	return keys, nil
}
