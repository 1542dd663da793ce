package sqlite

import (
	"fmt"
	"strings"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// tableName is the quoted SQL name of a collection's table.
func tableName(coll string) string { return `"c_` + coll + `"` }

// indexName is the quoted SQL name of a declared index. ':' cannot occur in
// collection or index names, so names of different collections never clash.
func indexName(coll, name string) string { return `"x:` + coll + `:` + name + `"` }

// jsonPath converts a checked dotted path to a SQLite JSON path literal body.
func jsonPath(path string) string {
	var b strings.Builder
	b.WriteString("$")
	for _, seg := range strings.Split(path, ".") {
		b.WriteString(`."`)
		b.WriteString(seg)
		b.WriteString(`"`)
	}
	return b.String()
}

// fieldExpr is the SQL expression reading a field. It must be spelled the
// same in queries and in CREATE INDEX for the planner to use an index.
func fieldExpr(path string) string {
	switch path {
	case store.KeyID:
		return "id"
	case store.KeyVersion:
		return "version"
	}
	return "json_extract(doc, '" + jsonPath(path) + "')"
}

func typeExpr(path string) string { return "json_type(doc, '" + jsonPath(path) + "')" }

// isColumn reports whether a field is stored in a column of its own: the
// reserved _id and _v are the id and version columns.
func isColumn(path string) bool { return docutil.IsReserved(path) }

// bindValue converts a scalar to what SQLite compares a json_extract result
// with: JSON true/false extract as 1/0, objects and arrays as their JSON text.
func bindValue(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case map[string]any, []any:
		b, err := docutil.EncodeJSON(x)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	}
	return v, nil
}

// builder accumulates SQL text and its arguments.
type builder struct {
	sql  strings.Builder
	args []any
}

func (b *builder) add(s string, args ...any) {
	b.sql.WriteString(s)
	b.args = append(b.args, args...)
}

// eq writes "field equals v" with MongoDB semantics for null (null or
// missing) and booleans (only JSON true/false, not 1/0).
func (b *builder) eq(path string, v any) {
	e := fieldExpr(path)
	switch x := v.(type) {
	case nil:
		b.add(e + " IS NULL")
	case bool:
		lit, n := "'false'", int64(0)
		if x {
			lit, n = "'true'", 1
		}
		b.add("("+e+" = ? AND "+typeExpr(path)+" = "+lit+")", n)
	case int64, float64:
		if isColumn(path) {
			b.add(e+" = ?", v)
		} else {
			b.add("("+e+" = ? AND "+numericGuard(path)+")", v)
		}
	default:
		b.add(e+" = ?", v)
	}
}

// numericGuard restricts a numeric comparison to JSON numbers: json_extract
// turns true/false into 1/0, which MongoDB would never compare with numbers.
func numericGuard(path string) string {
	return typeExpr(path) + " IN ('integer', 'real')"
}

// cond writes one condition, validated by docutil.CheckCond.
func (b *builder) cond(c store.Cond) error {
	v, err := docutil.CheckCond(c)
	if err != nil {
		return err
	}
	e := fieldExpr(c.Field)
	col := isColumn(c.Field)
	switch c.Op {
	case store.Eq:
		b.eq(c.Field, v)
	case store.Ne:
		if v == nil {
			b.add(e + " IS NOT NULL")
			return nil
		}
		b.add("(" + e + " IS NULL OR NOT ")
		b.eq(c.Field, v)
		b.add(")")
	case store.In:
		list := v.([]any)
		if len(list) == 0 {
			b.add("0")
			return nil
		}
		var plain, special []any
		for _, v := range list {
			switch v.(type) {
			case nil, bool:
				special = append(special, v)
			default:
				plain = append(plain, v)
			}
		}
		b.add("(")
		sep := ""
		if len(plain) > 0 {
			arr, err := docutil.EncodeJSON(plain)
			if err != nil {
				return err
			}
			guard := ""
			for _, v := range plain {
				if _, isStr := v.(string); !isStr && !col {
					guard = " AND " + typeExpr(c.Field) + " NOT IN ('true', 'false')"
				}
			}
			b.add("("+e+" IN (SELECT value FROM json_each(?))"+guard+")", string(arr))
			sep = " OR "
		}
		for _, v := range special {
			b.add(sep)
			b.eq(c.Field, v)
			sep = " OR "
		}
		b.add(")")
	case store.Gt, store.Gte, store.Lt, store.Lte:
		op := map[store.Op]string{store.Gt: ">", store.Gte: ">=", store.Lt: "<", store.Lte: "<="}[c.Op]
		upward := c.Op == store.Gt || c.Op == store.Gte
		switch v.(type) { // CheckCond admits numbers and strings only
		case int64, float64:
			// Like MongoDB, a numeric range matches numbers only (SQLite
			// orders NULL < numbers < text and reads booleans as 1/0).
			// The upper bound '' (the least text) also keeps an index range
			// scan from running on into the text values.
			switch {
			case col:
				b.add(e+" "+op+" ?", v)
			case upward:
				b.add("("+e+" "+op+" ? AND "+e+" < '' AND "+numericGuard(c.Field)+")", v)
			default:
				b.add("("+e+" "+op+" ? AND "+numericGuard(c.Field)+")", v)
			}
		case string:
			// Text sorts above numbers and NULL, so only a downward string
			// range needs a lower bound to skip them.
			if !upward && !col {
				b.add("("+e+" "+op+" ? AND "+e+" >= '')", v)
			} else {
				b.add(e+" "+op+" ?", v)
			}
		}
	case store.Exists:
		if v.(bool) {
			b.add(e + " IS NOT NULL")
		} else {
			b.add(e + " IS NULL")
		}
	default:
		return fmt.Errorf("operator %q: %w", c.Op, store.ErrInvalid) // rejected by CheckCond
	}
	return nil
}

// after writes the keyset condition selecting rows strictly after the cursor
// position in (keys…, _id) order, mirroring SQLite's ORDER BY semantics
// (NULL lowest, mixed types ordered by SQLite's type order).
func (b *builder) after(keys []store.SortKey, c *docutil.Cursor) error {
	idDesc := false
	var prefix builder
	b.add("(")
	sep := ""
	for i, k := range keys {
		if k.Field == store.KeyID {
			idDesc = k.Desc
			break
		}
		e := fieldExpr(k.Field)
		v, err := bindValue(c.Keys[i])
		if err != nil {
			return err
		}
		var term string
		var targs []any
		switch {
		case v == nil && !k.Desc:
			term = e + " IS NOT NULL"
		case v == nil && k.Desc:
			term = "" // nothing sorts after NULL in descending order
		case !k.Desc:
			term, targs = e+" > ?", []any{v}
		default:
			term, targs = "("+e+" < ? OR "+e+" IS NULL)", []any{v}
		}
		if term != "" {
			b.add(sep + "(")
			b.add(prefix.sql.String(), prefix.args...)
			b.add(term+")", targs...)
			sep = " OR "
		}
		if v == nil {
			prefix.add(e + " IS NULL AND ")
		} else {
			prefix.add(e+" = ? AND ", v)
		}
	}
	cmp := " > ?"
	if idDesc {
		cmp = " < ?"
	}
	b.add(sep + "(")
	b.add(prefix.sql.String(), prefix.args...)
	b.add("id"+cmp+"))", c.ID)
	return nil
}

// selectSQL builds the statement and arguments of a Find/Scan/Count.
// mode is "find" (id, version, doc; ordered; limited by the last argument)
// or "count".
func selectSQL(coll string, q store.Query, count bool) (string, []any, error) {
	var b builder
	if count {
		b.add("SELECT count(*) FROM " + tableName(coll))
	} else {
		b.add("SELECT id, version, doc FROM " + tableName(coll))
	}
	keys, err := docutil.SortKeys(q)
	if err != nil {
		return "", nil, err
	}
	var cur *docutil.Cursor
	if !count {
		if cur, err = docutil.DecodeCursor(q); err != nil {
			return "", nil, err
		}
	}
	sep := " WHERE "
	for _, c := range q.Where {
		b.add(sep)
		if err := b.cond(c); err != nil {
			return "", nil, err
		}
		sep = " AND "
	}
	if cur != nil {
		b.add(sep)
		if err := b.after(keys, cur); err != nil {
			return "", nil, err
		}
	}
	if count {
		return b.sql.String(), b.args, nil
	}
	b.add(" ORDER BY ")
	total := false
	for _, k := range keys {
		dir := " ASC, "
		if k.Desc {
			dir = " DESC, "
		}
		b.add(fieldExpr(k.Field) + dir)
		total = total || k.Field == store.KeyID
	}
	if !total {
		b.add("id ASC, ")
	}
	s := strings.TrimSuffix(b.sql.String(), ", ")
	return s + " LIMIT ?", b.args, nil
}
