// Package mongo is the production store backend (DESIGN.md §3): MongoDB
// through go.mongodb.org/mongo-driver/v2, one database per store database
// named <prefix><name> (prefix "stride_" by default), for a replica set, a
// sharded cluster or Atlas.
//
// # Mapping
//
// A document is stored as itself with _id (the caller's string id) and _v
// (int64 version) first; integers of every Go type are written as int64,
// objects with their keys sorted. Reads map BSON back to the store's value
// set (int32 → int64, documents → map[string]any, arrays → []any).
// Declare creates the collection and its indexes; a unique index is partial
// ({field: {$exists: true}} for each field) so that, as on the sqlite
// backend, documents lacking a unique field are not constrained by it.
// (On MongoDB an explicit null is still a value of a unique field.)
//
// # Portability
//
// The adapter uses only what FerretDB v1 also supports, which is what the
// conformance tests run against: CRUD with $eq/$ne/$in/$gt/$gte/$lt/$lte,
// null equality, $and/$or, dotted paths, sort/limit, unique indexes,
// findOneAndUpdate with $inc and $setOnInsert and upsert, ordered inserts.
// No transactions, no aggregation beyond countDocuments, no Decimal128.
//
// Writes use write concern majority. Optimistic concurrency is a filter on
// {_id, _v}; Inc is one findOneAndUpdate({_id}, {$inc, $setOnInsert},
// upsert, returnDocument: after), atomic on MongoDB. (FerretDB v1 executes
// both as a read followed by an unconditional write, so they are not atomic
// there under concurrency; it is a test server only.)
//
// Server selection and network failures are reported as
// store.ErrUnavailable, duplicate keys as store.ErrDuplicate.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// DefaultPrefix starts the MongoDB name of every store database.
const DefaultPrefix = "stride_"

// Option configures Open.
type Option func(*config)

type config struct {
	prefix            string
	selectionTimeout  time.Duration
	disconnectTimeout time.Duration
}

// WithPrefix sets the prefix of the MongoDB database names (default
// "stride_"); several installations, or test runs, can share one server
// under different prefixes. A prefix is 1–23 characters of [a-z0-9_]
// starting with a letter.
func WithPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// WithServerSelectionTimeout bounds how long an operation waits for a usable
// server before failing with store.ErrUnavailable (default 10s, the driver's
// own default being 30s). It overrides serverSelectionTimeoutMS in the URI.
func WithServerSelectionTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.selectionTimeout = d
		}
	}
}

var prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,22}$`)

// markerColl is created in every database DB opens, so that an opened
// database exists (and is listed by DBs) before anything is written to it,
// as with the sqlite backend. Store collection names cannot start with '_'.
const markerColl = "_stride"

// Store is a connection to a MongoDB deployment. It implements store.Store
// and is safe for concurrent use.
type Store struct {
	client *mongo.Client
	cfg    config

	ensured sync.Map // database name → struct{}: marker collection exists
	handles sync.Map // database name → *handle
	partial sync.Map // "unsupported" → true once the server rejected partial indexes
}

var _ store.Store = (*Store)(nil)

// Open connects to the deployment at uri (a mongodb:// or mongodb+srv://
// connection string) and checks that it answers; an unreachable server is
// store.ErrUnavailable.
func Open(ctx context.Context, uri string, opts ...Option) (*Store, error) {
	cfg := config{prefix: DefaultPrefix, selectionTimeout: 10 * time.Second, disconnectTimeout: 10 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	if !prefixPattern.MatchString(cfg.prefix) {
		return nil, fmt.Errorf("mongo: database prefix %q: %w", cfg.prefix, store.ErrInvalid)
	}
	co := options.Client().ApplyURI(uri).
		SetServerSelectionTimeout(cfg.selectionTimeout).
		SetWriteConcern(writeconcern.Majority())
	if err := co.Validate(); err != nil {
		return nil, fmt.Errorf("mongo: open: %w: %w", store.ErrInvalid, err)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongo: open: %w", err)
	}
	s := &Store{client: client, cfg: cfg}
	if err := s.Ping(ctx); err != nil {
		dctx, cancel := context.WithTimeout(context.Background(), cfg.disconnectTimeout)
		defer cancel()
		_ = client.Disconnect(dctx)
		return nil, err
	}
	return s, nil
}

// Backend implements store.Store.
func (s *Store) Backend() string { return "mongo" }

// DB implements store.Store. The first call for a name creates the database
// (with a small marker collection) so that DBs lists it.
func (s *Store) DB(ctx context.Context, name string) (store.DB, error) {
	if err := docutil.CheckDBName(name); err != nil {
		return nil, fmt.Errorf("mongo: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mongo: db %s: %w", name, err)
	}
	h, ok := s.handles.Load(name)
	if !ok {
		h, _ = s.handles.LoadOrStore(name, &handle{s: s, name: name, db: s.client.Database(s.cfg.prefix + name)})
	}
	if _, ok := s.ensured.Load(name); !ok {
		err := h.(*handle).db.CreateCollection(ctx, markerColl)
		if err != nil && !hasCode(err, codeNamespaceExists) {
			return nil, mapErr(ctx, "mongo "+name+": create database", err)
		}
		s.ensured.Store(name, struct{}{})
	}
	return h.(*handle), nil
}

// DBs implements store.Store: the databases under the store's prefix.
func (s *Store) DBs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mongo: list databases: %w", err)
	}
	all, err := s.client.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		return nil, mapErr(ctx, "mongo: list databases", err)
	}
	names := []string{}
	for _, n := range all {
		if rest, ok := strings.CutPrefix(n, s.cfg.prefix); ok && store.NamePattern.MatchString(rest) {
			names = append(names, rest)
		}
	}
	sort.Strings(names)
	return names, nil
}

// DropDB implements store.Store. Dropping a missing database is not an error.
func (s *Store) DropDB(ctx context.Context, name string) error {
	if err := docutil.CheckDBName(name); err != nil {
		return fmt.Errorf("mongo: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongo: drop %s: %w", name, err)
	}
	s.ensured.Delete(name)
	if err := s.client.Database(s.cfg.prefix + name).Drop(ctx); err != nil {
		return mapErr(ctx, "mongo: drop "+name, err)
	}
	return nil
}

// Ping implements store.Store: the primary must answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mongo: ping: %w", err)
	}
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return mapErr(ctx, "mongo: ping", err)
	}
	return nil
}

// Close implements store.Store: it waits (up to 10s) for operations in
// flight, then closes every connection. Writes are acknowledged by a
// majority before they return, so nothing is pending.
func (s *Store) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.disconnectTimeout)
	defer cancel()
	if err := s.client.Disconnect(ctx); err != nil && !errors.Is(err, mongo.ErrClientDisconnected) {
		return fmt.Errorf("mongo: close: %w", err)
	}
	return nil
}
