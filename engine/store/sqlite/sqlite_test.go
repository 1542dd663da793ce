package sqlite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stride/engine/store"
	"stride/engine/store/storetest"
)

func openTemp(t testing.TB) *Store {
	t.Helper()
	return openDir(t, t.TempDir())
}

func openDir(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	ctx := t.Context()
	for _, name := range []string{"system", "acme"} {
		db, err := s.DB(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Insert(ctx, "c", store.Doc{"_id": "x"}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "stride_"+name+".db")); err != nil {
			t.Errorf("database file of %s: %v", name, err)
		}
	}
	// Stray files do not show up as databases.
	for _, f := range []string{"stride_Bad.db", "other.db", "stride_x.db-wal", "stride_.db"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	names, err := s.DBs(ctx)
	if err != nil || strings.Join(names, ",") != "acme,system" {
		t.Errorf("DBs = %v, %v", names, err)
	}
	if s.Dir() != dir {
		t.Errorf("Dir = %q, want %q", s.Dir(), dir)
	}
}

func TestDurableAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := s.DB(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Declare(ctx, store.Collection{Name: "c", Indexes: []store.Index{{Name: "u", Fields: []string{"u"}, Unique: true}}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if _, err := db.Insert(ctx, "c", store.Doc{"_id": fmt.Sprint(i), "u": int64(i), "big": int64(9007199254740993)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Inc(ctx, "c", "cnt", map[string]int64{"n": 7}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// Close checkpointed the write-ahead log into the database file.
	if fi, err := os.Stat(filepath.Join(dir, "stride_acme.db-wal")); err == nil && fi.Size() > 0 {
		t.Errorf("WAL not checkpointed on Close: %d bytes", fi.Size())
	}
	// A closed store refuses work with ErrUnavailable, not a panic.
	if _, err := db.Get(ctx, "c", "1"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get on a closed store: %v", err)
	}
	if _, err := s.DB(ctx, "acme"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("DB on a closed store: %v", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping on a closed store: %v", err)
	}

	s2 := openDir(t, dir)
	db2, err := s2.DB(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db2.Count(ctx, "c", store.Query{}); err != nil || n != 51 {
		t.Errorf("after reopen: %d docs, %v", n, err)
	}
	if d, err := db2.Get(ctx, "c", "49"); err != nil || d["big"] != int64(9007199254740993) {
		t.Errorf("after reopen: %v, %v", d, err)
	}
	if d, err := db2.Get(ctx, "c", "cnt"); err != nil || store.Int(d["n"]) != 7 {
		t.Errorf("counter after reopen: %v, %v", d, err)
	}
	// Indexes survive too.
	if _, err := db2.Insert(ctx, "c", store.Doc{"_id": "dup", "u": int64(3)}); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("unique index after reopen: %v", err)
	}
}

// TestSharedDirectory runs two stores (as two processes would) on one
// directory: writers contend on the file lock, and busy_timeout plus
// IMMEDIATE transactions keep increments exact.
func TestSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	var wg sync.WaitGroup
	const perStore, workers = 40, 3
	for _, s := range []*Store{openDir(t, dir), openDir(t, dir)} {
		db, err := s.DB(ctx, "shared")
		if err != nil {
			t.Fatal(err)
		}
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perStore; i++ {
					if _, err := db.Inc(ctx, "c", "n", map[string]int64{"n": 1}, nil); err != nil {
						t.Errorf("Inc: %v", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	s := openDir(t, dir)
	db, err := s.DB(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if d, err := db.Get(ctx, "c", "n"); err != nil || store.Int(d["n"]) != 2*workers*perStore {
		t.Errorf("n = %v, %v; want %d", d["n"], err, 2*workers*perStore)
	}
}

const crashEnv = "STRIDE_SQLITE_CRASH_DIR"

// TestCrash re-executes the test binary as a child that writes in a loop and
// prints every acknowledged write; the parent SIGKILLs it mid-stream and
// checks that every acknowledged write survived and the file is sound.
func TestCrash(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timeout := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer timeout.Stop()

	acked := map[string]bool{}
	var incs int64
	killAt := 300 + time.Now().Nanosecond()%300 // varies from run to run
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		kind, arg, ok := strings.Cut(sc.Text(), " ")
		switch {
		case !ok:
			continue
		case kind == "ins":
			acked[arg] = true
		case kind == "inc":
			if n, err := strconv.ParseInt(arg, 10, 64); err == nil && n > incs {
				incs = n
			}
		}
		if !killed && len(acked) >= killAt {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	_ = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before being killed; stderr:\n%s", stderr.String())
	}
	t.Logf("killed child after %d acknowledged inserts and %d increments", len(acked), incs)

	s := openDir(t, dir)
	ctx := t.Context()
	d, err := s.database(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	var check string
	if err := d.w.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	db, err := s.DB(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	for id := range acked {
		if _, err := db.Get(ctx, "records", id); err != nil {
			t.Errorf("acknowledged insert %s lost: %v", id, err)
		}
	}
	if n, err := db.Count(ctx, "records", store.Query{}); err != nil || n < int64(len(acked)) {
		t.Errorf("count = %d, %v; want >= %d", n, err, len(acked))
	}
	c, err := db.Get(ctx, "counters", "c")
	if err != nil {
		t.Fatal(err)
	}
	// The increment in flight at the kill may or may not have committed.
	if n := store.Int(c["n"]); n < incs || n > incs+1 || store.Version(c) != n {
		t.Errorf("counter = %d (v%d), acknowledged %d", n, store.Version(c), incs)
	}
	// The database is fully usable after recovery.
	if _, err := db.Insert(ctx, "records", store.Doc{"_id": "after-crash"}); err != nil {
		t.Error(err)
	}
}

// crashChild writes until it is killed: inserts from several goroutines and
// increments of one counter, printing each after it is acknowledged.
func crashChild(dir string) {
	go func() {
		time.Sleep(50 * time.Second)
		os.Exit(3) // the parent should have killed us long ago
	}()
	s, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	db, err := s.DB(ctx, "crash")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := db.Declare(ctx, store.Collection{Name: "records", Indexes: []store.Index{{Name: "owner", Fields: []string{"owner"}}}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, format+"\n", args...)
	}
	for w := 0; w < 4; w++ {
		go func() {
			for i := 0; ; i++ {
				doc := storetest.Record(w*1_000_000 + i)
				if _, err := db.Insert(ctx, "records", doc); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				say("ins %s", store.ID(doc))
			}
		}()
	}
	for {
		d, err := db.Inc(ctx, "counters", "c", map[string]int64{"n": 1}, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		say("inc %d", store.Int(d["n"]))
	}
}

func BenchmarkSQLiteInsert(b *testing.B) { storetest.BenchmarkInsert(b, openTemp(b)) }

func BenchmarkSQLiteInsertParallel(b *testing.B) { storetest.BenchmarkInsertParallel(b, openTemp(b)) }

func BenchmarkSQLiteGet(b *testing.B) { storetest.BenchmarkGet(b, openTemp(b), 20_000) }

func BenchmarkSQLiteFindIndexed(b *testing.B) { storetest.BenchmarkFindIndexed(b, openTemp(b), 20_000) }

func BenchmarkSQLiteInc(b *testing.B) { storetest.BenchmarkInc(b, openTemp(b)) }

func BenchmarkSQLiteReplace(b *testing.B) { storetest.BenchmarkReplace(b, openTemp(b)) }
