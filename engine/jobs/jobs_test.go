package jobs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stride/engine/apperr"
	"stride/engine/period"
	"stride/engine/store"
	"stride/engine/store/sqlite"
)

func newDB(t *testing.T) store.DB {
	t.Helper()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := st.DB(context.Background(), "t_jobs")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Collections() {
		if err := db.Declare(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// countingDB counts job writes, to show progress is throttled.
type countingDB struct {
	store.DB
	replaces atomic.Int64
}

func (c *countingDB) Replace(ctx context.Context, coll string, d store.Doc, v int64) (int64, error) {
	c.replaces.Add(1)
	return c.DB.Replace(ctx, coll, d, v)
}

func TestJobRunsAndReportsItsResult(t *testing.T) {
	ctx := context.Background()
	db := &countingDB{DB: newDB(t)}
	s := New("test")
	s.Interval = time.Hour // only the start and the outcome are written
	release := make(chan struct{})
	j, err := s.Start(ctx, db, "t", "demo", "thing:1", "u1", func(ctx context.Context, p Reporter) (any, error) {
		<-release
		p.SetTotal(1_000_000)
		for i := 0; i < 1_000_000; i++ {
			p.Add(1)
		}
		return map[string]any{"written": 3}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != StatusQueued || j.CreatedBy != "u1" || j.Kind != "demo" || j.Subject != "thing:1" {
		t.Fatalf("started job %+v", j)
	}
	close(release)
	s.Wait()
	got, err := Get(ctx, db, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != StatusDone || got.Percent != 100 || got.Done != 1_000_000 || got.Total != 1_000_000 || got.Error != nil {
		t.Fatalf("finished job %+v", got)
	}
	if r, _ := got.Result.(map[string]any); store.Int(r["written"]) != 3 {
		t.Fatalf("result %#v", got.Result)
	}
	if got.StartedAt == nil || got.FinishedAt == nil {
		t.Fatalf("times %+v", got)
	}
	// A million steps: the running write, the outcome, maybe a first
	// progress write — not a million.
	if n := db.replaces.Load(); n > 4 {
		t.Fatalf("%d writes for one job", n)
	}
}

func TestJobProgressIsVisibleWhileRunning(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	s := New("test")
	s.Interval = 0 // every report is written
	step, next := make(chan struct{}), make(chan struct{})
	j, err := s.Start(ctx, db, "t", "demo", "", "u1", func(ctx context.Context, p Reporter) (any, error) {
		p.SetTotal(4)
		p.Add(1)
		close(step)
		<-next
		return nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	<-step
	got, _ := Get(ctx, db, j.ID)
	if got.Status != StatusRunning || got.Done != 1 || got.Total != 4 || got.Percent != 25 {
		t.Fatalf("running job %+v", got)
	}
	close(next)
	s.Wait()
}

func TestFailedJobsKeepTheirCode(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	s := New("test")
	a, _ := s.Start(ctx, db, "t", "demo", "", "u1", func(context.Context, Reporter) (any, error) {
		return nil, apperr.New(apperr.KindInvalid, "plan_not_published", "publish it first")
	})
	b, _ := s.Start(ctx, db, "t", "demo", "", "u1", func(context.Context, Reporter) (any, error) {
		return nil, errors.New("disk on fire")
	})
	c, _ := s.Start(ctx, db, "t", "demo", "", "u1", func(context.Context, Reporter) (any, error) {
		panic("boom")
	})
	s.Wait()
	for _, tc := range []struct {
		id, code, msg string
	}{
		{a.ID, "plan_not_published", "publish it first"},
		{b.ID, "internal", "the job failed with an internal error; it has been logged"},
		{c.ID, "internal", "the job failed with an internal error; it has been logged"},
	} {
		j, _ := Get(ctx, db, tc.id)
		if j.Status != StatusFailed || j.Error == nil || j.Error.Code != tc.code || j.Error.Message != tc.msg {
			t.Errorf("job %s: %+v %+v", tc.id, j, j.Error)
		}
	}
}

func TestCloseInterruptsRunningJobs(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	s := New("test")
	started := make(chan struct{})
	j, _ := s.Start(ctx, db, "t", "demo", "", "u1", func(ctx context.Context, _ Reporter) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	<-started
	s.Close(ctx)
	got, _ := Get(ctx, db, j.ID)
	if got.Status != StatusFailed || got.Error.Code != CodeInterrupted {
		t.Fatalf("closed job %+v", got)
	}
	if _, err := s.Start(ctx, db, "t", "demo", "", "u1", nil); err == nil {
		t.Fatal("a closed service started a job")
	}
}

// TestRecoverMarksDeadJobs: a job left running by a crashed process of
// this instance, or by a silent other instance, is interrupted; a live
// other instance's job is left alone.
func TestRecoverMarksDeadJobs(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	put := func(id, inst, status string, updated time.Time) {
		if _, err := db.Insert(ctx, Coll, store.Doc{store.KeyID: id, "kind": "demo", "status": status, "instance": inst,
			"createdAt": period.FormatInstant(updated), "updatedAt": period.FormatInstant(updated), "createdBy": "u"}); err != nil {
			t.Fatal(err)
		}
	}
	put("mine", "a", StatusRunning, now.Add(-time.Second))
	put("queued", "a", StatusQueued, now.Add(-time.Second))
	put("silent", "b", StatusRunning, now.Add(-10*time.Minute))
	put("alive", "b", StatusRunning, now.Add(-10*time.Second))
	put("over", "a", StatusDone, now.Add(-time.Hour))
	s := New("a")
	s.Now = func() time.Time { return now }
	n, err := s.Recover(ctx, db)
	if err != nil || n != 3 {
		t.Fatalf("recovered %d, %v", n, err)
	}
	for id, want := range map[string]string{"mine": StatusFailed, "queued": StatusFailed, "silent": StatusFailed, "alive": StatusRunning, "over": StatusDone} {
		j, _ := Get(ctx, db, id)
		if j.Status != want {
			t.Errorf("%s: %s, want %s", id, j.Status, want)
		}
		if want == StatusFailed && (j.Error == nil || j.Error.Code != CodeInterrupted) {
			t.Errorf("%s: error %+v", id, j.Error)
		}
	}
	// Recovering again changes nothing.
	if n, _ := s.Recover(ctx, db); n != 0 {
		t.Fatalf("second recover marked %d", n)
	}
}

func TestListNewestFirstByKindAndCreator(t *testing.T) {
	ctx := context.Background()
	db := newDB(t)
	s := New("test")
	clock := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second); return clock }
	noop := func(context.Context, Reporter) (any, error) { return nil, nil }
	for _, x := range [][2]string{{"a", "u1"}, {"b", "u1"}, {"a", "u2"}, {"a", "u1"}} {
		if _, err := s.Start(ctx, db, "t", x[0], "", x[1], noop); err != nil {
			t.Fatal(err)
		}
		s.Wait()
	}
	all, _ := List(ctx, db, Query{Kind: "a"})
	if len(all) != 3 || !all[0].CreatedAt.After(all[2].CreatedAt) {
		t.Fatalf("kind a: %+v", all)
	}
	mine, _ := List(ctx, db, Query{Kind: "a", CreatedBy: "u1"})
	if len(mine) != 2 {
		t.Fatalf("u1's: %+v", mine)
	}
	if _, err := Get(ctx, db, "job_nope"); err == nil {
		t.Fatal("unknown job found")
	}
}
