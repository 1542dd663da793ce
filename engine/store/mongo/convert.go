package mongo

import (
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// What a call may contain (names, paths, keys, values, conditions, cursors)
// is decided by package docutil, shared with the sqlite adapter, so that a
// call rejected by one backend is rejected by the other. This file holds the
// conversions between the document value set and BSON.

func e(k string, v any) bson.E { return bson.E{Key: k, Value: v} }

// bsonValue converts a value of the document value set, as
// docutil.Normalize returns it, to what is written: objects become bson.D
// with sorted keys, so that equal objects are equal to the server, and
// arrays bson.A; scalars are already BSON's (int64, float64, string, bool,
// null).
func bsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return appendFields(make(bson.D, 0, len(x)), x)
	case []any:
		out := make(bson.A, len(x))
		for i, el := range x {
			out[i] = bsonValue(el)
			if inner, ok := out[i].(bson.A); ok {
				// FerretDB (the test server) refuses arrays directly inside
				// arrays, which commission tables ([[threshold, rate], …])
				// are; such an element is stored wrapped in an object, on
				// every server alike, and unwrapped on reading.
				out[i] = bson.D{e(docutil.NestedArrayKey, inner)}
			}
		}
		return out
	}
	return v
}

// appendFields appends the fields of m to d in key order.
func appendFields(d bson.D, m map[string]any) bson.D {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		d = append(d, e(k, bsonValue(m[k])))
	}
	return d
}

// encodeDoc validates a caller's document and builds the stored one: _id
// first, then _v, then the fields in key order. The caller's map is not
// modified.
func encodeDoc(doc store.Doc, version int64) (string, bson.D, error) {
	id, body, err := docutil.PrepareDoc(doc)
	if err != nil {
		return "", nil, err
	}
	d := make(bson.D, 0, len(body)+2)
	d = append(d, e(store.KeyID, id), e(store.KeyVersion, version))
	return id, appendFields(d, body), nil
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
		if el, err := d.IndexErr(0); err == nil && el.Key() == docutil.NestedArrayKey && el.Value().Type == bson.TypeArray {
			if _, err := d.IndexErr(1); err != nil { // the only field: an array stored inside an array
				return fromRawValue(el.Value())
			}
		}
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
