package mongo

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"stride/engine/store"
)

// The query language used here is deliberately small — $eq, $ne, $in, $gt,
// $gte, $lt, $lte, null equality, $and and $or — all of which FerretDB v1
// supports (DESIGN.md §3). Exists is expressed with null comparisons rather
// than $exists because the contract's "present and not null" is exactly
// {$ne: null} and "absent or null" is {f: null}.

func invalidCond(c store.Cond, why string) error {
	return fmt.Errorf("condition %s %s %v: %s: %w", c.Field, c.Op, c.Value, why, store.ErrInvalid)
}

// checkReservedValue enforces the types of _id (string) and _v (number).
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

// condFilter translates one condition.
func condFilter(c store.Cond) (bson.D, error) {
	if err := checkField(c.Field); err != nil {
		return nil, err
	}
	reserved := isReserved(c.Field)
	op := func(name string, v any) bson.D { return bson.D{e(c.Field, bson.D{e(name, v)})} }
	switch c.Op {
	case store.Eq, store.Ne:
		v, ok := condValue(c.Value)
		if !ok {
			return nil, invalidCond(c, "value must be a scalar")
		}
		if reserved {
			if err := checkReservedValue(c, v); err != nil {
				return nil, err
			}
		}
		if c.Op == store.Eq {
			if v == nil {
				return bson.D{e(c.Field, nil)}, nil // null or missing
			}
			return op("$eq", v), nil
		}
		return op("$ne", v), nil // matches missing fields too
	case store.In:
		list, ok := listValue(c.Value)
		if !ok {
			return nil, invalidCond(c, "value must be a list of scalars")
		}
		if reserved {
			for _, v := range list {
				if err := checkReservedValue(c, v); err != nil {
					return nil, err
				}
			}
		}
		return op("$in", list), nil
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
		if reserved {
			if err := checkReservedValue(c, v); err != nil {
				return nil, err
			}
		}
		return op("$"+string(c.Op), v), nil
	case store.Exists:
		want, ok := c.Value.(bool)
		if !ok {
			return nil, invalidCond(c, "exists takes a bool")
		}
		if want {
			return op("$ne", nil), nil
		}
		return bson.D{e(c.Field, nil)}, nil
	}
	return nil, invalidCond(c, "unknown operator")
}

// sortKeys returns the effective sort keys: the caller's, up to and including
// an explicit _id key, which already makes the order total.
func sortKeys(q store.Query) ([]store.SortKey, error) {
	keys := make([]store.SortKey, 0, len(q.Sort))
	seen := map[string]bool{}
	for _, s := range q.Sort {
		if err := checkField(s.Field); err != nil {
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

func sortSpec(keys []store.SortKey) bson.D {
	spec := bson.D{}
	total := false
	for _, k := range keys {
		dir := 1
		if k.Desc {
			dir = -1
		}
		spec = append(spec, e(k.Field, dir))
		total = total || k.Field == store.KeyID
	}
	if !total {
		spec = append(spec, e(store.KeyID, 1))
	}
	return spec
}

// afterFilter selects documents strictly after the cursor in (keys…, _id)
// order. MongoDB sorts null and missing first and equal to each other.
func afterFilter(keys []store.SortKey, c *cursor) bson.D {
	var terms bson.A
	var prefix bson.A
	and := func(last bson.D) bson.D {
		parts := append(append(bson.A{}, prefix...), last)
		if len(parts) == 1 {
			return last
		}
		return bson.D{e("$and", parts)}
	}
	idDesc := false
	for i, k := range keys {
		if k.Field == store.KeyID {
			idDesc = k.Desc
			break
		}
		v := c.Keys[i]
		switch {
		case v == nil && !k.Desc:
			terms = append(terms, and(bson.D{e(k.Field, bson.D{e("$ne", nil)})}))
		case v == nil && k.Desc:
			// nothing sorts after null in descending order
		case !k.Desc:
			terms = append(terms, and(bson.D{e(k.Field, bson.D{e("$gt", v)})}))
		default:
			terms = append(terms, and(bson.D{e("$or", bson.A{
				bson.D{e(k.Field, bson.D{e("$lt", v)})},
				bson.D{e(k.Field, nil)},
			})}))
		}
		if v == nil {
			prefix = append(prefix, bson.D{e(k.Field, nil)})
		} else {
			prefix = append(prefix, bson.D{e(k.Field, bson.D{e("$eq", v)})})
		}
	}
	idOp := "$gt"
	if idDesc {
		idOp = "$lt"
	}
	terms = append(terms, and(bson.D{e(store.KeyID, bson.D{e(idOp, c.ID)})}))
	if len(terms) == 1 {
		return terms[0].(bson.D)
	}
	return bson.D{e("$or", terms)}
}

// query is a validated store.Query in MongoDB terms.
type query struct {
	filter bson.D
	sort   bson.D
	keys   []store.SortKey
}

// buildQuery validates and translates a query; withCursor false ignores
// After (Count).
func buildQuery(q store.Query, withCursor bool) (*query, error) {
	keys, err := sortKeys(q)
	if err != nil {
		return nil, err
	}
	var parts bson.A
	for _, c := range q.Where {
		f, err := condFilter(c)
		if err != nil {
			return nil, err
		}
		parts = append(parts, f)
	}
	if withCursor {
		cur, err := decodeCursor(q, keys)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			parts = append(parts, afterFilter(keys, cur))
		}
	}
	out := &query{sort: sortSpec(keys), keys: keys, filter: bson.D{}}
	switch len(parts) {
	case 0:
	case 1:
		out.filter = parts[0].(bson.D)
	default:
		out.filter = bson.D{e("$and", parts)}
	}
	return out, nil
}
