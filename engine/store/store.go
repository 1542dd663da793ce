// Package store is the narrow document-store interface the engine is written
// against, shaped by what the engine needs and nothing more (DESIGN.md §3).
//
// Two backends implement it: store/sqlite (the embedded default) and
// store/mongo (production, scale-out). Both must pass the conformance suite in
// store/storetest. No backend type or raw query language leaks out of an
// adapter: callers speak only Doc, Query and the sentinel errors below.
//
// There are deliberately no multi-document transactions: neither a standalone
// MongoDB nor FerretDB has them. Atomicity comes from single-document updates,
// optimistic concurrency on the reserved version field, unique constraints and
// atomic increments with upsert.
package store

import (
	"context"
	"errors"
	"regexp"
)

// Reserved document keys managed by the store.
const (
	// KeyID is the document's primary key, a non-empty string chosen by the caller.
	KeyID = "_id"
	// KeyVersion is the document's version, an int64 that starts at 1 on insert
	// and grows by one on every successful write (Replace or Inc).
	KeyVersion = "_v"
)

// Sentinel errors. Adapters wrap them with context; callers test with errors.Is.
var (
	// ErrNotFound: no document with that id (or nothing matched).
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate: the id or a unique index value is already taken.
	ErrDuplicate = errors.New("store: duplicate key")
	// ErrConflict: the document's version is not the one expected.
	ErrConflict = errors.New("store: version conflict")
	// ErrUnavailable: the backend cannot be reached; the caller may retry.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrInvalid: the call itself is malformed (bad name, missing id, bad cursor…).
	ErrInvalid = errors.New("store: invalid request")
)

// Doc is a JSON-like document. Values are nil, bool, string, int64, float64,
// []any and map[string]any (Doc is accepted on write too). Integral numbers may
// come back as int64 even if written as float64 (JSON has one number type);
// use Int and Float to read numbers. Times are stored as strings in the
// canonical UTC layout of package period/records so they sort as text.
//
// On write, other integer types are stored as int64 and float32 as float64;
// values of any other type are stored as their encoding/json form. Keys must
// be non-empty, must not contain '.' or start with '$'; NaN, ±Inf and
// integers beyond int64 are ErrInvalid. Avoid arrays directly inside arrays
// (use arrays of objects): FerretDB, the test server of the mongo backend,
// rejects them.
type Doc = map[string]any

// Op is a comparison operator of a condition.
type Op string

// Operators supported in conditions. All conditions of a query are AND-ed.
const (
	Eq  Op = "eq"
	Ne  Op = "ne" // matches documents whose field is missing too
	In  Op = "in" // Value is a []any
	Gt  Op = "gt"
	Gte Op = "gte"
	Lt  Op = "lt"
	Lte Op = "lte"
	// Exists matches when the field is present and not null (Value true), or
	// absent or null (Value false).
	Exists Op = "exists"
)

// Cond is one condition on a (possibly dotted) field path.
//
// Field is "_id", "_v" or a path of dot-separated segments, none empty or
// starting with '$' or holding quotes, backslashes or control characters.
// Value is nil, a bool, a string or a number (for In, a slice of those);
// anything else is ErrInvalid. As in MongoDB, comparisons do not cross types:
// a number never equals or ranges over a string or a bool, and Eq nil matches
// a null or missing field.
type Cond struct {
	Field string
	Op    Op
	Value any
}

// SortKey orders results by one field; Desc reverses it. Results are always
// finally ordered by _id ascending so that order and cursors are total.
// Sorting on a field whose values mix types is unspecified, except that null
// and missing values sort first (last with Desc). A field may appear only
// once in a sort (ErrInvalid otherwise).
type SortKey struct {
	Field string
	Desc  bool
}

// Query selects documents of one collection.
type Query struct {
	Where []Cond
	Sort  []SortKey
	// Limit caps the page size; 0 means no limit (Find) or all (Scan).
	Limit int
	// After is an opaque cursor from a previous Page.Next; it must be used
	// with the same Where and Sort.
	After string
}

// Page is one page of a Find.
type Page struct {
	Docs []Doc
	// Next is the cursor for the following page, "" when there is none.
	Next string
}

// Index declares an index on a collection. Fields are dotted paths; Name
// matches CollectionPattern. A unique index does not constrain documents
// that lack one of its fields.
type Index struct {
	Name   string
	Fields []string
	Unique bool
}

// Collection declares a collection and its indexes. Declaring is idempotent
// and creates what is missing; adapters may use only declared indexes to
// serve queries efficiently (others still work, by scanning).
type Collection struct {
	Name    string
	Indexes []Index
}

// Store is a connection to a backend holding many databases: one per tenant
// plus the system database.
type Store interface {
	// DB opens (creating on first use) the named database. Names match
	// NamePattern; "system" is the system database.
	DB(ctx context.Context, name string) (DB, error)
	// DBs lists existing database names (system included), sorted.
	DBs(ctx context.Context) ([]string, error)
	// DropDB deletes a database and all its data.
	DropDB(ctx context.Context, name string) error
	// Ping reports whether the backend is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases every resource; pending writes are durable before it returns.
	Close() error
	// Backend names the adapter ("sqlite", "mongo") for logs and metrics.
	Backend() string
}

// DB is one tenant's (or the system's) database. Safe for concurrent use.
type DB interface {
	// Declare creates the collection and its indexes if missing.
	Declare(ctx context.Context, c Collection) error
	// Get returns the document with that id, or ErrNotFound.
	Get(ctx context.Context, coll, id string) (Doc, error)
	// Insert stores a new document (which must carry a string _id) at
	// version 1 and returns that version; ErrDuplicate if the id or a unique
	// index value is taken. Any _v in doc is ignored.
	Insert(ctx context.Context, coll string, doc Doc) (int64, error)
	// InsertMany inserts documents in order. It is not atomic: on the first
	// failure it stops and returns how many were inserted and the error.
	InsertMany(ctx context.Context, coll string, docs []Doc) (int, error)
	// Replace overwrites the document with id doc[_id] if its current version
	// equals ifVersion (ErrConflict otherwise, ErrNotFound if absent) and
	// returns the new version (ifVersion+1).
	Replace(ctx context.Context, coll string, doc Doc, ifVersion int64) (int64, error)
	// Delete removes the document. ifVersion 0 deletes whatever version is
	// there; otherwise a mismatch is ErrConflict. ErrNotFound if absent.
	Delete(ctx context.Context, coll, id string, ifVersion int64) error
	// Find returns one page of matching documents.
	Find(ctx context.Context, coll string, q Query) (Page, error)
	// Scan streams every matching document in order to fn without holding
	// them all in memory; an error from fn stops the scan and is returned.
	Scan(ctx context.Context, coll string, q Query, fn func(Doc) error) error
	// Count returns the number of matching documents (Limit and After ignored).
	Count(ctx context.Context, coll string, q Query) (int64, error)
	// Inc atomically adds the int64 deltas to the dotted numeric paths of the
	// document with that id, creating it (with setOnInsert's fields, then the
	// deltas) if absent, bumps its version and returns the document after the
	// update. A path must not appear in both inc and setOnInsert.
	Inc(ctx context.Context, coll, id string, inc map[string]int64, setOnInsert Doc) (Doc, error)
}

// NamePattern is what database names must match: short, lower-case, and
// valid as a MongoDB database suffix and as a file name.
var NamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// CollectionPattern is what collection names (and index names) must match
// on every backend.
var CollectionPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// SystemDB is the name of the database that holds tenants and sessions.
const SystemDB = "system"

// Int reads a number stored in a document as int64 (0 if absent or not a number).
func Int(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case float64:
		return int64(n)
	case float32:
		return int64(n)
	}
	return 0
}

// Float reads a number stored in a document as float64 (0 if absent or not a number).
func Float(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case int:
		return float64(n)
	case int32:
		return float64(n)
	case float64:
		return n
	case float32:
		return float64(n)
	}
	return 0
}

// Version returns a document's version.
func Version(d Doc) int64 { return Int(d[KeyVersion]) }

// ID returns a document's id.
func ID(d Doc) string { s, _ := d[KeyID].(string); return s }
