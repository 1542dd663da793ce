// Package docutil holds the backend-neutral rules of the store adapters:
// which names, paths and keys are valid, how a written value is normalized
// into the document value set, how conditions, sorts, increments and
// indexes are validated, and how page cursors are encoded.
//
// Both adapters (store/sqlite and store/mongo) call these functions instead
// of keeping their own copies, so that a call rejected by one backend is
// rejected by the other by construction. What is left in an adapter is how
// it stores and queries (SQL text, BSON), not what it accepts.
//
// Every validation error wraps store.ErrInvalid.
package docutil

import (
	"fmt"
	"strings"

	"stride/engine/store"
)

// CheckDBName validates a database name (store.NamePattern).
func CheckDBName(name string) error {
	if !store.NamePattern.MatchString(name) {
		return fmt.Errorf("database name %q: %w", name, store.ErrInvalid)
	}
	return nil
}

// CheckColl validates a collection name (store.CollectionPattern).
func CheckColl(name string) error {
	if !store.CollectionPattern.MatchString(name) {
		return fmt.Errorf("collection name %q: %w", name, store.ErrInvalid)
	}
	return nil
}

// maxPath is the longest field path accepted, in bytes.
const maxPath = 256

// CheckPath validates a dotted field path used in a query, an index or an
// increment. Segments are non-empty, do not start with '$' and contain no
// characters that would need quoting inside a SQLite JSON path or a SQL
// string literal (quotes, backslashes, control characters).
func CheckPath(p string) error {
	if p == "" || len(p) > maxPath {
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

// NestedArrayKey is the key the mongo adapter wraps an array found directly
// inside an array in (FerretDB refuses nested arrays). It is refused as a
// document key on every backend, so a wrapped array is never ambiguous.
const NestedArrayKey = "__array"

// IsReserved reports whether a field is one of the reserved keys _id and _v.
func IsReserved(field string) bool { return field == store.KeyID || field == store.KeyVersion }

// CheckField validates the field of a condition, a sort key or an index:
// a reserved key or a valid path.
func CheckField(field string) error {
	if IsReserved(field) {
		return nil
	}
	return CheckPath(field)
}

// CheckKey validates a document key. Keys are stored verbatim, so a key only
// has to be addressable and portable to MongoDB: non-empty, no '.', no
// leading '$', no NUL.
func CheckKey(k string) error {
	if k == "" || k[0] == '$' || strings.ContainsAny(k, ".\x00") || k == NestedArrayKey {
		return fmt.Errorf("document key %q: %w", k, store.ErrInvalid)
	}
	return nil
}

// CheckIndexes validates the indexes of a declared collection: names match
// store.CollectionPattern and are unique, each index has fields, and every
// field is valid (CheckField).
func CheckIndexes(ixs []store.Index) error {
	seen := make(map[string]bool, len(ixs))
	for _, ix := range ixs {
		if !store.CollectionPattern.MatchString(ix.Name) || seen[ix.Name] || len(ix.Fields) == 0 {
			return fmt.Errorf("index %q: bad or duplicate name, or no fields: %w", ix.Name, store.ErrInvalid)
		}
		seen[ix.Name] = true
		for _, f := range ix.Fields {
			if err := CheckField(f); err != nil {
				return fmt.Errorf("index %q: %w", ix.Name, err)
			}
		}
	}
	return nil
}
