package config

import (
	"context"
	"testing"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/store"
	"stride/engine/store/sqlite"
)

// kind accepts definitions whose "n" is a non-negative number.
var kind = Kind{Name: "thing", Validate: func(_ context.Context, _ store.DB, _, _ string, def map[string]any) []apperr.FieldError {
	// Stored definitions come back with integral numbers as int64 (store.Doc
	// semantics), so read numbers with store.Float, as the engine does.
	if n, ok := def["n"]; !ok || store.Float(n) < 0 {
		return []apperr.FieldError{{Pointer: "/n", Code: "minimum", Message: "n must be a number ≥ 0"}}
	}
	return nil
}}

func newDB(t *testing.T) (store.DB, *Store) {
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := st.DB(context.Background(), "t_test")
	if err != nil {
		t.Fatal(err)
	}
	s := New(kind)
	for _, c := range append(s.Collections(), audit.Collections()...) {
		if err := db.Declare(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	return db, s
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	db, s := newDB(t)
	if _, err := s.Save(ctx, db, "t", "u1", "a", map[string]any{"n": -1.0}, 0); err == nil {
		t.Fatal("invalid definition saved")
	}
	if _, err := s.Get(ctx, db, "a"); err == nil {
		t.Fatal("a refused save left a document")
	}
	if _, err := s.PublishedVersion(ctx, db, "a"); err == nil {
		t.Fatal("unknown document has a published version")
	}
	d, err := s.Save(ctx, db, "t", "u1", "a", map[string]any{"n": 1.0}, 0)
	if err != nil || d.Status != StatusDraft || d.PublishedVersion != 0 {
		t.Fatalf("save: %+v %v", d, err)
	}
	if _, err := s.PublishedVersion(ctx, db, "a"); err == nil {
		t.Fatal("a draft counts as published")
	}
	if _, err := s.Save(ctx, db, "t", "u1", "a", map[string]any{"n": 2.0}, d.Version+7); err == nil {
		t.Fatal("stale If-Match accepted")
	}
	for i := 0; i < 2; i++ { // publishing twice without changes is a no-op
		if d, err = s.Publish(ctx, db, "t", "u1", "a"); err != nil || d.PublishedVersion != 1 {
			t.Fatalf("publish: %+v %v", d, err)
		}
	}
	if _, err := s.Save(ctx, db, "t", "u1", "a", map[string]any{"n": 2.0}, d.Version); err != nil {
		t.Fatal(err)
	}
	if d, err = s.Publish(ctx, db, "t", "u1", "a"); err != nil || d.PublishedVersion != 2 {
		t.Fatalf("second publish: %+v %v", d, err)
	}
	v1, err := s.Version(ctx, db, "a", 1)
	if err != nil || store.Float(v1["n"]) != 1 {
		t.Fatalf("v1 changed: %v %v", v1, err)
	}
	vs, _ := s.Versions(ctx, db, "a")
	if len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 {
		t.Fatalf("versions %+v", vs)
	}
}

// A publish that died after writing the version document but before the
// working copy pointed at it is completed by publishing again.
func TestPublishRepairsAHalfDonePublish(t *testing.T) {
	ctx := context.Background()
	db, s := newDB(t)
	if _, err := s.Save(ctx, db, "t", "u1", "a", map[string]any{"n": 5.0}, 0); err != nil {
		t.Fatal(err)
	}
	// Simulate the crash: the version document exists, the working copy is still a draft.
	if _, err := db.Insert(ctx, "cfg_thing_versions", store.Doc{store.KeyID: "a@1", "key": "a", "version": int64(1),
		"definition": map[string]any{"n": 5.0, "key": "a"}, "publishedAt": "2026-01-01T00:00:00.000Z", "publishedBy": "u1"}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Publish(ctx, db, "t", "u1", "a")
	if err != nil || d.PublishedVersion != 1 || d.Status != StatusPublished {
		t.Fatalf("repair publish: %+v %v", d, err)
	}
	if v, err := s.PublishedVersion(ctx, db, "a"); err != nil || v != 1 {
		t.Fatalf("in force: %d %v", v, err)
	}
}
