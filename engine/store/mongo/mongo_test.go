package mongo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"

	"stride/engine/store"
	"stride/engine/store/storetest"
)

// No mongod can be installed where these tests run, so they run the adapter
// against FerretDB v1 embedded in the test process: a real MongoDB
// wire-protocol server (SQLite handler) spoken to by the real driver
// (DESIGN.md §3). One server serves the whole package; each test gets its own
// database prefix.

var ferretURI string

// ferret is a running embedded FerretDB.
type ferret struct {
	uri  string
	stop func()
}

func startFerret(dir string) (*ferret, error) {
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = f.Run(ctx)
	}()
	return &ferret{uri: f.MongoDBURI(), stop: func() { cancel(); <-done }}, nil
}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "stride-ferretdb-*")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer os.RemoveAll(dir)
		f, err := startFerret(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "start FerretDB:", err)
			return 2
		}
		defer f.stop()
		ferretURI = f.uri
		return m.Run()
	}())
}

var prefixSeq atomic.Int64

// openTest opens a store with a prefix of its own and drops its databases
// when the test ends.
func openTest(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, ferretURI, WithPrefix(fmt.Sprintf("t%d_", prefixSeq.Add(1))), WithServerSelectionTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		names, err := s.DBs(ctx)
		if err != nil {
			t.Errorf("DBs: %v", err)
		}
		for _, n := range names {
			if err := s.DropDB(ctx, n); err != nil {
				t.Errorf("DropDB(%s): %v", n, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) },
		storetest.SkipConcurrency("FerretDB v1 runs findAndModify and update as a read followed by an unconditional write by _id"),
		storetest.SkipNestedArrays("FerretDB v1 rejects nested arrays"))
}

func TestOpenOptions(t *testing.T) {
	ctx := t.Context()
	for _, p := range []string{"", "Stride_", "1x", "a-b", "abcdefghijklmnopqrstuvwx"} {
		if _, err := Open(ctx, ferretURI, WithPrefix(p)); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Open with prefix %q: %v, want ErrInvalid", p, err)
		}
	}
	if _, err := Open(ctx, "http://not-mongo"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open with a bad URI: %v", err)
	}
	// Two prefixes on one server are two separate stores.
	a, b := openTest(t), openTest(t)
	for _, s := range []*Store{a, b} {
		db, err := s.DB(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Insert(ctx, "c", store.Doc{"_id": "x", "p": s.cfg.prefix}); err != nil {
			t.Fatal(err)
		}
	}
	db, _ := a.DB(ctx, "acme")
	if d, err := db.Get(ctx, "c", "x"); err != nil || d["p"] != a.cfg.prefix {
		t.Errorf("prefix isolation: %v, %v", d, err)
	}
	if a.Backend() != "mongo" {
		t.Errorf("Backend = %q", a.Backend())
	}
}

// TestUnavailable stops the server under a connected store: calls must fail
// fast with ErrUnavailable, not hang or fail with something else.
func TestUnavailable(t *testing.T) {
	f, err := startFerret(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			f.stop()
		}
	}()
	ctx := t.Context()
	s, err := Open(ctx, f.uri, WithPrefix("gone_"), WithServerSelectionTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db, err := s.DB(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Insert(ctx, "c", store.Doc{"_id": "x"}); err != nil {
		t.Fatal(err)
	}
	stopAt := time.Now()
	f.stop()
	stopped = true
	t.Logf("FerretDB stopped in %v", time.Since(stopAt))

	calls := map[string]func(context.Context) error{
		"Ping":   func(ctx context.Context) error { return s.Ping(ctx) },
		"Get":    func(ctx context.Context) error { _, err := db.Get(ctx, "c", "x"); return err },
		"Insert": func(ctx context.Context) error { _, err := db.Insert(ctx, "c", store.Doc{"_id": "y"}); return err },
		"Find":   func(ctx context.Context) error { _, err := db.Find(ctx, "c", store.Query{}); return err },
		"Inc": func(ctx context.Context) error {
			_, err := db.Inc(ctx, "c", "n", map[string]int64{"n": 1}, nil)
			return err
		},
		"DBs": func(ctx context.Context) error { _, err := s.DBs(ctx); return err },
	}
	for name, call := range calls {
		start := time.Now()
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := call(cctx)
		cancel()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s with the server gone: %v, want ErrUnavailable", name, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v to fail", name, d)
		}
	}
	// A caller's shorter deadline wins, and the error says both things.
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	err = s.Ping(cctx)
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping with a short deadline: %v", err)
	}
	// Opening against a dead server fails the same way.
	if _, err := Open(ctx, f.uri, WithServerSelectionTimeout(300*time.Millisecond)); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Open with the server gone: %v", err)
	}
}

// Benchmarks run against the embedded FerretDB, which scans whole
// collections: they compare adapters' overheads, not MongoDB's speed.

func BenchmarkMongoInsert(b *testing.B) { storetest.BenchmarkInsert(b, openTest(b)) }

func BenchmarkMongoGet(b *testing.B) { storetest.BenchmarkGet(b, openTest(b), 500) }

func BenchmarkMongoFindIndexed(b *testing.B) { storetest.BenchmarkFindIndexed(b, openTest(b), 500) }

func BenchmarkMongoInc(b *testing.B) { storetest.BenchmarkInc(b, openTest(b)) }
