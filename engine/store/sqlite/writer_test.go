package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"stride/engine/store"
)

// TestGroupCommit checks that concurrent writes share transactions and that
// a failing write in a shared transaction fails alone.
func TestGroupCommit(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	db, err := s.DB(ctx, "gc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Insert(ctx, "c", store.Doc{"_id": "taken"}); err != nil {
		t.Fatal(err)
	}
	d, err := s.database(ctx, "gc")
	if err != nil {
		t.Fatal(err)
	}
	batches0, writes0 := d.wr.batches.Load(), d.wr.writes.Load()

	const workers, each = 16, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := map[string]bool{}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := fmt.Sprintf("w%02d-%02d", w, i)
				if i%5 == 0 {
					id = "taken"
				}
				_, err := db.Insert(ctx, "c", store.Doc{"_id": id, "w": int64(w)})
				switch {
				case id == "taken" && !errors.Is(err, store.ErrDuplicate):
					t.Errorf("duplicate insert: %v", err)
				case id != "taken" && err != nil:
					t.Errorf("insert %s: %v", id, err)
				case err == nil:
					mu.Lock()
					ok[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	n, err := db.Count(ctx, "c", store.Query{})
	if err != nil || n != int64(len(ok))+1 {
		t.Errorf("count = %d, %v; want %d", n, err, len(ok)+1)
	}
	for id := range ok {
		if _, err := db.Get(ctx, "c", id); err != nil {
			t.Errorf("acknowledged %s missing: %v", id, err)
		}
	}
	batches, writes := d.wr.batches.Load()-batches0, d.wr.writes.Load()-writes0
	t.Logf("%d writes in %d transactions", writes, batches)
	if writes != workers*each {
		t.Errorf("writer ran %d writes, want %d", writes, workers*each)
	}
	if batches >= writes {
		t.Errorf("no group commit: %d writes in %d transactions", writes, batches)
	}
}

// TestWriterAbandon checks that a write whose context ends while it waits
// for the writer is never applied.
func TestWriterAbandon(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	db, err := s.DB(ctx, "ab")
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.database(ctx, "ab")
	if err != nil {
		t.Fatal(err)
	}
	// Occupy the writer.
	release := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = d.wr.do(ctx, func(*wtx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = db.Insert(wctx, "c", store.Doc{"_id": "late"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("queued insert past its deadline: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("queued insert returned after %v", time.Since(start))
	}
	close(release)
	if _, err := db.Insert(ctx, "c", store.Doc{"_id": "next"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get(ctx, "c", "late"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("abandoned insert was applied: %v", err)
	}
}

// TestClosedWhileWriting closes the store under concurrent writers: every
// write either succeeds (and is durable) or fails with ErrUnavailable.
func TestClosedWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	db, err := s.DB(ctx, "cw")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := []string{}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("%d-%d", w, i)
				_, err := db.Insert(ctx, "c", store.Doc{"_id": id})
				if err != nil {
					if !errors.Is(err, store.ErrUnavailable) {
						t.Errorf("insert after close: %v", err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s2 := openDir(t, dir)
	db2, err := s2.DB(ctx, "cw")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range acked {
		if _, err := db2.Get(ctx, "c", id); err != nil {
			t.Errorf("acknowledged %s lost: %v", id, err)
		}
	}
}
