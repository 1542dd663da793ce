// Package sqlite is the embedded store backend (DESIGN.md §3): one SQLite
// database file per store database under a directory, using the pure-Go
// modernc.org/sqlite driver, so a first run needs no setup at all.
//
// # Layout
//
// Database <name> lives in <dir>/stride_<name>.db. Each collection is a table
// "c_<coll>" (id TEXT PRIMARY KEY, version INTEGER, doc TEXT) whose doc column
// holds the document as JSON without its reserved _id and _v keys, which are
// the id and version columns. Every declared index becomes an expression
// index over json_extract(doc, path) (UNIQUE for unique ones), and query
// conditions, sorting and cursors are pushed down to SQL over the very same
// expressions so the planner can use those indexes. Collections need not be
// declared: a table is created by the first write.
//
// # Durability and concurrency
//
// Files run in WAL mode with synchronous=FULL, so a write is on disk when the
// call returns and survives a crash of the process or the machine. Each
// database has one writer goroutine owning the single write connection
// (SQLite serializes writers anyway; this way writers queue in Go instead of
// spinning on SQLITE_BUSY), a pool of reader connections for point reads and
// pages, and a separate pool for Scan, whose callback may itself read
// without being starved by other scans.
//
// The writer commits concurrent writes together (group commit): the writes
// waiting while a transaction commits run in the next one, each in its own
// savepoint so that a failing write rolls back alone, and all are
// acknowledged after that transaction's single fsync. A lone writer pays one
// fsync per write; concurrent writers share them. Inc is a read-modify-write
// inside the writer's IMMEDIATE transaction, so concurrent increments are
// exact, also across processes sharing the directory (busy_timeout covers
// that case). On Linux, Open switches the process to open-file-description
// locks (modernc.org/sqlite's OFDLocking), so that code elsewhere in the
// process closing a database file cannot silently drop SQLite's locks.
//
// # Semantics worth knowing
//
//   - Numbers are JSON: integers come back as int64 (exactly, up to the full
//     int64 range), other numbers as float64; an integral float64 may come back
//     as int64.
//   - A unique index does not constrain documents in which one of its fields
//     is missing or null (SQL NULLs are distinct), matching the mongo
//     adapter's partial unique indexes.
//   - Equality with a boolean matches JSON true/false only, and a numeric
//     range never matches strings (and vice versa), as in MongoDB.
package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	msqlite "modernc.org/sqlite"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// Option configures Open.
type Option func(*config)

type config struct {
	busyTimeout time.Duration
	readers     int
	scanners    int
}

// WithBusyTimeout sets how long a connection waits for a lock held by another
// process sharing the files before failing with store.ErrUnavailable
// (default 10s). Within one process writers never contend: they queue on the
// single writer connection.
func WithBusyTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.busyTimeout = d
		}
	}
}

// WithReaders sets the size of each database's reader pool used by Get, Find
// and Count (default max(4, 2×GOMAXPROCS)); Scan uses its own pool of four
// times that size.
func WithReaders(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.readers = n
		}
	}
}

// Store is a directory of SQLite database files. It implements store.Store
// and is safe for concurrent use.
type Store struct {
	dir string
	cfg config

	mu     sync.Mutex
	dbs    map[string]*database
	closed bool
}

var _ store.Store = (*Store)(nil)

const filePrefix, fileSuffix = "stride_", ".db"

// Open opens (creating if needed) the directory dir holding the database
// files. Databases themselves are opened lazily by DB.
func Open(dir string, opts ...Option) (*Store, error) {
	cfg := config{busyTimeout: 10 * time.Second, readers: max(4, 2*runtime.GOMAXPROCS(0))}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.scanners = 4 * cfg.readers
	// Lock database files with Linux open-file-description locks, which
	// unlike POSIX locks survive an unrelated close of the same file anywhere
	// in the process. Process-wide and only possible before the first
	// database is opened; elsewhere, or too late, POSIX locks stay in use.
	_, _ = msqlite.OFDLocking(true)
	if dir == "" {
		return nil, fmt.Errorf("sqlite: open: empty directory: %w", store.ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w: %w", dir, store.ErrUnavailable, err)
	}
	return &Store{dir: abs, cfg: cfg, dbs: map[string]*database{}}, nil
}

// Dir returns the absolute directory holding the database files.
func (s *Store) Dir() string { return s.dir }

// Backend implements store.Store.
func (s *Store) Backend() string { return "sqlite" }

func (s *Store) path(name string) string {
	return filepath.Join(s.dir, filePrefix+name+fileSuffix)
}

var errClosed = fmt.Errorf("sqlite: store is closed: %w", store.ErrUnavailable)

// database returns the open database of that name, opening it if needed.
func (s *Store) database(ctx context.Context, name string) (*database, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if d := s.dbs[name]; d != nil {
		return d, nil
	}
	d, err := openDatabase(ctx, name, s.path(name), s.cfg)
	if err != nil {
		return nil, err
	}
	s.dbs[name] = d
	return d, nil
}

// opened reports whether the database is open in this store.
func (s *Store) opened(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dbs[name] != nil
}

// checkOpen returns errClosed once the store is closed.
func (s *Store) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	return nil
}

// DB implements store.Store. The returned handle stays valid across DropDB:
// the next call through it recreates the database.
func (s *Store) DB(ctx context.Context, name string) (store.DB, error) {
	if err := docutil.CheckDBName(name); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: db %s: %w", name, err)
	}
	d, err := s.database(ctx, name)
	if err != nil {
		return nil, err
	}
	h := &handle{s: s, name: name}
	h.cur.Store(d)
	return h, nil
}

// DBs implements store.Store: the names of the database files in the
// directory.
func (s *Store) DBs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list databases: %w", err)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list databases in %s: %w: %w", s.dir, store.ErrUnavailable, err)
	}
	names := []string{}
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, filePrefix) || !strings.HasSuffix(n, fileSuffix) {
			continue
		}
		n = strings.TrimSuffix(strings.TrimPrefix(n, filePrefix), fileSuffix)
		if store.NamePattern.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// DropDB implements store.Store: it closes the database and removes its
// files. Dropping a database that does not exist is not an error.
func (s *Store) DropDB(ctx context.Context, name string) error {
	if err := docutil.CheckDBName(name); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: drop %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	var errs []error
	if d := s.dbs[name]; d != nil {
		delete(s.dbs, name)
		if err := d.close(false); err != nil {
			errs = append(errs, err)
		}
	}
	p := s.path(name)
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(p + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: drop %s: %w", name, err)
	}
	return nil
}

// Ping implements store.Store: the directory must be accessible.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return errClosed
	}
	if _, err := os.Stat(s.dir); err != nil {
		return fmt.Errorf("sqlite: ping %s: %w: %w", s.dir, store.ErrUnavailable, err)
	}
	return nil
}

// Close implements store.Store. Every acknowledged write is already durable;
// Close checkpoints the write-ahead logs and closes all files.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for name, d := range s.dbs {
		if err := d.close(true); err != nil {
			errs = append(errs, fmt.Errorf("sqlite: close %s: %w", name, err))
		}
	}
	s.dbs = nil
	return errors.Join(errs...)
}
