// Package jobs runs long work in the background and lets people watch it
// (DESIGN.md §8: "long work shows progress … a job resource with percent
// done"). Commission runs use it today; imports, recomputes and template
// applies can use it the same way.
//
// A job is a document in the tenant's `jobs` collection:
//
//	{_id, kind, status: queued|running|done|failed, done, total, percent,
//	 result, error: {code, message}, createdBy, createdAt, updatedAt,
//	 startedAt, finishedAt, instance}
//
// Start inserts the document and runs the work in a goroutine that outlives
// the request. Progress is kept in memory and written at most every
// Service.Interval (and at the end), so a job that reports a million steps
// costs a handful of writes. While a job runs its document is touched at
// least every Heartbeat, so a job whose process died can be told from one
// that is merely slow.
//
// Without transactions or leases a job cannot be resumed where it stopped;
// Recover (called on server start) marks the jobs a dead process left
// running — this instance's, and any instance's whose heartbeat is older than
// Stale — as failed with code "interrupted", so people see what happened and
// re-run them. Work run as a job must therefore be idempotent (a commission
// run is: re-running it rewrites the same drafts).
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/store"
)

// Coll is the tenant collection holding jobs.
const Coll = "jobs"

// Job statuses.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// CodeInterrupted is the error code of a job whose process stopped under it.
const CodeInterrupted = "interrupted"

// Job is a job as callers and the API see it.
type Job struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status"`
	Done       int64      `json:"done"`
	Total      int64      `json:"total"`
	Percent    float64    `json:"percent"`
	Result     any        `json:"result,omitempty"`
	Error      *Error     `json:"error,omitempty"`
	CreatedBy  string     `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
	UpdatedAt  time.Time  `json:"updatedAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Subject is what the job is about (e.g. "commission_plan:std|2026-03"),
	// for lists and audit.
	Subject string `json:"subject,omitempty"`
}

// Error is why a job failed.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Finished reports whether the job has stopped (done or failed).
func (j Job) Finished() bool { return j.Status == StatusDone || j.Status == StatusFailed }

// Reporter is how work reports progress. Both calls are cheap (memory only);
// the job's document is updated at most every Service.Interval.
type Reporter interface {
	// SetTotal sets the number of steps (0: unknown, percent stays 0 until done).
	SetTotal(n int64)
	// Add records n more steps done.
	Add(n int64)
}

// Func is the work of a job. Its result is stored as JSON in the job's
// document; an error fails the job (an *apperr.Error keeps its code).
type Func func(ctx context.Context, progress Reporter) (any, error)

// Service starts jobs and keeps track of the ones running in this process.
type Service struct {
	// Instance names this process in job documents (see Recover).
	Instance string
	// Interval is the least time between two progress writes of a job.
	Interval time.Duration
	// Heartbeat is the most time between two writes of a running job.
	Heartbeat time.Duration
	// Stale is how old another instance's running job's last write must be
	// for Recover to call it interrupted.
	Stale time.Duration
	// Now is the clock.
	Now func() time.Time

	mu      sync.Mutex
	running map[string]context.CancelFunc
	wg      sync.WaitGroup
	closed  bool
}

// New returns a job service with the default intervals.
func New(instance string) *Service {
	return &Service{Instance: instance, Interval: 500 * time.Millisecond, Heartbeat: 20 * time.Second,
		Stale: 2 * time.Minute, Now: time.Now, running: map[string]context.CancelFunc{}}
}

// Collections are the tenant collections this package owns.
func Collections() []store.Collection {
	return []store.Collection{{Name: Coll, Indexes: []store.Index{
		{Name: "kind_created", Fields: []string{"kind", "createdAt"}},
		{Name: "status", Fields: []string{"status"}},
	}}}
}

// Start records a queued job and runs fn in the background. The job keeps
// running when ctx (a request's) ends; Close cancels it. tenant is recorded
// for logs only.
func (s *Service) Start(ctx context.Context, db store.DB, tenant, kind, subject, actor string, fn Func) (Job, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Job{}, apperr.New(apperr.KindUnavailable, "shutting_down", "the server is shutting down; start the job again in a moment")
	}
	s.mu.Unlock()
	now := period.FormatInstant(s.Now())
	id := ids.New("job")
	d := store.Doc{store.KeyID: id, "kind": kind, "subject": subject, "status": StatusQueued, "done": int64(0), "total": int64(0),
		"percent": 0.0, "createdBy": actor, "createdAt": now, "updatedAt": now, "instance": s.Instance}
	v, err := db.Insert(ctx, Coll, d)
	if err != nil {
		return Job{}, fmt.Errorf("record job %s: %w", kind, err)
	}
	d[store.KeyVersion] = v
	out := jobFrom(d) // before the goroutine owns d
	jctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Lock()
	s.running[id] = cancel
	s.wg.Add(1)
	s.mu.Unlock()
	r := &run{s: s, db: db, doc: d, tenant: tenant}
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.running, id)
			s.mu.Unlock()
			cancel()
		}()
		r.execute(jctx, fn)
	}()
	return out, nil
}

// Wait blocks until every job started by this service has finished (tests,
// shutdown).
func (s *Service) Wait() { s.wg.Wait() }

// Close refuses new jobs, cancels the running ones and waits for them (or
// for ctx): a cancelled job fails with code "interrupted".
func (s *Service) Close(ctx context.Context) {
	s.mu.Lock()
	s.closed = true
	for _, c := range s.running {
		c()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// run is one job being executed.
type run struct {
	s      *Service
	db     store.DB
	tenant string

	mu        sync.Mutex
	doc       store.Doc
	done      int64
	total     int64
	lastWrite time.Time
	dirty     bool
}

func (r *run) SetTotal(n int64) {
	r.mu.Lock()
	r.total, r.dirty = max(n, 0), true
	r.mu.Unlock()
	r.maybeFlush()
}

func (r *run) Add(n int64) {
	r.mu.Lock()
	r.done += n
	r.dirty = true
	r.mu.Unlock()
	r.maybeFlush()
}

// maybeFlush writes progress when Interval has passed since the last write.
func (r *run) maybeFlush() {
	r.mu.Lock()
	due := r.dirty && r.s.Now().Sub(r.lastWrite) >= r.s.Interval
	r.mu.Unlock()
	if due {
		r.write(context.Background(), nil)
	}
}

// write stores the job's progress, with change applied to the document
// first (status, result …). A failed progress write is logged: progress is a
// courtesy, the outcome write retries.
func (r *run) write(ctx context.Context, change func(store.Doc)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := r.doc
	d["done"], d["total"] = r.done, r.total
	d["percent"] = percent(r.done, r.total, d["status"] == StatusDone)
	now := r.s.Now()
	d["updatedAt"] = period.FormatInstant(now)
	if change != nil {
		change(d)
		d["percent"] = percent(r.done, r.total, d["status"] == StatusDone)
	}
	v, err := r.db.Replace(ctx, Coll, d, store.Version(d))
	if errors.Is(err, store.ErrConflict) {
		// Someone else wrote the job (another instance's Recover called it
		// interrupted): take their document and keep going; the outcome
		// write still says how it ended.
		cur, gerr := r.db.Get(ctx, Coll, store.ID(d))
		if gerr != nil {
			return err
		}
		for k, x := range d {
			if k != store.KeyVersion {
				cur[k] = x
			}
		}
		v, err = r.db.Replace(ctx, Coll, cur, store.Version(cur))
		if err == nil {
			r.doc = cur
			d = cur
		}
	}
	if err != nil {
		slog.Warn("job progress write failed", "job", store.ID(d), "tenant", r.tenant, "err", err)
		return err
	}
	d[store.KeyVersion] = v
	r.lastWrite, r.dirty = now, false
	return nil
}

func percent(done, total int64, finished bool) float64 {
	switch {
	case finished:
		return 100
	case total <= 0:
		return 0
	}
	p := float64(done) / float64(total) * 100
	return min(max(p, 0), 99.9) // 100 only once the outcome is stored
}

func (r *run) execute(ctx context.Context, fn Func) {
	start := r.s.Now()
	_ = r.write(ctx, func(d store.Doc) {
		d["status"], d["startedAt"] = StatusRunning, period.FormatInstant(start)
	})
	stop := make(chan struct{})
	go func() { // heartbeat: a running job's document never goes quiet for long
		t := time.NewTicker(r.s.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				r.mu.Lock()
				r.dirty = true
				r.mu.Unlock()
				_ = r.write(context.Background(), nil)
			}
		}
	}()
	res, err := safely(ctx, fn, r)
	close(stop)
	var resDoc any
	if err == nil && res != nil {
		resDoc, err = toDoc(res)
	}
	// The outcome must be stored: retry briefly on a transient failure.
	for attempt := 0; ; attempt++ {
		werr := r.write(context.WithoutCancel(ctx), func(d store.Doc) {
			d["finishedAt"] = period.FormatInstant(r.s.Now())
			if err != nil {
				d["status"] = StatusFailed
				d["error"] = errorDoc(ctx, err)
				if resDoc != nil {
					d["result"] = resDoc
				}
				return
			}
			d["status"] = StatusDone
			r.done = max(r.done, r.total)
			d["done"] = r.done
			if resDoc != nil {
				d["result"] = resDoc
			}
		})
		if werr == nil || attempt >= 4 {
			if werr != nil {
				slog.Error("job outcome could not be stored", "job", store.ID(r.doc), "tenant", r.tenant, "err", werr)
			}
			return
		}
		time.Sleep(time.Duration(attempt+1) * 200 * time.Millisecond)
	}
}

// safely runs fn, turning a panic into an error (a job must not take the
// server down).
func safely(ctx context.Context, fn Func, r Reporter) (res any, err error) {
	defer func() {
		if v := recover(); v != nil {
			slog.Error("panic in job", "panic", v, "stack", string(debug.Stack()))
			err = &apperr.Error{Kind: apperr.KindInternal, Code: "internal", Message: "the job failed with an internal error; it has been logged"}
		}
	}()
	return fn(ctx, r)
}

func errorDoc(ctx context.Context, err error) map[string]any {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return map[string]any{"code": CodeInterrupted, "message": "the server stopped while the job ran; run it again"}
	}
	if ae, ok := apperr.As(err); ok {
		msg := ae.Message
		if ae.Kind == apperr.KindInternal {
			msg = "the job failed with an internal error; it has been logged"
		}
		return map[string]any{"code": ae.Code, "message": msg}
	}
	slog.Error("job failed", "err", err)
	return map[string]any{"code": "internal", "message": "the job failed with an internal error; it has been logged"}
}

// toDoc turns a result into a stored value (its JSON form).
func toDoc(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode job result: %w", err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("encode job result: %w", err)
	}
	return out, nil
}

// Get returns a job.
func Get(ctx context.Context, db store.DB, id string) (Job, error) {
	d, err := db.Get(ctx, Coll, id)
	if errors.Is(err, store.ErrNotFound) {
		return Job{}, apperr.NotFound("job %s not found", id)
	}
	if err != nil {
		return Job{}, fmt.Errorf("load job %s: %w", id, err)
	}
	return jobFrom(d), nil
}

// Query selects jobs for List.
type Query struct {
	Kind string // "" = every kind
	// CreatedBy restricts to one person's jobs ("" = everyone's).
	CreatedBy string
	Limit     int // default 50
}

// List returns jobs, newest first.
func List(ctx context.Context, db store.DB, q Query) ([]Job, error) {
	var where []store.Cond
	if q.Kind != "" {
		where = append(where, store.Cond{Field: "kind", Op: store.Eq, Value: q.Kind})
	}
	if q.CreatedBy != "" {
		where = append(where, store.Cond{Field: "createdBy", Op: store.Eq, Value: q.CreatedBy})
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	page, err := db.Find(ctx, Coll, store.Query{Where: where, Sort: []store.SortKey{{Field: "createdAt", Desc: true}}, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	out := make([]Job, 0, len(page.Docs))
	for _, d := range page.Docs {
		out = append(out, jobFrom(d))
	}
	return out, nil
}

// Recover marks as failed ("interrupted") the jobs a dead process left
// queued or running: those of this instance (it just started, so none of
// them is really running) and those of any instance not heard from for
// Stale. It returns how many it marked.
func (s *Service) Recover(ctx context.Context, db store.DB) (int, error) {
	n := 0
	var left []store.Doc
	err := db.Scan(ctx, Coll, store.Query{Where: []store.Cond{{Field: "status", Op: store.In, Value: []any{StatusQueued, StatusRunning}}}},
		func(d store.Doc) error {
			left = append(left, d)
			return nil
		})
	if err != nil {
		return 0, fmt.Errorf("recover jobs: %w", err)
	}
	now := s.Now()
	for _, d := range left {
		s.mu.Lock()
		_, live := s.running[store.ID(d)]
		s.mu.Unlock()
		if live {
			continue
		}
		inst, _ := d["instance"].(string)
		at, _ := d["updatedAt"].(string)
		t, perr := period.ParseInstant(at)
		if inst != s.Instance && perr == nil && now.Sub(t) < s.Stale {
			continue // another instance's job, still alive
		}
		d["status"] = StatusFailed
		d["error"] = map[string]any{"code": CodeInterrupted, "message": "the server stopped while the job ran; run it again"}
		d["updatedAt"], d["finishedAt"] = period.FormatInstant(now), period.FormatInstant(now)
		if _, err := db.Replace(ctx, Coll, d, store.Version(d)); err != nil && !errors.Is(err, store.ErrConflict) {
			return n, fmt.Errorf("recover job %s: %w", store.ID(d), err)
		} else if err == nil {
			n++
		}
	}
	return n, nil
}

func jobFrom(d store.Doc) Job {
	j := Job{ID: store.ID(d), Done: store.Int(d["done"]), Total: store.Int(d["total"]), Percent: store.Float(d["percent"]), Result: d["result"]}
	j.Kind, _ = d["kind"].(string)
	j.Subject, _ = d["subject"].(string)
	j.Status, _ = d["status"].(string)
	j.CreatedBy, _ = d["createdBy"].(string)
	if e, ok := d["error"].(map[string]any); ok {
		j.Error = &Error{}
		j.Error.Code, _ = e["code"].(string)
		j.Error.Message, _ = e["message"].(string)
	}
	at := func(k string) time.Time {
		s, _ := d[k].(string)
		t, _ := period.ParseInstant(s)
		return t
	}
	j.CreatedAt, j.UpdatedAt = at("createdAt"), at("updatedAt")
	if _, ok := d["startedAt"].(string); ok {
		t := at("startedAt")
		j.StartedAt = &t
	}
	if _, ok := d["finishedAt"].(string); ok {
		t := at("finishedAt")
		j.FinishedAt = &t
	}
	return j
}

// Interface guard.
var _ Reporter = (*run)(nil)
