package tracking

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"sync/atomic"
	"testing"

	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/records"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/store/sqlite"
	"stride/engine/tenant"
)

// orderDef is a test object with every kind of field a metric uses.
const orderDef = `{
  "label": {"en": "Order"},
  "titleField": "name",
  "schema": {
    "type": "object",
    "properties": {
      "name": {"type": "string"},
      "amount": {"type": "integer", "format": "money"},
      "closeDate": {"type": "string", "format": "date"},
      "paidAt": {"type": "string", "format": "date-time"},
      "seller": {"type": "string"},
      "score": {"type": "number"},
      "splits": {"type": "array", "items": {"type": "object",
        "properties": {"user": {"type": "string"}, "percent": {"type": "number"}}, "required": ["user", "percent"]}}
    },
    "required": ["name"]
  }
}`

// The metrics of the tests.
var testMetrics = map[string]string{
	"revenue": `{"label": {"en": "Won revenue"}, "object": "order", "where": "name != 'skip'", "value": "amount",
		"dateField": "closeDate", "ownerField": "owner", "splitField": "splits"}`,
	"paid":   `{"label": {"zh-CN": "回款"}, "object": "order", "value": "amount", "dateField": "paidAt", "ownerField": "seller"}`,
	"orders": `{"label": {"en": "New orders"}, "object": "order", "dateField": "createdAt", "ownerField": "owner"}`,
	"score":  `{"label": {"en": "Score"}, "object": "order", "value": "score * 1.5", "precision": 1, "dateField": "closeDate", "ownerField": "owner"}`,
}

// swapHook forwards to the current tracker, so a test can "restart" the
// projector with a fresh Tracker while records keep their hook.
type swapHook struct{ cur atomic.Pointer[Tracker] }

func (s *swapHook) BeforeWrite(ctx context.Context, w *records.Write) error {
	return s.cur.Load().Hook().BeforeWrite(ctx, w)
}
func (s *swapHook) AfterWrite(ctx context.Context, w *records.Write) {
	s.cur.Load().Hook().AfterWrite(ctx, w)
}

// testApp is the part of the engine these tests need, wired by hand: the
// tracker under test must be the only one projecting (setup.New wires one of
// its own).
type testApp struct {
	Objects *objects.Service
	Records *records.Service
	Tenants *tenant.Registry
}

type env struct {
	ctx     context.Context
	app     *testApp
	db      store.DB
	admin   *auth.Principal
	users   []string
	tr      *Tracker
	hook    *swapHook
	metrics []string
}

func newEnv(t *testing.T, metrics ...string) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		// fsync-bound: keep the test database in memory when we can.
		if dir, err = os.MkdirTemp("/dev/shm", "tracking-test-"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	objs := objects.NewService(rules.New(rules.Options{}))
	var colls []store.Collection
	colls = append(colls, auth.Collections()...)
	colls = append(colls, audit.Collections()...)
	colls = append(colls, objs.Collections()...)
	colls = append(colls, records.Collections()...)
	reg := tenant.New(st, colls)
	if _, err := reg.System(ctx, auth.SystemCollections()...); err != nil {
		t.Fatal(err)
	}
	app := &testApp{Objects: objs, Records: records.NewService(objs), Tenants: reg}
	db, err := reg.Create(ctx, tenant.Tenant{Name: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	{
		name, pw, roles := "admin", "track-pass-123", []auth.Role{auth.RoleAdmin}
		if _, err := auth.CreateUser(ctx, db, "system", auth.UserInput{Username: &name, Password: &pw, Roles: &roles}); err != nil {
			t.Fatal(err)
		}
	}
	admin, _ := auth.UserByName(ctx, db, "admin")
	e := &env{ctx: ctx, app: app, db: db, admin: &auth.Principal{Tenant: "demo", UserID: admin.ID, Roles: admin.Roles}, hook: &swapHook{}}
	e.users = append(e.users, admin.ID)
	for _, name := range []string{"ann", "bob", "cat"} {
		pw, roles := "secret-pass-123", []auth.Role{auth.RoleRep}
		u, err := auth.CreateUser(ctx, db, admin.ID, auth.UserInput{Username: &name, Password: &pw, Roles: &roles})
		if err != nil {
			t.Fatal(err)
		}
		e.users = append(e.users, u.ID)
	}
	var def map[string]any
	if err := json.Unmarshal([]byte(orderDef), &def); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Objects.Save(ctx, db, "demo", admin.ID, "order", def, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Objects.Publish(ctx, db, "demo", admin.ID, "order"); err != nil {
		t.Fatal(err)
	}
	e.tr = New(app.Objects, app.Tenants)
	e.hook.cur.Store(e.tr)
	app.Records.Use(e.hook)
	for _, k := range metrics {
		e.publish(t, k, testMetrics[k])
	}
	return e
}

func (e *env) publish(t *testing.T, key, src string) {
	t.Helper()
	var def map[string]any
	if err := json.Unmarshal([]byte(src), &def); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tr.Save(e.ctx, e.db, "demo", e.admin.UserID, key, def, 0); err != nil {
		t.Fatalf("save %s: %v", key, err)
	}
	if _, err := e.tr.Publish(e.ctx, e.db, "demo", e.admin.UserID, key); err != nil {
		t.Fatalf("publish %s: %v", key, err)
	}
	if !slices.Contains(e.metrics, key) {
		e.metrics = append(e.metrics, key)
	}
}

// restart replaces the tracker with a fresh one (new caches, new lease
// holder) and runs its start-up recovery.
func (e *env) restart(t *testing.T) {
	t.Helper()
	old := e.tr
	e.tr = New(e.app.Objects, e.app.Tenants)
	e.tr.holder = old.holder // the same instance, restarted
	e.hook.cur.Store(e.tr)
	if err := e.tr.Start(e.ctx, e.db, "demo"); err != nil {
		t.Fatal(err)
	}
}

func (e *env) reconcileClean(t *testing.T) {
	t.Helper()
	rep, err := e.tr.Reconcile(e.ctx, e.db, "demo", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Drift) > 0 {
		n := min(len(rep.Drift), 10)
		t.Fatalf("%d drifted cells, e.g. %+v", len(rep.Drift), rep.Drift[:n])
	}
}
