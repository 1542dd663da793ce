package commission_test

import (
	"context"
	"os"
	"testing"

	"stride/engine/auth"
	"stride/engine/commission"
	"stride/engine/objects"
	"stride/engine/setup"
	"stride/engine/store"
)

// A run over more reps than a write batch holds: every statement is
// written once; a re-run writes nothing; a changed record rewrites the
// drafts it touches (and only those); a locked statement is left alone and
// its difference goes into the next period as an adjustment.
func TestRunWritesOnlyWhatChanged(t *testing.T) {
	const reps, lines = 230, 2300
	f, err := buildFixture(reps, lines)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.st.Close(); _ = os.RemoveAll(f.dir) }()
	ctx := context.Background()
	svc := f.app.Commission
	admin := &auth.Principal{Tenant: setup.DemoTenant, UserID: "u_finance", Roles: []auth.Role{auth.RoleAdmin}}
	run := func() *commission.RunReport {
		t.Helper()
		rep, err := svc.Execute(ctx, f.db, setup.DemoTenant, "bench", f.plan, f.per, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Errors) != 0 || rep.Records != lines || rep.Reps != reps {
			t.Fatalf("run report %+v", rep)
		}
		return rep
	}
	versions := func() map[string]int64 {
		out := map[string]int64{}
		_ = f.db.Scan(ctx, "cm_statements", store.Query{}, func(d store.Doc) error { out[store.ID(d)] = store.Version(d); return nil })
		return out
	}
	first := run()
	if first.Written != reps {
		t.Fatalf("first run %+v", first)
	}
	sts, _, err := svc.Statements(ctx, f.db, admin, commission.ListQuery{Period: "2026-03", Limit: 1000})
	if err != nil || len(sts) != reps {
		t.Fatalf("%d statements, %v", len(sts), err)
	}
	var total int64
	for _, st := range sts {
		var sum int64
		for _, l := range st.Lines {
			sum += l.Amount
			if l.ID == "" || l.Text["zh-CN"] == "" {
				t.Fatalf("%s: line %+v", st.ID, l)
			}
		}
		if sum != st.Total || len(st.Lines) == 0 {
			t.Fatalf("%s: total %d, lines sum to %d", st.ID, st.Total, sum)
		}
		total += st.Total
	}
	if total != first.Total {
		t.Fatalf("statements total %d, run %d", total, first.Total)
	}

	before := versions()
	if again := run(); again.Unchanged != reps || again.Written != 0 || again.Total != first.Total {
		t.Fatalf("re-run %+v", again)
	}
	if after := versions(); len(after) != len(before) {
		t.Fatalf("versions %v → %v", before, after)
	} else {
		for id, v := range before {
			if after[id] != v {
				t.Fatalf("%s moved from version %d to %d", id, v, after[id])
			}
		}
	}

	// Records 0 and 1 (rep 0's with a 70/30 split with rep 1, and rep 1's)
	// grow: reps 0 and 1 are rewritten, nobody else.
	coll := objects.RecordCollection("sale")
	bump := func(id string) {
		t.Helper()
		d, err := f.db.Get(ctx, coll, id)
		if err != nil {
			t.Fatal(err)
		}
		data := d["data"].(map[string]any)
		data["amount"] = store.Int(data["amount"]) + 123_45
		if _, err := f.db.Replace(ctx, coll, d, store.Version(d)); err != nil {
			t.Fatal(err)
		}
	}
	bump("r_00000000")
	bump("r_00000001")
	changed := run()
	if changed.Written != 2 || changed.Unchanged != reps-2 || changed.Total <= first.Total {
		t.Fatalf("after a change %+v (first total %d)", changed, first.Total)
	}
	after := versions()
	for id, v := range before {
		moved := id == "bench:2026-03:u_rep00000" || id == "bench:2026-03:u_rep00001"
		if (after[id] != v) != moved {
			t.Fatalf("%s: version %d → %d", id, v, after[id])
		}
	}

	// Rep 2's statement is approved; its record changes: the statement stays,
	// April gets the difference.
	id := "bench:2026-03:u_rep00002"
	st, err := svc.Transition(ctx, f.db, admin, id, "approve", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	bump("r_00000002")
	locked := run()
	if locked.Locked != 1 || locked.Adjusted != 1 || locked.Written != 0 {
		t.Fatalf("after a change to a locked period %+v", locked)
	}
	now, err := svc.Statement(ctx, f.db, admin, id)
	if err != nil {
		t.Fatal(err)
	}
	if now.Version != st.Version || now.Total != st.Total || len(now.Lines) != len(st.Lines) {
		t.Fatalf("the approved statement changed: %d lines, total %d → %d lines, total %d", len(st.Lines), st.Total, len(now.Lines), now.Total)
	}
	april, err := svc.Statement(ctx, f.db, admin, "bench:2026-04:u_rep00002")
	if err != nil {
		t.Fatal(err)
	}
	if len(april.Lines) == 0 || april.Computed || april.Total <= 0 {
		t.Fatalf("April %+v", april)
	}
	for _, l := range april.Lines {
		if l.Source == nil || l.Source.Period != "2026-03" || l.Kind != "adjustment" {
			t.Fatalf("April line %+v", l)
		}
	}
}
