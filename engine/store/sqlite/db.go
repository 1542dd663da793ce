package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// database is one open database file: its connection pools and prepared
// statements.
type database struct {
	name string
	path string

	w  *sql.DB // the single writer connection, used by wr only
	wr *writer
	r  *sql.DB // readers for Get, Find, Count
	sc *sql.DB // readers for Scan

	rs, scs stmtCache

	closed atomic.Bool
}

func dsn(path string, params ...string) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() + "?" + strings.Join(params, "&")
}

func openDatabase(ctx context.Context, name, path string, cfg config) (*database, error) {
	busy := "_pragma=busy_timeout(" + strconv.FormatInt(cfg.busyTimeout.Milliseconds(), 10) + ")"
	w, err := sql.Open("sqlite", dsn(path, busy,
		"_pragma=journal_mode(WAL)", "_pragma=synchronous(FULL)", "_txlock=immediate"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		_ = w.Close()
		return nil, mapErr(ctx, fmt.Sprintf("sqlite: open %s", path), err)
	}
	if !strings.EqualFold(mode, "wal") {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %s: journal mode is %q, not WAL", path, mode)
	}
	readers := func(n, idle int) (*sql.DB, error) {
		db, err := sql.Open("sqlite", dsn(path, busy, "_pragma=query_only(1)"))
		if err != nil {
			return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
		}
		db.SetMaxOpenConns(n)
		db.SetMaxIdleConns(idle)
		db.SetConnMaxIdleTime(time.Minute)
		return db, nil
	}
	d := &database{name: name, path: path, w: w}
	if d.r, err = readers(cfg.readers, cfg.readers); err != nil {
		_ = w.Close()
		return nil, err
	}
	if d.sc, err = readers(cfg.scanners, 2); err != nil {
		_ = errors.Join(w.Close(), d.r.Close())
		return nil, err
	}
	d.rs.db, d.scs.db = d.r, d.sc
	d.wr = newWriter(w)
	return d, nil
}

// close stops the writer and closes the pools; optimize runs PRAGMA
// optimize first so that the planner statistics of the expression indexes
// stay fresh.
func (d *database) close(optimize bool) error {
	if d.closed.Swap(true) {
		return nil
	}
	d.wr.close()
	if optimize {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _ = d.w.ExecContext(ctx, "PRAGMA optimize")
		cancel()
	}
	d.rs.close()
	d.scs.close()
	// Readers first: the last connection to close checkpoints the WAL.
	return errors.Join(d.sc.Close(), d.r.Close(), d.w.Close())
}

// stmtCache caches prepared statements by SQL text on one pool. Statement
// shapes are bounded by the engine's code, but IN lists and the like are
// bound as one JSON argument so shapes do not multiply; past maxStmts new
// shapes are prepared per call instead of cached.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // string → *sql.Stmt
	n  atomic.Int32
}

const maxStmts = 512

// get returns a prepared statement and the function to call when done.
func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, func(), error) {
	if s, ok := c.m.Load(q); ok {
		return s.(*sql.Stmt), func() {}, nil
	}
	s, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	if c.n.Load() >= maxStmts {
		return s, func() { _ = s.Close() }, nil
	}
	if prev, loaded := c.m.LoadOrStore(q, s); loaded {
		_ = s.Close()
		return prev.(*sql.Stmt), func() {}, nil
	}
	c.n.Add(1)
	return s, func() {}, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		_ = v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
}

// mapErr wraps a driver error with context and the matching sentinel.
func mapErr(ctx context.Context, what string, err error) error {
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%s: %w: %w", what, store.ErrDuplicate, err)
		case code&0xff == sqlite3.SQLITE_INTERRUPT && ctx.Err() != nil:
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED,
			code&0xff == sqlite3.SQLITE_IOERR, code&0xff == sqlite3.SQLITE_FULL,
			code&0xff == sqlite3.SQLITE_CANTOPEN, code&0xff == sqlite3.SQLITE_INTERRUPT:
			return fmt.Errorf("%s: %w: %w", what, store.ErrUnavailable, err)
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%s: %w: %w", what, ctxErr, err)
	}
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
		return fmt.Errorf("%s: %w: %w", what, store.ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isNoTable reports whether err says a collection's table does not exist
// yet (collections are created by their first write or by Declare).
func isNoTable(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such table")
}

func createTableSQL(coll string) string {
	return "CREATE TABLE IF NOT EXISTS " + tableName(coll) +
		" (id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, doc TEXT NOT NULL) STRICT"
}

func (d *database) what(coll, op string) string {
	return "sqlite " + d.name + "." + coll + ": " + op
}

// write runs fn in the writer's next transaction. fn returns errors already
// wrapped for the caller; failures of the transaction itself are wrapped
// here.
func (d *database) write(ctx context.Context, what string, fn func(*wtx) error) error {
	err := d.wr.do(ctx, fn)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrDuplicate),
		errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrUnavailable):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", what, err)
	}
	return mapErr(ctx, what, err)
}

func (h *handle) what(coll, op string) string {
	return "sqlite " + h.name + "." + coll + ": " + op
}

// handle is the store.DB of one database name. It resolves the open
// database on each call, so it survives DropDB (the database is recreated).
type handle struct {
	s    *Store
	name string
	cur  atomic.Pointer[database]
}

var _ store.DB = (*handle)(nil)

// check validates a call's collection name and context.
func (h *handle) check(ctx context.Context, coll string) error {
	if err := docutil.CheckColl(coll); err != nil {
		return fmt.Errorf("sqlite %s: %w", h.name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite %s.%s: %w", h.name, coll, err)
	}
	return nil
}

// db returns the open database for a write, opening (and so creating) it
// if needed.
func (h *handle) db(ctx context.Context, coll string) (*database, error) {
	if err := h.check(ctx, coll); err != nil {
		return nil, err
	}
	if d := h.cur.Load(); d != nil && !d.closed.Load() {
		return d, nil
	}
	d, err := h.s.database(ctx, h.name)
	if err != nil {
		return nil, err
	}
	h.cur.Store(d)
	return d, nil
}

// reader is db for reads, except that after DropDB a read through an old
// handle sees an empty database (nil) instead of recreating the file.
func (h *handle) reader(ctx context.Context, coll string) (*database, error) {
	if err := h.check(ctx, coll); err != nil {
		return nil, err
	}
	if d := h.cur.Load(); d != nil && !d.closed.Load() {
		return d, nil
	}
	if !h.s.opened(h.name) {
		if _, err := os.Stat(h.s.path(h.name)); errors.Is(err, fs.ErrNotExist) {
			return nil, h.s.checkOpen()
		}
	}
	return h.db(ctx, coll)
}

// Declare implements store.DB. Redeclaring an index under the same name with
// different fields or uniqueness fails with store.ErrInvalid; creating a
// unique index over existing duplicates fails with store.ErrDuplicate.
func (h *handle) Declare(ctx context.Context, c store.Collection) error {
	d, err := h.db(ctx, c.Name)
	if err != nil {
		return err
	}
	what := d.what(c.Name, "declare")
	if err := docutil.CheckIndexes(c.Indexes); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	type want struct{ name, sql string }
	var idx []want
	for _, ix := range c.Indexes {
		exprs := make([]string, len(ix.Fields))
		for i, f := range ix.Fields {
			exprs[i] = fieldExpr(f)
		}
		kind := "INDEX "
		if ix.Unique {
			kind = "UNIQUE INDEX "
		} else if !isColumn(ix.Fields[len(ix.Fields)-1]) {
			// Results are finally ordered by id: with id in the index an
			// equality match is read in result order, so a page (and the
			// keyset condition of the next one) stops after Limit rows
			// instead of sorting every match.
			exprs = append(exprs, "id")
		}
		idx = append(idx, want{"x:" + c.Name + ":" + ix.Name,
			"CREATE " + kind + indexName(c.Name, ix.Name) + " ON " + tableName(c.Name) + " (" + strings.Join(exprs, ", ") + ")"})
	}
	return d.write(ctx, what, func(t *wtx) error {
		if err := t.exec(createTableSQL(c.Name)); err != nil {
			return mapErr(ctx, what, err)
		}
		for _, ix := range idx {
			var have string
			err := t.queryRow("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", []any{ix.name}, &have)
			switch {
			case err == nil && have == ix.sql:
				continue
			case err == nil:
				return fmt.Errorf("%s: index %q exists with another definition (%s): %w", what, ix.name, have, store.ErrInvalid)
			case !errors.Is(err, sql.ErrNoRows):
				return mapErr(ctx, what, err)
			}
			if err := t.exec(ix.sql); err != nil {
				return mapErr(ctx, what+" index "+ix.name, err)
			}
		}
		return nil
	})
}

// Get implements store.DB.
func (h *handle) Get(ctx context.Context, coll, id string) (store.Doc, error) {
	d, err := h.reader(ctx, coll)
	if err != nil {
		return nil, err
	}
	what := h.what(coll, "get "+strconv.Quote(id))
	if id == "" {
		return nil, fmt.Errorf("%s: empty id: %w", what, store.ErrInvalid)
	}
	if d == nil {
		return nil, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	st, done, err := d.rs.get(ctx, "SELECT version, doc FROM "+tableName(coll)+" WHERE id = ?")
	if err != nil {
		if isNoTable(err) {
			return nil, fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return nil, mapErr(ctx, what, err)
	}
	defer done()
	var (
		version int64
		body    string
	)
	if err := st.QueryRowContext(ctx, id).Scan(&version, &body); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		return nil, mapErr(ctx, what, err)
	}
	return decodeDoc(id, version, body)
}

const insertSQL = "INSERT INTO %s (id, version, doc) VALUES (?, 1, ?)"

// Insert implements store.DB.
func (h *handle) Insert(ctx context.Context, coll string, doc store.Doc) (int64, error) {
	d, err := h.db(ctx, coll)
	if err != nil {
		return 0, err
	}
	id, body, err := docutil.PrepareDoc(doc)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", d.what(coll, "insert"), err)
	}
	what := d.what(coll, "insert "+strconv.Quote(id))
	b, err := docutil.EncodeJSON(body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	q := fmt.Sprintf(insertSQL, tableName(coll))
	err = d.write(ctx, what, func(t *wtx) error {
		if _, err := t.execTable(coll, q, id, string(b)); err != nil {
			return mapErr(ctx, what, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// insertBatch is how many documents of an InsertMany go into one write
// transaction.
const insertBatch = 500

// InsertMany implements store.DB. Documents are committed in transactions of
// up to 500, so a large import costs one fsync per batch, not per document;
// on failure the documents before the failing one are committed and counted.
func (h *handle) InsertMany(ctx context.Context, coll string, docs []store.Doc) (int, error) {
	d, err := h.db(ctx, coll)
	if err != nil {
		return 0, err
	}
	what := d.what(coll, "insert many")
	q := fmt.Sprintf(insertSQL, tableName(coll))
	type row struct{ id, body string }
	committed := 0
	for committed < len(docs) {
		// Encode in the caller's goroutine, up to the first invalid document.
		chunk := docs[committed:min(committed+insertBatch, len(docs))]
		rows := make([]row, 0, len(chunk))
		var invalid error
		for i, doc := range chunk {
			id, body, err := docutil.PrepareDoc(doc)
			if err != nil {
				invalid = fmt.Errorf("%s: document %d: %w", what, committed+i, err)
				break
			}
			b, err := docutil.EncodeJSON(body)
			if err != nil {
				invalid = fmt.Errorf("%s: document %q: %w", what, id, err)
				break
			}
			rows = append(rows, row{id, string(b)})
		}
		n := 0
		var failure error
		if len(rows) > 0 {
			err := d.write(ctx, what, func(t *wtx) error {
				for _, r := range rows {
					if err := ctx.Err(); err != nil {
						failure = fmt.Errorf("%s: %w", what, err)
						return nil
					}
					if _, err := t.execTable(coll, q, r.id, r.body); err != nil {
						failure = mapErr(ctx, what+" "+strconv.Quote(r.id), err)
						return nil // keep the documents before it
					}
					n++
				}
				return nil
			})
			if err != nil {
				return committed, err
			}
		}
		committed += n
		if failure == nil {
			failure = invalid
		}
		if failure != nil {
			return committed, failure
		}
	}
	return committed, nil
}

// Replace implements store.DB. ifVersion must be at least 1.
func (h *handle) Replace(ctx context.Context, coll string, doc store.Doc, ifVersion int64) (int64, error) {
	d, err := h.reader(ctx, coll) // a replace never creates anything
	if err != nil {
		return 0, err
	}
	id, body, err := docutil.PrepareDoc(doc)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", h.what(coll, "replace"), err)
	}
	what := h.what(coll, "replace "+strconv.Quote(id))
	if ifVersion < 1 {
		return 0, fmt.Errorf("%s: version %d: %w", what, ifVersion, store.ErrInvalid)
	}
	b, err := docutil.EncodeJSON(body)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if d == nil {
		return 0, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	q := "UPDATE " + tableName(coll) + " SET version = version + 1, doc = ? WHERE id = ? AND version = ?"
	err = d.write(ctx, what, func(t *wtx) error {
		res, err := t.execResult(q, string(b), id, ifVersion)
		if isNoTable(err) {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		if err != nil {
			return mapErr(ctx, what, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return mapErr(ctx, what, err)
		} else if n == 0 {
			return t.missingOrConflict(ctx, coll, id, what, ifVersion)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return ifVersion + 1, nil
}

// Delete implements store.DB.
func (h *handle) Delete(ctx context.Context, coll, id string, ifVersion int64) error {
	d, err := h.reader(ctx, coll)
	if err != nil {
		return err
	}
	what := h.what(coll, "delete "+strconv.Quote(id))
	if id == "" || ifVersion < 0 {
		return fmt.Errorf("%s: empty id or negative version: %w", what, store.ErrInvalid)
	}
	if d == nil {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	q, args := "DELETE FROM "+tableName(coll)+" WHERE id = ?", []any{id}
	if ifVersion > 0 {
		q, args = q+" AND version = ?", append(args, ifVersion)
	}
	return d.write(ctx, what, func(t *wtx) error {
		res, err := t.execResult(q, args...)
		if isNoTable(err) {
			return fmt.Errorf("%s: %w", what, store.ErrNotFound)
		}
		if err != nil {
			return mapErr(ctx, what, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return mapErr(ctx, what, err)
		} else if n == 0 {
			if ifVersion == 0 {
				return fmt.Errorf("%s: %w", what, store.ErrNotFound)
			}
			return t.missingOrConflict(ctx, coll, id, what, ifVersion)
		}
		return nil
	})
}

// query runs a select built by selectSQL on a pool and calls fn per row.
func (d *database) query(ctx context.Context, c *stmtCache, q string, args []any, fn func(store.Doc) error) error {
	st, done, err := c.get(ctx, q)
	if err != nil {
		if isNoTable(err) {
			return nil
		}
		return err
	}
	defer done()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var (
			id, body string
			version  int64
		)
		if err := rows.Scan(&id, &version, &body); err != nil {
			return err
		}
		doc, err := decodeDoc(id, version, body)
		if err != nil {
			return err
		}
		if err := fn(doc); err != nil {
			return &callbackError{err}
		}
	}
	return rows.Err()
}

// callbackError marks an error returned by a Scan callback, which is handed
// back unchanged.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// Find implements store.DB.
func (h *handle) Find(ctx context.Context, coll string, q store.Query) (store.Page, error) {
	d, err := h.reader(ctx, coll)
	if err != nil {
		return store.Page{}, err
	}
	what := h.what(coll, "find")
	if q.Limit < 0 {
		return store.Page{}, fmt.Errorf("%s: negative limit: %w", what, store.ErrInvalid)
	}
	s, args, err := selectSQL(coll, q, false)
	if err != nil {
		return store.Page{}, fmt.Errorf("%s: %w", what, err)
	}
	if d == nil {
		return store.Page{Docs: []store.Doc{}}, nil
	}
	limit := int64(-1)
	if q.Limit > 0 {
		limit = int64(q.Limit) + 1
	}
	docs := []store.Doc{}
	err = d.query(ctx, &d.rs, s, append(args, limit), func(doc store.Doc) error {
		docs = append(docs, doc)
		return nil
	})
	if err != nil {
		return store.Page{}, mapErr(ctx, what, err)
	}
	page, err := docutil.NewPage(q, docs)
	if err != nil {
		return store.Page{}, fmt.Errorf("%s: %w", what, err)
	}
	return page, nil
}

// Scan implements store.DB. Rows stream from a dedicated reader connection
// holding one read snapshot for the whole scan; fn may use the database
// (including writes) but should not be slow, as a long snapshot keeps the
// write-ahead log from being checkpointed.
func (h *handle) Scan(ctx context.Context, coll string, q store.Query, fn func(store.Doc) error) error {
	d, err := h.reader(ctx, coll)
	if err != nil {
		return err
	}
	what := h.what(coll, "scan")
	if q.Limit < 0 {
		return fmt.Errorf("%s: negative limit: %w", what, store.ErrInvalid)
	}
	s, args, err := selectSQL(coll, q, false)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if d == nil {
		return nil
	}
	limit := int64(-1)
	if q.Limit > 0 {
		limit = int64(q.Limit)
	}
	err = d.query(ctx, &d.scs, s, append(args, limit), fn)
	var cb *callbackError
	if errors.As(err, &cb) {
		return cb.err
	}
	if err != nil {
		return mapErr(ctx, what, err)
	}
	return nil
}

// Count implements store.DB.
func (h *handle) Count(ctx context.Context, coll string, q store.Query) (int64, error) {
	d, err := h.reader(ctx, coll)
	if err != nil {
		return 0, err
	}
	what := h.what(coll, "count")
	s, args, err := selectSQL(coll, q, true)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if d == nil {
		return 0, nil
	}
	st, done, err := d.rs.get(ctx, s)
	if err != nil {
		if isNoTable(err) {
			return 0, nil
		}
		return 0, mapErr(ctx, what, err)
	}
	defer done()
	var n int64
	if err := st.QueryRowContext(ctx, args...).Scan(&n); err != nil {
		return 0, mapErr(ctx, what, err)
	}
	return n, nil
}

// Inc implements store.DB as a read-modify-write in an IMMEDIATE transaction
// on the writer connection, so concurrent increments never lose an update.
func (h *handle) Inc(ctx context.Context, coll, id string, inc map[string]int64, setOnInsert store.Doc) (store.Doc, error) {
	d, err := h.db(ctx, coll)
	if err != nil {
		return nil, err
	}
	what := d.what(coll, "inc "+strconv.Quote(id))
	if id == "" {
		return nil, fmt.Errorf("%s: empty id: %w", what, store.ErrInvalid)
	}
	soi, err := docutil.CheckInc(inc, setOnInsert)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	init := map[string]any{}
	for k, v := range soi {
		if err := setPath(init, k, v); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	var doc store.Doc
	err = d.write(ctx, what, func(t *wtx) error {
		var err error
		doc, err = t.inc(coll, id, inc, init)
		if isNoTable(err) {
			if err = t.exec(createTableSQL(coll)); err == nil {
				doc, err = t.inc(coll, id, inc, init)
			}
		}
		if err != nil {
			return mapErr(ctx, what, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// inc is the read-modify-write of Inc. init (setOnInsert's fields) is
// copied, never modified, as the write may be retried.
func (t *wtx) inc(coll, id string, inc map[string]int64, init map[string]any) (store.Doc, error) {
	tbl := tableName(coll)
	var (
		version int64
		body    string
		doc     map[string]any
	)
	err := t.queryRow("SELECT version, doc FROM "+tbl+" WHERE id = ?", []any{id}, &version, &body)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		c, err := docutil.Normalize(init, 0) // deep copy
		if err != nil {
			return nil, err
		}
		doc = c.(map[string]any)
	case err != nil:
		return nil, err
	default:
		v, err := parseJSON(body)
		if err != nil {
			return nil, fmt.Errorf("document %q: %w", id, err)
		}
		var ok bool
		if doc, ok = v.(map[string]any); !ok {
			return nil, fmt.Errorf("document %q: stored body is not an object", id)
		}
	}
	for p, delta := range inc {
		if err := incPath(doc, p, delta); err != nil {
			return nil, err
		}
	}
	b, err := docutil.EncodeJSON(doc)
	if err != nil {
		return nil, err
	}
	if version == 0 {
		err = t.exec(fmt.Sprintf(insertSQL, tbl), id, string(b))
	} else {
		err = t.exec("UPDATE "+tbl+" SET version = ?, doc = ? WHERE id = ?", version+1, string(b), id)
	}
	if err != nil {
		return nil, err
	}
	doc[store.KeyID] = id
	doc[store.KeyVersion] = version + 1
	return doc, nil
}
