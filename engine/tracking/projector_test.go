package tracking

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/records"
	"stride/engine/store"
)

// model is the test's own view of the live records, for brute force.
type model struct {
	recs map[string]*mrec
	ids  []string
}

type mrec struct {
	id, owner, name, closeDate, paidAt, seller, createdDay string
	amount                                                 int64
	score                                                  int64 // hundredths
	splits                                                 []msplit
	version                                                int64
}

type msplit struct {
	user string
	pct  int64 // hundredths of a percent
}

var splitShapes = [][]int64{{10000}, {5000, 5000}, {3333, 3333, 3334}, {1250, 8750}, {6000, 4000}, {3334, 3333, 3333}, {101, 9899}}

var days = []string{"2025-12-30", "2025-12-31", "2026-01-01", "2026-01-30", "2026-01-31", "2026-02-01", "2026-02-27", "2026-02-28", "2026-03-01"}

func (e *env) randomBody(rng *rand.Rand, r *mrec, field string) map[string]any {
	body := map[string]any{}
	set := func(f string) bool { return field == "" || field == f }
	if set("name") {
		r.name = "deal"
		if rng.IntN(20) == 0 {
			r.name = "skip"
		}
		body["name"] = r.name
	}
	if set("amount") {
		r.amount = rng.Int64N(200000) - 500
		if rng.IntN(10) == 0 {
			r.amount = rng.Int64N(3)
		}
		body["amount"] = json.Number(strconv.FormatInt(r.amount, 10))
	}
	if set("closeDate") {
		r.closeDate = days[rng.IntN(len(days))]
		if rng.IntN(15) == 0 {
			r.closeDate = ""
			body["closeDate"] = nil
		} else {
			body["closeDate"] = r.closeDate
		}
	}
	if set("paidAt") {
		d, _ := period.ParseDate(days[rng.IntN(len(days))])
		at := d.Add(15*time.Hour + time.Duration(rng.IntN(120))*time.Minute) // around midnight in Shanghai
		r.paidAt = period.FormatInstant(at)
		body["paidAt"] = r.paidAt
		r.seller = ""
		body["seller"] = nil
		if rng.IntN(8) != 0 {
			r.seller = e.users[rng.IntN(len(e.users))]
			body["seller"] = r.seller
		}
	}
	if set("score") {
		r.score = rng.Int64N(1000)
		body["score"] = json.Number(fmt.Sprintf("%d.%02d", r.score/100, r.score%100))
	}
	if set("splits") {
		r.splits = nil
		list := []any{}
		if rng.IntN(3) != 0 {
			shape := splitShapes[rng.IntN(len(splitShapes))]
			users := rng.Perm(len(e.users))
			for i, p := range shape {
				u := e.users[users[i%len(users)]]
				r.splits = append(r.splits, msplit{u, p})
				list = append(list, map[string]any{"user": u, "percent": json.Number(fmt.Sprintf("%d.%02d", p/100, p%100))})
			}
		}
		body["splits"] = list
	}
	if set("owner") {
		r.owner = e.users[rng.IntN(len(e.users))]
		body["owner"] = r.owner
	}
	if field == "" {
		for k, v := range body {
			if v == nil {
				delete(body, k)
			}
		}
	}
	return body
}

// ops runs n random writes through records.Service.
func (e *env) ops(t *testing.T, rng *rand.Rand, m *model, n int) {
	t.Helper()
	fields := []string{"amount", "closeDate", "owner", "splits", "paidAt", "score", "name"}
	for i := 0; i < n; i++ {
		op := rng.IntN(10)
		if len(m.ids) == 0 || op < 4 {
			r := &mrec{}
			rec, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "order", e.randomBody(rng, r, ""), "")
			if err != nil {
				t.Fatalf("create: %v", err)
			}
			at, _ := period.ParseInstant(rec.CreatedAt)
			r.id, r.version, r.createdDay = rec.ID, rec.Version, period.FormatDate(at.In(shanghai))
			m.recs[r.id] = r
			m.ids = append(m.ids, r.id)
			continue
		}
		k := rng.IntN(len(m.ids))
		r := m.recs[m.ids[k]]
		if op == 9 {
			if err := e.app.Records.Delete(e.ctx, e.db, e.admin, "order", r.id, r.version); err != nil {
				t.Fatalf("delete: %v", err)
			}
			delete(m.recs, r.id)
			m.ids = append(m.ids[:k], m.ids[k+1:]...)
			continue
		}
		next := *r
		body := e.randomBody(rng, &next, fields[rng.IntN(len(fields))])
		rec, err := e.app.Records.Patch(e.ctx, e.db, e.admin, "order", r.id, body, r.version)
		if err != nil {
			t.Fatalf("patch %v: %v", body, err)
		}
		next.version = rec.Version
		m.recs[r.id] = &next
	}
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

// brute recomputes every metric of testMetrics from the model, with its
// own arithmetic (integers only).
func (m *model) brute() map[Key]Cell {
	out := map[Key]Cell{}
	add := func(metric, owner, day string, sum int64) {
		if owner == "" || day == "" {
			return
		}
		k := Key{metric, owner, day}
		c := out[k]
		out[k] = Cell{c.Sum + sum, c.Count + 1}
	}
	for _, r := range m.recs {
		if r.name != "skip" {
			if len(r.splits) == 0 {
				add("revenue", r.owner, r.closeDate, r.amount)
			} else {
				abs := r.amount
				if abs < 0 {
					abs = -abs
				}
				merged := map[string]int64{}
				for _, s := range r.splits {
					merged[s.user] += s.pct
				}
				users := make([]string, 0, len(merged))
				for u := range merged {
					users = append(users, u)
				}
				sort.Strings(users)
				got := map[string]int64{}
				var given int64
				for _, u := range users {
					got[u] = abs * merged[u] / 10000
					given += got[u]
				}
				sort.SliceStable(users, func(i, j int) bool {
					return abs*merged[users[i]]%10000 > abs*merged[users[j]]%10000
				})
				for i := int64(0); i < abs-given; i++ {
					got[users[i]]++
				}
				for u, v := range got {
					if r.amount < 0 {
						v = -v
					}
					add("revenue", u, r.closeDate, v)
				}
			}
		}
		if r.paidAt != "" {
			at, _ := period.ParseInstant(r.paidAt)
			add("paid", r.seller, period.FormatDate(at.In(shanghai)), r.amount)
		}
		add("orders", r.owner, r.createdDay, 100)
		// score * 1.5 in tenths, half-even: 3·s/20.
		q, rem := 3*r.score/20, 3*r.score%20
		if rem > 10 || (rem == 10 && q%2 == 1) {
			q++
		}
		add("score", r.owner, r.closeDate, q)
	}
	for k, c := range out {
		if c == (Cell{}) {
			delete(out, k)
		}
	}
	return out
}

// checkAgainstBrute compares every stored cell and Actual per owner and
// month with the brute-force recompute.
func (e *env) checkAgainstBrute(t *testing.T, m *model) {
	t.Helper()
	want := m.brute()
	got := map[Key]Cell{}
	err := e.db.Scan(e.ctx, collRollup, store.Query{}, func(d store.Doc) error {
		metric, _ := d["metric"].(string)
		owner, _ := d["owner"].(string)
		month, _ := d["month"].(string)
		days, _ := d["days"].(map[string]any)
		for dd, v := range days {
			if c := cellFrom(v); c != (Cell{}) {
				got[Key{metric, owner, month + "-" + dd}] = c
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, w := range want {
		if !slices.Contains(e.metrics, k.Metric) {
			continue
		}
		if got[k] != w {
			t.Errorf("cell %+v: stored %+v, brute force %+v", k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("cell %+v: stored %+v, brute force nothing", k, g)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for _, metric := range e.metrics {
		for _, u := range e.users {
			for _, month := range []string{"2025-12", "2026-01", "2026-02", "2026-03"} {
				first, _ := period.ParseDate(month + "-01")
				from, to := month+"-01", period.FormatDate(first.AddDate(0, 1, -1))
				var w Cell
				for k, c := range want {
					if k.Metric == metric && k.Owner == u && k.Day >= from && k.Day <= to {
						w.Sum += c.Sum
						w.Count += c.Count
					}
				}
				a, err := e.tr.Actual(e.ctx, e.db, "demo", metric, []string{u}, from, to)
				if err != nil {
					t.Fatal(err)
				}
				if a != w {
					t.Fatalf("Actual(%s, %s, %s) = %+v, brute force %+v", metric, u, month, a, w)
				}
			}
		}
	}
}

func allMetrics() []string { return []string{"revenue", "paid", "orders", "score"} }

func TestPropertyRandomWorkload(t *testing.T) {
	t.Parallel()
	e := newEnv(t, allMetrics()...)
	rng := rand.New(rand.NewPCG(1, 2))
	m := &model{recs: map[string]*mrec{}}
	n := 1000
	if testing.Short() {
		n = 300
	}
	e.ops(t, rng, m, n)
	e.reconcileClean(t)
	e.checkAgainstBrute(t, m)

	// Drill-down: the shares behind an actual add up to it.
	for _, u := range e.users {
		a, _ := e.tr.Actual(e.ctx, e.db, "demo", "revenue", []string{u}, "2026-01-01", "2026-02-28")
		shares, err := e.tr.Records(e.ctx, e.db, "demo", "revenue", []string{u}, "2026-01-01", "2026-02-28")
		if err != nil {
			t.Fatal(err)
		}
		var s Cell
		for _, sh := range shares {
			s.Sum += sh.Sum
			s.Count += sh.Count
		}
		if s != a {
			t.Fatalf("drill-down of %s sums to %+v, actual %+v", u, s, a)
		}
	}

	// Idempotent replay: replaying the whole journal from the start changes nothing.
	before := snapshot(t, e)
	cp, err := e.db.Get(e.ctx, collState, idCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	done := store.Int(cp["done"])
	cp["done"] = int64(0)
	if _, err := e.db.Replace(e.ctx, collState, cp, store.Version(cp)); err != nil {
		t.Fatal(err)
	}
	e.restart(t)
	if after := snapshot(t, e); after != before {
		t.Fatal("replaying the journal changed the rollups")
	}
	if cp, _ := e.db.Get(e.ctx, collState, idCheckpoint); store.Int(cp["done"]) != done {
		t.Fatalf("checkpoint %d after replay, want %d", store.Int(cp["done"]), done)
	}
	// And applying one entry twice changes nothing either.
	var last store.Doc
	_ = e.db.Scan(e.ctx, collJournal, store.Query{Where: []store.Cond{{Field: "seq", Op: store.Eq, Value: done}}}, func(d store.Doc) error {
		last = d
		return nil
	})
	if last == nil {
		t.Fatal("no journal entry at the checkpoint")
	}
	err = e.tr.exclusive(e.ctx, e.db, "demo", func(p *projector) error {
		if err := p.apply(batchFrom(last), nil); err != nil {
			return err
		}
		return p.apply(batchFrom(last), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, e); after != before {
		t.Fatal("applying a journal entry again changed the rollups")
	}
	e.reconcileClean(t)
}

// snapshot is the rollup and applied state as canonical JSON.
func snapshot(t *testing.T, e *env) string {
	t.Helper()
	var out []string
	for _, coll := range []string{collRollup, collApplied} {
		err := e.db.Scan(e.ctx, coll, store.Query{}, func(d store.Doc) error {
			delete(d, store.KeyVersion)
			b, _ := json.Marshal(d)
			out = append(out, string(b))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func TestCrashBetweenProjectorSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t, allMetrics()...)
	rng := rand.New(rand.NewPCG(3, 4))
	m := &model{recs: map[string]*mrec{}}
	crashes := 0
	crashedAt := map[string]bool{}
	inject := func(tr *Tracker) {
		calls, next := 0, 1+rng.IntN(10)
		tr.failAt = func(step string) error {
			calls++
			if calls == next {
				next = calls + 1 + rng.IntN(10)
				crashes++
				crashedAt[step] = true
				return fmt.Errorf("crash at %s: %w", step, errAbort)
			}
			return nil
		}
	}
	inject(e.tr)
	for round := 0; round < 30; round++ {
		// Half the rounds write while another instance holds the lease, so
		// the restart projects many records (several per record) per batch.
		foreign := rng.IntN(2) == 0
		if foreign {
			e.setLease(t, "other-instance", time.Hour)
		}
		e.ops(t, rng, m, 10)
		if foreign {
			e.setLease(t, "other-instance", -time.Second)
		}
		// Restart: a fresh projector recovers (it may crash again while
		// recovering, like a real process would; then restart again).
		for attempt := 0; ; attempt++ {
			old := e.tr
			e.tr = New(e.app.Objects, e.app.Tenants)
			e.tr.holder = old.holder // the same instance, restarted
			if attempt < 3 {
				// Replaying one entry takes a step per bucket even when the
				// bucket is skipped: let the third restart finish.
				inject(e.tr)
			}
			e.hook.cur.Store(e.tr)
			err := e.tr.Start(e.ctx, e.db, "demo")
			if err == nil {
				break
			}
			if !errors.Is(err, errAbort) {
				t.Fatal(err)
			}
		}
	}
	if crashes < 40 {
		t.Fatalf("only %d crashes injected", crashes)
	}
	for _, step := range []string{"read", "journal", "bucket", "applied", "outbox", "checkpoint"} {
		if !crashedAt[step] {
			t.Errorf("no crash injected at step %q (got %v)", step, crashedAt)
		}
	}
	e.restart(t) // no more injection
	e.reconcileClean(t)
	e.checkAgainstBrute(t, m)
}

func TestReconcileReportsAndRepairsDrift(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "revenue", "orders")
	rng := rand.New(rand.NewPCG(5, 6))
	m := &model{recs: map[string]*mrec{}}
	e.ops(t, rng, m, 60)
	// Corrupt one bucket, delete another, and add a stray one.
	var ids []string
	_ = e.db.Scan(e.ctx, collRollup, store.Query{Where: []store.Cond{{Field: "metric", Op: store.Eq, Value: "revenue"}}}, func(d store.Doc) error {
		ids = append(ids, store.ID(d))
		return nil
	})
	if len(ids) < 2 {
		t.Fatalf("only %d buckets", len(ids))
	}
	d, _ := e.db.Get(e.ctx, collRollup, ids[0])
	days := d["days"].(map[string]any)
	for dd := range days {
		days[dd] = map[string]any{"sum": int64(1), "count": int64(99)}
		break
	}
	if _, err := e.db.Replace(e.ctx, collRollup, d, store.Version(d)); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Delete(e.ctx, collRollup, ids[1], 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Insert(e.ctx, collRollup, store.Doc{store.KeyID: bucketID("orders", "ghost", "2026-01"), "metric": "orders", "owner": "ghost", "month": "2026-01",
		"days": map[string]any{"05": map[string]any{"sum": int64(100), "count": int64(1)}}, "lastSeq": int64(1)}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.tr.Reconcile(e.ctx, e.db, "demo", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Drift) < 3 {
		t.Fatalf("drift not reported: %+v", rep)
	}
	found := false
	for _, dr := range rep.Drift {
		found = found || (dr.Owner == "ghost" && dr.Day == "2026-01-05" && dr.Stored == Cell{100, 1} && dr.Expected == Cell{})
	}
	if !found {
		t.Fatalf("stray bucket not reported: %+v", rep.Drift)
	}
	if rep, err = e.tr.Reconcile(e.ctx, e.db, "demo", true); err != nil || !rep.Repaired {
		t.Fatal(rep, err)
	}
	e.reconcileClean(t)
	// Later writes keep it exact.
	e.ops(t, rng, m, 40)
	e.reconcileClean(t)
	e.checkAgainstBrute(t, m)
}

func TestLeaseKeepsOtherInstancesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "orders")
	d, err := e.db.Get(e.ctx, collState, idLease)
	if err != nil {
		t.Fatal(err)
	}
	d["holder"], d["until"] = "other-instance", time.Now().Add(time.Hour).UnixMilli()
	if _, err := e.db.Replace(e.ctx, collState, d, store.Version(d)); err != nil {
		t.Fatal(err)
	}
	rec, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "order", map[string]any{"name": "x"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := e.db.Count(e.ctx, collOutbox, store.Query{}); n != 1 {
		t.Fatalf("outbox has %d entries while another instance holds the lease, want 1", n)
	}
	if _, err := e.tr.Reconcile(e.ctx, e.db, "demo", false); !errors.Is(err, ErrBusy) {
		t.Fatalf("reconcile under a foreign lease: %v", err)
	}
	// The other instance died: its lease expires and this one takes over.
	d, _ = e.db.Get(e.ctx, collState, idLease)
	d["until"] = time.Now().Add(-time.Second).UnixMilli()
	if _, err := e.db.Replace(e.ctx, collState, d, store.Version(d)); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Drain(e.ctx, e.db, "demo"); err != nil {
		t.Fatal(err)
	}
	at, _ := period.ParseInstant(rec.CreatedAt)
	day := period.FormatDate(at.In(shanghai))
	a, err := e.tr.Actual(e.ctx, e.db, "demo", "orders", []string{e.admin.UserID}, day, day)
	if err != nil || a != (Cell{100, 1}) {
		t.Fatalf("after takeover: %+v %v", a, err)
	}
	e.reconcileClean(t)
}

func TestRebuildOnNewVersionAndTeamActual(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	create := func(owner, day string, amount int64) {
		t.Helper()
		_, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "order", map[string]any{"name": "x", "owner": owner,
			"amount": json.Number(strconv.FormatInt(amount, 10)), "closeDate": day}, "")
		if err != nil {
			t.Fatal(err)
		}
	}
	ann, bob, cat := e.users[1], e.users[2], e.users[3]
	// Records written before the metric exists are picked up by its publication.
	create(ann, "2026-01-10", 1000)
	create(bob, "2026-01-20", 2000)
	e.publish(t, "revenue", testMetrics["revenue"])
	if a, _ := e.tr.Actual(e.ctx, e.db, "demo", "revenue", []string{ann, bob}, "2026-01-01", "2026-01-31"); a != (Cell{3000, 2}) {
		t.Fatalf("after publish: %+v", a)
	}
	create(ann, "2026-02-10", 500)
	create(cat, "2026-02-11", 700)
	create(bob, "2026-03-05", 300)

	// A new version (only amounts ≥ 1000) rebuilds the rollups.
	e.publish(t, "revenue", `{"label": {"en": "Big revenue"}, "object": "order", "where": "amount >= 10", "value": "amount",
		"dateField": "closeDate", "ownerField": "owner", "splitField": "splits"}`)
	if a, _ := e.tr.Actual(e.ctx, e.db, "demo", "revenue", []string{ann, bob, cat}, "2026-01-01", "2026-12-31"); a != (Cell{3000, 2}) {
		t.Fatalf("after the new version: %+v", a)
	}
	e.reconcileClean(t)
	e.publish(t, "revenue", testMetrics["revenue"])

	// Teams: east ⊃ east-1. ann is in east-1 until Feb 1, then moves to
	// west; bob is in east all along; cat joins east-1 on Feb 11.
	mk := func(name, parent string) string {
		in := auth.TeamInput{Name: &name}
		if parent != "" {
			in.ParentID = &parent
		}
		tm, err := auth.SaveTeam(e.ctx, e.db, e.admin.UserID, "", in, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tm.ID
	}
	east := mk("East", "")
	east1 := mk("East 1", east)
	west := mk("West", "")
	add := func(team, user, from, to string) {
		t.Helper()
		if _, err := auth.AddMember(e.ctx, e.db, e.admin.UserID, team, auth.Membership{UserID: user, From: from, To: to}); err != nil {
			t.Fatal(err)
		}
	}
	add(east1, ann, "2025-01-01", "2026-02-01")
	add(west, ann, "2026-02-01", "")
	add(east, bob, "2025-01-01", "")
	add(east1, bob, "2026-01-15", "2026-02-01") // overlapping memberships count once
	add(east1, cat, "2026-02-11", "")
	q := func(team string) Cell {
		a, err := e.tr.TeamActual(e.ctx, e.db, "demo", "revenue", team, "2026-01-01", "2026-03-31")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := q(east); a != (Cell{1000 + 2000 + 700 + 300, 4}) {
		t.Fatalf("east: %+v", a)
	}
	if a := q(west); a != (Cell{500, 1}) {
		t.Fatalf("west: %+v", a)
	}
	if a := q(east1); a != (Cell{1000 + 2000 + 700, 3}) {
		t.Fatalf("east-1: %+v", a)
	}
	if _, err := e.tr.TeamActual(e.ctx, e.db, "demo", "revenue", "nope", "2026-01-01", "2026-03-31"); err == nil {
		t.Fatal("unknown team accepted")
	} else if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.KindNotFound {
		t.Fatalf("unknown team: %v", err)
	}
}

// setLease makes holder the projector lease holder until now+ttl.
func (e *env) setLease(t *testing.T, holder string, ttl time.Duration) {
	t.Helper()
	d, err := e.db.Get(e.ctx, collState, idLease)
	if errors.Is(err, store.ErrNotFound) {
		_, err = e.db.Insert(e.ctx, collState, store.Doc{store.KeyID: idLease, "holder": holder, "until": time.Now().Add(ttl).UnixMilli()})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	d["holder"], d["until"] = holder, time.Now().Add(ttl).UnixMilli()
	if _, err := e.db.Replace(e.ctx, collState, d, store.Version(d)); err != nil {
		t.Fatal(err)
	}
}

// TestDrainBetweenMarkAndWrite is the window the versioned outbox closes: a
// drain runs after a write's BeforeWrite but before the record is stored,
// then the process dies before AfterWrite. The mark must survive the drain,
// so the restarted projector projects the write.
func TestDrainBetweenMarkAndWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "revenue", "orders")
	ann := e.users[1]
	rec, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "order", map[string]any{"name": "x", "owner": ann,
		"amount": json.Number("1000"), "closeDate": "2026-01-10"}, "")
	if err != nil {
		t.Fatal(err)
	}
	revenue := func() Cell {
		t.Helper()
		a, err := e.tr.Actual(e.ctx, e.db, "demo", "revenue", []string{ann}, "2026-01-01", "2026-01-31")
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := revenue(); a != (Cell{1000, 1}) {
		t.Fatalf("after create: %+v", a)
	}
	obj, err := e.app.Objects.Published(e.ctx, e.db, "demo", "order")
	if err != nil {
		t.Fatal(err)
	}
	coll := obj.Collection()
	for i, amount := range []int64{2500, 700} {
		d, err := e.db.Get(e.ctx, coll, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		old := recordFrom(d)
		next := recordFrom(d)
		next.Data = map[string]any{}
		for k, v := range old.Data {
			next.Data[k] = v
		}
		next.Data["amount"] = amount
		w := &records.Write{DB: e.db, Principal: e.admin, Object: obj, Old: &old, New: &next, Via: "patch"}
		if err := e.tr.Hook().BeforeWrite(e.ctx, w); err != nil {
			t.Fatal(err)
		}
		// A drain (another request's) runs before the record is stored.
		if err := e.tr.Drain(e.ctx, e.db, "demo"); err != nil {
			t.Fatal(err)
		}
		if n, _ := e.db.Count(e.ctx, collOutbox, store.Query{}); n != 1 {
			t.Fatalf("round %d: the drain consumed the mark of a write not yet stored (%d entries left)", i, n)
		}
		d["data"] = next.Data
		if _, err := e.db.Replace(e.ctx, coll, d, store.Version(d)); err != nil {
			t.Fatal(err)
		}
		// The process dies here: no AfterWrite. The restart projects it.
		e.restart(t)
		if a := revenue(); a != (Cell{amount, 1}) {
			t.Fatalf("round %d after restart: %+v, want %d", i, a, amount)
		}
		if n, _ := e.db.Count(e.ctx, collOutbox, store.Query{}); n != 0 {
			t.Fatalf("round %d: %d outbox entries left after the write was projected", i, n)
		}
	}
	e.reconcileClean(t)
}

// TestMarkWithoutWriteExpires: a mark whose write never lands (refused
// after BeforeWrite, or the process died in between) is kept while it may
// still land, and dropped once it has waited pendingTTL. Not parallel: it
// shortens pendingTTL.
func TestMarkWithoutWriteExpires(t *testing.T) {
	defer func(ttl time.Duration) { pendingTTL = ttl }(pendingTTL)
	pendingTTL = 50 * time.Millisecond
	e := newEnv(t, "orders")
	obj, err := e.app.Objects.Published(e.ctx, e.db, "demo", "order")
	if err != nil {
		t.Fatal(err)
	}
	next := &records.Record{ID: "r_never", Object: "order", Owner: e.admin.UserID, Data: map[string]any{"name": "x"}}
	if err := e.tr.Hook().BeforeWrite(e.ctx, &records.Write{DB: e.db, Principal: e.admin, Object: obj, New: next, Via: "create"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := e.tr.Drain(e.ctx, e.db, "demo"); err != nil {
			t.Fatal(err)
		}
		if n, _ := e.db.Count(e.ctx, collOutbox, store.Query{}); n != 1 {
			t.Fatalf("drain %d: %d outbox entries, want the pending mark kept", i, n)
		}
	}
	time.Sleep(2 * pendingTTL)
	if err := e.tr.Drain(e.ctx, e.db, "demo"); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.db.Count(e.ctx, collOutbox, store.Query{}); n != 0 {
		t.Fatalf("%d outbox entries after pendingTTL, want 0", n)
	}
	if n, _ := e.db.Count(e.ctx, collRollup, store.Query{}); n != 0 {
		t.Fatalf("%d buckets from a record that was never written", n)
	}
	e.reconcileClean(t)
}

// TestBatchedDrain projects a backlog in several batches (small pages, many
// marks per record), prunes the journal below the checkpoint, and replays
// idempotently. Not parallel: it shrinks batchMax.
func TestBatchedDrain(t *testing.T) {
	defer func(n int) { batchMax = n }(batchMax)
	batchMax = 3
	e := newEnv(t, allMetrics()...)
	rng := rand.New(rand.NewPCG(7, 8))
	m := &model{recs: map[string]*mrec{}}
	pruneCrashed := false
	for round := 0; round < 12; round++ {
		e.setLease(t, "other-instance", time.Hour)
		e.ops(t, rng, m, 15)
		if n, _ := e.db.Count(e.ctx, collOutbox, store.Query{}); n < 10 {
			t.Fatalf("round %d: only %d outbox entries under a foreign lease", round, n)
		}
		e.setLease(t, "other-instance", -time.Second)
		// Die once in the middle of a prune; the restart carries on.
		e.tr.failAt = func(step string) error {
			if step == "prune" && !pruneCrashed {
				pruneCrashed = true
				return errAbort
			}
			return nil
		}
		if err := e.tr.Drain(e.ctx, e.db, "demo"); errors.Is(err, errAbort) {
			e.restart(t)
		} else if err != nil {
			t.Fatal(err)
		}
		if n, _ := e.db.Count(e.ctx, collOutbox, store.Query{}); n != 0 {
			t.Fatalf("round %d: %d outbox entries after a drain", round, n)
		}
	}
	if !pruneCrashed {
		t.Fatal("no prune ran")
	}
	e.checkAgainstBrute(t, m)
	e.reconcileClean(t)
	cp, err := e.db.Get(e.ctx, collState, idCheckpoint)
	if err != nil {
		t.Fatal(err)
	}
	done := store.Int(cp["done"])
	if done < 2*pruneEvery {
		t.Fatalf("only %d batches", done)
	}
	// Pruned: what is left below the checkpoint is less than a prune's worth.
	below, _ := e.db.Count(e.ctx, collJournal, store.Query{Where: []store.Cond{{Field: "seq", Op: store.Lt, Value: done}}})
	if below >= pruneEvery {
		t.Fatalf("%d journal documents below the checkpoint %d: not pruned", below, done)
	}
	if n, _ := e.db.Count(e.ctx, collJournal, store.Query{Where: []store.Cond{{Field: "seq", Op: store.Eq, Value: done}}}); n != 1 {
		t.Fatal("the journal document at the checkpoint was pruned")
	}
	// Replaying what is left of the journal from the start changes nothing.
	before := snapshot(t, e)
	cp["done"] = int64(0)
	if _, err := e.db.Replace(e.ctx, collState, cp, store.Version(cp)); err != nil {
		t.Fatal(err)
	}
	e.restart(t)
	if after := snapshot(t, e); after != before {
		t.Fatal("replaying the journal changed the rollups")
	}
	e.checkAgainstBrute(t, m)
}
