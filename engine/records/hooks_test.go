package records_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/records"
	"stride/engine/setup"
	"stride/engine/store/sqlite"
)

// recorder is a hook that stamps Meta, refuses direct stage edits on
// patches, and remembers what it saw.
type recorder struct{ seen []string }

func (r *recorder) BeforeWrite(_ context.Context, w *records.Write) error {
	if w.Via == "patch" && w.Old != nil && w.Old.Data["stage"] != w.New.Data["stage"] {
		return apperr.Invalid("move the deal through its pipeline", apperr.FieldError{Pointer: "/stage", Code: "use_transition", Message: "use the transition endpoint"})
	}
	if w.New.Meta == nil {
		w.New.Meta = map[string]any{}
	}
	w.New.Meta["writes"] = len(r.seen) + 1
	return nil
}

func (r *recorder) AfterWrite(_ context.Context, w *records.Write) {
	r.seen = append(r.seen, w.Via)
}

func TestHooksSeeEveryWrite(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	app, err := setup.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Bootstrap(ctx, "hook-pass-123"); err != nil {
		t.Fatal(err)
	}
	h := &recorder{}
	app.Records.Use(h)
	db, _ := app.Tenants.DB(ctx, "demo")
	admin, _ := auth.UserByName(ctx, db, "admin")
	p := &auth.Principal{Tenant: "demo", UserID: admin.ID, Roles: admin.Roles}

	rec, _, err := app.Records.Create(ctx, db, p, "deal", map[string]any{"name": "x", "amount": json.Number("100"), "stage": "lead"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Meta["writes"] != 1 {
		t.Fatalf("meta not stored with the create: %v", rec.Meta)
	}
	// The hook refuses a direct stage edit: nothing is written.
	if _, err := app.Records.Patch(ctx, db, p, "deal", rec.ID, map[string]any{"stage": "won"}, 0); err == nil {
		t.Fatal("hook refusal ignored")
	}
	// Update (a transition's path) may change it.
	rec, err = app.Records.Update(ctx, db, p, "deal", rec.ID, rec.Version, "transition", func(r *records.Record) error {
		r.Data["stage"] = "won"
		r.Meta["history"] = []any{"lead", "won"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := app.Records.Get(ctx, db, p, "deal", rec.ID)
	if got.Data["stage"] != "won" || got.Meta["writes"] != int64(2) || len(got.Meta["history"].([]any)) != 2 {
		t.Fatalf("update not stored with its meta: %+v", got)
	}
	// Update validates like any write.
	if _, err := app.Records.Update(ctx, db, p, "deal", rec.ID, 0, "transition", func(r *records.Record) error {
		r.Data["amount"] = "lots"
		return nil
	}); err == nil {
		t.Fatal("invalid update stored")
	}
	if err := app.Records.Delete(ctx, db, p, "deal", rec.ID, 0); err != nil {
		t.Fatal(err)
	}
	if want := []string{"create", "transition", "delete"}; !slices.Equal(h.seen, want) {
		t.Fatalf("hooks saw %v, want %v", h.seen, want)
	}
}
