package mongo

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// The query language used here is deliberately small — $eq, $ne, $in, $gt,
// $gte, $lt, $lte, null equality, $and and $or — all of which FerretDB v1
// supports (DESIGN.md §3). Exists is expressed with null comparisons rather
// than $exists because the contract's "present and not null" is exactly
// {$ne: null} and "absent or null" is {f: null}.

// condFilter translates one condition, validated by docutil.CheckCond.
func condFilter(c store.Cond) (bson.D, error) {
	v, err := docutil.CheckCond(c)
	if err != nil {
		return nil, err
	}
	op := func(name string, v any) bson.D { return bson.D{e(c.Field, bson.D{e(name, v)})} }
	switch c.Op {
	case store.Eq:
		if v == nil {
			return bson.D{e(c.Field, nil)}, nil // null or missing
		}
		return op("$eq", v), nil
	case store.Ne:
		return op("$ne", v), nil // matches missing fields too
	case store.In:
		return op("$in", bson.A(v.([]any))), nil
	case store.Gt, store.Gte, store.Lt, store.Lte:
		return op("$"+string(c.Op), v), nil
	case store.Exists:
		if v.(bool) {
			return op("$ne", nil), nil
		}
		return bson.D{e(c.Field, nil)}, nil
	}
	return nil, fmt.Errorf("operator %q: %w", c.Op, store.ErrInvalid) // rejected by CheckCond
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
func afterFilter(keys []store.SortKey, c *docutil.Cursor) bson.D {
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
		v := bsonValue(c.Keys[i])
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
}

// buildQuery validates and translates a query; withCursor false ignores
// After (Count).
func buildQuery(q store.Query, withCursor bool) (*query, error) {
	keys, err := docutil.SortKeys(q)
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
		cur, err := docutil.DecodeCursor(q)
		if err != nil {
			return nil, err
		}
		if cur != nil {
			parts = append(parts, afterFilter(keys, cur))
		}
	}
	out := &query{sort: sortSpec(keys), filter: bson.D{}}
	switch len(parts) {
	case 0:
	case 1:
		out.filter = parts[0].(bson.D)
	default:
		out.filter = bson.D{e("$and", parts)}
	}
	return out, nil
}
