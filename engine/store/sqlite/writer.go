package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"

	"stride/engine/store"
)

// writer runs every write of a database on its single write connection, in
// one goroutine, with group commit: writes that arrive while a transaction
// is being committed are run together in the next transaction, each inside
// its own savepoint (so a failing write rolls back alone), and acknowledged
// together after its one fsync. A lone writer pays one fsync per write, as
// before; concurrent writers share them, so throughput grows with
// concurrency instead of being capped at one write per fsync.
//
// Statements inside a batch run without the callers' contexts: interrupting
// a statement inside a transaction would make SQLite roll back the whole
// transaction, i.e. other callers' writes. A caller's context is checked
// before its write starts, and long writes (InsertMany) check it between
// documents.
type writer struct {
	db       *sql.DB // MaxOpenConns 1; used only by the loop goroutine
	ops      chan *writeOp
	quit     chan struct{}
	exited   chan struct{}
	stmts    map[string]*sql.Stmt // prepared on db, reused in transactions
	prepare  []string             // statements to prepare after the batch
	maxBatch int

	batches, writes atomic.Int64 // transactions run, writes run in them
}

const (
	opPending int32 = iota
	opRunning
	opAbandoned
)

// writeOp is one write waiting for, or running in, a batch.
type writeOp struct {
	ctx   context.Context
	fn    func(*wtx) error
	state atomic.Int32
	done  chan error
}

func newWriter(db *sql.DB) *writer {
	w := &writer{
		db:       db,
		ops:      make(chan *writeOp),
		quit:     make(chan struct{}),
		exited:   make(chan struct{}),
		stmts:    map[string]*sql.Stmt{},
		maxBatch: 128,
	}
	go w.loop()
	return w
}

// do runs fn in a write transaction and returns once that transaction is
// committed (nil, or fn's error if fn failed and its changes were rolled
// back) or failed. If ctx ends before fn starts, fn never runs.
func (w *writer) do(ctx context.Context, fn func(*wtx) error) error {
	op := &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.ops <- op:
	case <-w.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		if op.state.CompareAndSwap(opPending, opAbandoned) {
			return ctx.Err()
		}
		return <-op.done // already running: the outcome is about to be known
	}
}

// close stops the loop after the batch in progress and closes the
// statements; the caller closes db.
func (w *writer) close() {
	close(w.quit)
	<-w.exited
	for q, s := range w.stmts {
		_ = s.Close()
		delete(w.stmts, q)
	}
}

func (w *writer) loop() {
	defer close(w.exited)
	for {
		var batch []*writeOp
		select {
		case op := <-w.ops:
			batch = append(batch, op)
		case <-w.quit:
			return
		}
	gather:
		for len(batch) < w.maxBatch {
			select {
			case op := <-w.ops:
				batch = append(batch, op)
			default:
				break gather
			}
		}
		w.run(batch)
		w.prepareStatements()
	}
}

// run executes one batch in one transaction and answers every op.
func (w *writer) run(batch []*writeOp) {
	live := batch[:0]
	for _, op := range batch {
		if !op.state.CompareAndSwap(opPending, opRunning) {
			continue // abandoned by its caller
		}
		if err := op.ctx.Err(); err != nil {
			op.done <- err
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	w.batches.Add(1)
	w.writes.Add(int64(len(live)))
	bg := context.Background()
	tx, err := w.db.BeginTx(bg, nil) // BEGIN IMMEDIATE (see the DSN)
	if err != nil {
		for _, op := range live {
			op.done <- mapErr(op.ctx, "sqlite: begin", err)
		}
		return
	}
	t := &wtx{w: w, tx: tx}
	errs := make([]error, len(live))
	if len(live) == 1 {
		if errs[0] = call(live[0].fn, t); errs[0] != nil {
			_ = tx.Rollback()
			live[0].done <- errs[0]
			return
		}
	} else {
		for i, op := range live {
			if err := t.exec("SAVEPOINT op"); err != nil {
				w.abort(tx, live, err)
				return
			}
			errs[i] = call(op.fn, t)
			if errs[i] != nil {
				if err := t.exec("ROLLBACK TO op"); err != nil {
					w.abort(tx, live, err)
					return
				}
			}
			// A failed RELEASE means the transaction itself is gone (SQLite
			// rolls back on some I/O errors): nothing may be acknowledged.
			if err := t.exec("RELEASE op"); err != nil {
				w.abort(tx, live, err)
				return
			}
		}
	}
	if err := tx.Commit(); err != nil {
		for i, op := range live {
			if errs[i] == nil {
				errs[i] = mapErr(op.ctx, "sqlite: commit", err)
			}
		}
	}
	for i, op := range live {
		op.done <- errs[i]
	}
}

// call runs a write, turning a panic into an error so that one bad write
// cannot take the writer, and every database write with it, down.
func call(fn func(*wtx) error, t *wtx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", r)
		}
	}()
	return fn(t)
}

// abort rolls the batch back and fails every op in it.
func (w *writer) abort(tx *sql.Tx, live []*writeOp, cause error) {
	_ = tx.Rollback()
	for _, op := range live {
		op.done <- mapErr(op.ctx, "sqlite: write batch aborted", cause)
	}
}

// prepareStatements prepares, outside any transaction, the statements the
// last batch had to prepare for itself, so later batches reuse them.
func (w *writer) prepareStatements() {
	for _, q := range w.prepare {
		if _, ok := w.stmts[q]; ok || len(w.stmts) >= maxStmts {
			continue
		}
		if s, err := w.db.PrepareContext(context.Background(), q); err == nil {
			w.stmts[q] = s
		}
	}
	w.prepare = w.prepare[:0]
}

// wtx is the transaction a write runs in.
type wtx struct {
	w  *writer
	tx *sql.Tx
}

func (t *wtx) stmt(q string) (*sql.Stmt, error) {
	if s, ok := t.w.stmts[q]; ok {
		return t.tx.StmtContext(context.Background(), s), nil
	}
	s, err := t.tx.PrepareContext(context.Background(), q)
	if err == nil {
		t.w.prepare = append(t.w.prepare, q)
	}
	return s, err
}

func (t *wtx) exec(q string, args ...any) error {
	_, err := t.execResult(q, args...)
	return err
}

func (t *wtx) execResult(q string, args ...any) (sql.Result, error) {
	s, err := t.stmt(q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(context.Background(), args...)
}

// execTable runs a statement on a collection's table, creating the table
// first if it does not exist yet.
func (t *wtx) execTable(coll, q string, args ...any) (sql.Result, error) {
	res, err := t.execResult(q, args...)
	if isNoTable(err) {
		if err := t.exec(createTableSQL(coll)); err != nil {
			return nil, err
		}
		res, err = t.execResult(q, args...)
	}
	return res, err
}

func (t *wtx) queryRow(q string, args []any, dest ...any) error {
	s, err := t.stmt(q)
	if err != nil {
		return err
	}
	return s.QueryRowContext(context.Background(), args...).Scan(dest...)
}

// version reads a document's version (0 if absent) inside the transaction.
func (t *wtx) version(coll, id string) (int64, error) {
	var v int64
	err := t.queryRow("SELECT version FROM "+tableName(coll)+" WHERE id = ?", []any{id}, &v)
	if errors.Is(err, sql.ErrNoRows) || isNoTable(err) {
		return 0, nil
	}
	return v, err
}

// missingOrConflict explains why a conditional write matched nothing.
func (t *wtx) missingOrConflict(ctx context.Context, coll, id, what string, ifVersion int64) error {
	v, err := t.version(coll, id)
	switch {
	case err != nil:
		return mapErr(ctx, what, err)
	case v == 0:
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	default:
		return fmt.Errorf("%s: at version %d, not %d: %w", what, v, ifVersion, store.ErrConflict)
	}
}
