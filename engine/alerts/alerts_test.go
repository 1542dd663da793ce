package alerts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"stride/engine/alerts"
	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/plugin"
	"stride/engine/scorecard"
	"stride/engine/secrets"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
	_ "stride/plugins/standard"
)

const hookSecret = "a-webhook-signing-secret-of-some-length"

// receiver is a webhook endpoint that verifies signatures and can fail.
type receiver struct {
	mu       sync.Mutex
	failNext int
	status   int // answer when failing
	got      []map[string]any
	ids      []string
	badSig   int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get(plugin.HeaderTimestamp), 10, 64)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !plugin.VerifySignature(hookSecret, ts, body, r.Header.Get(plugin.HeaderSignature)) {
		rc.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.failNext > 0 {
		rc.failNext--
		w.WriteHeader(rc.status)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	rc.got = append(rc.got, m)
	rc.ids = append(rc.ids, r.Header.Get(plugin.HeaderDelivery))
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) count() int { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.got) }

type env struct {
	t     *testing.T
	ctx   context.Context
	dir   string
	app   *setup.App
	db    store.DB
	admin *auth.Principal
	now   time.Time
}

func open(t *testing.T, dir string, now *time.Time) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err := setup.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	a.Tracker.Async = false
	if _, err := a.Bootstrap(ctx, "admin-password-123"); err != nil {
		t.Fatal(err)
	}
	a.Alerts.SyncDispatch = true
	a.Alerts.Backoff = func(int) time.Duration { return 0 }
	a.Alerts.Now = func() time.Time { return *now }
	db, err := a.Tenants.DB(ctx, setup.DemoTenant)
	if err != nil {
		t.Fatal(err)
	}
	u, err := auth.UserByName(ctx, db, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, ctx: ctx, dir: dir, app: a, db: db, admin: &auth.Principal{Tenant: setup.DemoTenant, UserID: u.ID, Username: "admin", Roles: u.Roles}}
}

func withKey(t *testing.T) {
	k, err := secrets.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(secrets.EnvKey, k)
}

func (e *env) publish(key string, def map[string]any) {
	e.t.Helper()
	if _, err := e.app.Alerts.Save(e.ctx, e.db, setup.DemoTenant, e.admin.UserID, key, def, 0); err != nil {
		e.t.Fatalf("save %s: %v", key, err)
	}
	if _, err := e.app.Alerts.Publish(e.ctx, e.db, setup.DemoTenant, e.admin.UserID, key); err != nil {
		e.t.Fatalf("publish %s: %v", key, err)
	}
}

func bigDealRule() map[string]any {
	return map[string]any{
		"label": map[string]any{"zh-CN": "大额商机", "en": "Big deal"}, "source": "record", "object": "deal",
		"condition": "amount > 4000000",
		"title":     map[string]any{"zh-CN": "大额商机:{{name}}", "en": "Big deal: {{name}}"},
		"message":   map[string]any{"zh-CN": "金额 {{amount}} 元,阶段 {{stage}}"},
		"severity":  "critical", "recipients": map[string]any{"owner": true}, "cooldownMinutes": 60,
	}
}

func deal(name string, amountFen int64) map[string]any {
	return map[string]any{"name": name, "customer": "测试客户", "amount": amountFen, "closeDate": "2026-12-31"}
}

// TestWebhookDeliveryRetriesAndNoDuplicatesAfterRestart: a rule fires once
// per dedupe key within its cooldown; the webhook receives it once, signed,
// after a failed first try; nothing is sent twice after a restart.
func TestWebhookDeliveryRetriesAndNoDuplicatesAfterRestart(t *testing.T) {
	withKey(t)
	rc := &receiver{failNext: 1, status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	e := open(t, dir, &now)
	if _, err := e.app.Plugins.Save(e.ctx, e.db, setup.DemoTenant, e.admin.UserID, "ops_hook",
		plugin.Input{Module: "notify.webhook", Config: map[string]any{"url": srv.URL, "secret": hookSecret}}, 0); err != nil {
		t.Fatal(err)
	}
	// Secrets never come back.
	in, _ := e.app.Plugins.Get(e.ctx, e.db, "ops_hook")
	if in.Config["secret"] != plugin.Masked {
		t.Fatalf("secret not masked: %v", in.Config)
	}
	raw, _ := e.db.Get(e.ctx, plugin.CollConfigs, "ops_hook")
	if s := raw["config"].(map[string]any)["secret"].(string); !secrets.IsSealed(s) {
		t.Fatalf("secret stored in clear: %q", s)
	}
	e.publish("big_deal", bigDealRule())

	rec, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "deal", deal("核磁共振大单", 500000000), "")
	if err != nil {
		t.Fatal(err)
	}
	if rc.count() != 0 {
		t.Fatalf("first try should have failed, got %d", rc.count())
	}
	ds, _ := e.app.Alerts.Deliveries(e.ctx, e.db, alerts.StatusPending, 0)
	if len(ds) != 1 || ds[0].Attempts != 1 || ds[0].LastError == "" {
		t.Fatalf("want one pending webhook delivery after a failure, got %+v", ds)
	}
	if _, err := e.app.Alerts.Dispatch(e.ctx, e.db, setup.DemoTenant); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 1 || rc.badSig != 0 {
		t.Fatalf("want one signed delivery after the retry, got %d (bad signatures %d)", rc.count(), rc.badSig)
	}
	if got := rc.got[0]["title"]; got != "大额商机:核磁共振大单" {
		t.Fatalf("title %q", got)
	}
	if got := rc.got[0]["body"]; got != "金额 5,000,000 元,阶段 lead" {
		t.Fatalf("body %q", got)
	}
	// The inbox got it too.
	ib, err := e.app.Alerts.ListInbox(e.ctx, e.db, e.admin.UserID, false, 0, "")
	if err != nil || len(ib.Items) != 1 || ib.Unread != 1 {
		t.Fatalf("inbox: %+v %v", ib, err)
	}
	// A change inside the cooldown does not fire again.
	now = now.Add(10 * time.Minute)
	if _, err := e.app.Records.Patch(e.ctx, e.db, e.admin, "deal", rec.ID, map[string]any{"amount": int64(600000000)}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Alerts.Dispatch(e.ctx, e.db, setup.DemoTenant); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 1 {
		t.Fatalf("fired again within the cooldown: %d", rc.count())
	}
	// Restart: a new service over the same store.
	e.app.Store.Close()
	e2 := open(t, dir, &now)
	defer e2.app.Store.Close()
	if _, err := e2.app.Alerts.Dispatch(e2.ctx, e2.db, setup.DemoTenant); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Minute)
	if _, err := e2.app.Records.Patch(e2.ctx, e2.db, e2.admin, "deal", rec.ID, map[string]any{"amount": int64(700000000)}, 0); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 1 {
		t.Fatalf("a restart re-sent or re-fired: %d deliveries", rc.count())
	}
	// After the cooldown it fires again, once.
	now = now.Add(2 * time.Hour)
	if _, err := e2.app.Records.Patch(e2.ctx, e2.db, e2.admin, "deal", rec.ID, map[string]any{"amount": int64(800000000)}, 0); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 2 || rc.ids[0] == rc.ids[1] {
		t.Fatalf("want a second, distinct delivery after the cooldown: %v", rc.ids)
	}
	// A small deal never fires.
	if _, _, err := e2.app.Records.Create(e2.ctx, e2.db, e2.admin, "deal", deal("小单", 100000), ""); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 2 {
		t.Fatalf("a small deal fired: %d", rc.count())
	}
}

// TestDeadLetter: a receiver refusing for good (4xx) dead-letters at once;
// one failing for long dead-letters after MaxAttempts; retry resends.
func TestDeadLetter(t *testing.T) {
	withKey(t)
	rc := &receiver{failNext: 100, status: http.StatusBadRequest}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	e := open(t, t.TempDir(), &now)
	defer e.app.Store.Close()
	if _, err := e.app.Plugins.Save(e.ctx, e.db, setup.DemoTenant, e.admin.UserID, "hook",
		plugin.Input{Module: "notify.webhook", Config: map[string]any{"url": srv.URL, "secret": hookSecret}}, 0); err != nil {
		t.Fatal(err)
	}
	e.publish("big_deal", bigDealRule())
	if _, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "deal", deal("大单", 500000000), ""); err != nil {
		t.Fatal(err)
	}
	dead, _ := e.app.Alerts.Deliveries(e.ctx, e.db, alerts.StatusDead, 0)
	if len(dead) != 1 || dead[0].Attempts != 1 {
		t.Fatalf("want the 400 dead-lettered after one try: %+v", dead)
	}
	rc.mu.Lock()
	rc.failNext, rc.status = 100, http.StatusBadGateway
	rc.mu.Unlock()
	if _, err := e.app.Alerts.Retry(e.ctx, e.db, setup.DemoTenant, e.admin.UserID, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := e.app.Alerts.Dispatch(e.ctx, e.db, setup.DemoTenant); err != nil {
			t.Fatal(err)
		}
	}
	dead, _ = e.app.Alerts.Deliveries(e.ctx, e.db, alerts.StatusDead, 0)
	if len(dead) != 1 || dead[0].Attempts != alerts.DefaultMaxAttempts {
		t.Fatalf("want dead after %d attempts: %+v", alerts.DefaultMaxAttempts, dead)
	}
	rc.mu.Lock()
	rc.failNext = 0
	rc.mu.Unlock()
	if _, err := e.app.Alerts.Retry(e.ctx, e.db, setup.DemoTenant, e.admin.UserID, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	if rc.count() != 1 {
		t.Fatalf("retry did not deliver: %d", rc.count())
	}
}

// TestCheckPointsAtFormulaErrors: a wrong formula is a 422 naming where.
func TestCheckPointsAtFormulaErrors(t *testing.T) {
	now := time.Now()
	e := open(t, t.TempDir(), &now)
	defer e.app.Store.Close()
	def := bigDealRule()
	def["condition"] = "amout > 1"
	def["message"] = map[string]any{"zh-CN": "金额 {{amount + }}"}
	def["schedule"] = "every monday"
	fe := e.app.Alerts.Check(e.ctx, e.db, setup.DemoTenant, def)
	want := map[string]string{"/condition": "formula_unknown_name", "/message/zh-CN": "formula_syntax_error", "/schedule": "cron"}
	for _, f := range fe {
		if want[f.Pointer] == f.Code {
			delete(want, f.Pointer)
		}
	}
	if len(want) > 0 {
		t.Fatalf("missing problems %v in %+v", want, fe)
	}
	// Built-in templates are valid against the demo configuration.
	for _, tpl := range alerts.Templates() {
		if fe := e.app.Alerts.Check(e.ctx, e.db, setup.DemoTenant, tpl); len(fe) > 0 {
			t.Errorf("template %v: %+v", tpl["key"], fe)
		}
	}
}

// TestStuckDealAndDigest: the stuck-deal template fires on the schedule
// for a deal past its stage SLA; the weekly digest reaches managers.
func TestStuckDealTemplateOnSchedule(t *testing.T) {
	now := time.Now().UTC()
	e := open(t, t.TempDir(), &now)
	defer e.app.Store.Close()
	var stuck map[string]any
	for _, tpl := range alerts.Templates() {
		if tpl["key"] == "stuck_deal" {
			stuck = tpl
		}
	}
	e.publish("stuck_deal", stuck)
	res, err := e.app.Alerts.RunNow(e.ctx, e.db, setup.DemoTenant, "stuck_deal")
	if err != nil || res.Fired != 0 {
		t.Fatalf("nothing is stuck yet: %+v %v", res, err)
	}
	now = now.Add(90 * 24 * time.Hour)
	res, err = e.app.Alerts.RunNow(e.ctx, e.db, setup.DemoTenant, "stuck_deal")
	if err != nil || res.Fired == 0 {
		t.Fatalf("open deals should be stuck after 90 days: %+v %v", res, err)
	}
	again, _ := e.app.Alerts.RunNow(e.ctx, e.db, setup.DemoTenant, "stuck_deal")
	if again.Fired != 0 || again.Matched != res.Matched {
		t.Fatalf("fired twice within the cooldown: %+v", again)
	}
	ib, _ := e.app.Alerts.ListInbox(e.ctx, e.db, e.admin.UserID, true, 0, "")
	if int(ib.Unread) != res.Fired {
		t.Fatalf("inbox unread %d, fired %d", ib.Unread, res.Fired)
	}
	if _, err := e.app.Alerts.MarkRead(e.ctx, e.db, e.admin.UserID, ib.Items[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Alerts.MarkRead(e.ctx, e.db, "someone-else", ib.Items[0].ID); err == nil {
		t.Fatal("read someone else's message")
	}
}

// TestConnectorSignedInbound: a signed ERP payload becomes a record; a
// replay is 409, a forged signature 401, a stale timestamp 401.
func TestConnectorSignedInbound(t *testing.T) {
	withKey(t)
	now := time.Now().UTC()
	e := open(t, t.TempDir(), &now)
	defer e.app.Store.Close()
	_, err := e.app.Plugins.Save(e.ctx, e.db, setup.DemoTenant, e.admin.UserID, "erp", plugin.Input{Module: "connect.webhook", Config: map[string]any{
		"secret": hookSecret, "object": "deal", "defaultOwner": e.admin.UserID,
		"mapping": map[string]any{"name": `"ERP " + payload.order.no`, "customer": "payload.order.customer",
			"amount": "payload.order.amountFen", "closeDate": "payload.order.date"},
		"idempotencyKey": "payload.order.no"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"order": {"no": "SO-1001", "customer": "华东经销", "amountFen": 1234500, "date": "2026-07-01"}}`)
	send := func(delivery string, ts int64, sig string) (*alerts.InboundResult, error) {
		h := http.Header{}
		h.Set(plugin.HeaderTimestamp, strconv.FormatInt(ts, 10))
		h.Set(plugin.HeaderDelivery, delivery)
		h.Set(plugin.HeaderSignature, sig)
		return e.app.Alerts.Inbound(e.ctx, e.db, setup.DemoTenant, "erp", h, bytes.Clone(body))
	}
	ts := now.Unix()
	res, err := send("d-1", ts, plugin.Sign(hookSecret, ts, body))
	if err != nil || res.Record.Data["amount"] != int64(1234500) || res.Record.Owner != e.admin.UserID {
		t.Fatalf("inbound: %+v %v", res, err)
	}
	kind := func(err error) apperr.Kind { ae, _ := apperr.As(err); return ae.Kind }
	if _, err := send("d-1", ts, plugin.Sign(hookSecret, ts, body)); kind(err) != apperr.KindConflict {
		t.Fatalf("replay: want 409, got %v", err)
	}
	if _, err := send("d-2", ts, plugin.Sign("forged-secret-forged-secret", ts, body)); kind(err) != apperr.KindUnauthorized {
		t.Fatalf("forged: want 401, got %v", err)
	}
	old := ts - 3600
	if _, err := send("d-3", old, plugin.Sign(hookSecret, old, body)); kind(err) != apperr.KindUnauthorized {
		t.Fatalf("stale: want 401, got %v", err)
	}
	// The same order under a new delivery id creates nothing new.
	res, err = send("d-4", ts, plugin.Sign(hookSecret, ts, body))
	if err != nil || !res.Replayed {
		t.Fatalf("idempotent re-send: %+v %v", res, err)
	}
}

// TestSchedulerOneInstancePerRun: two instances over one store tick at the
// same due time; the run is claimed once, and nothing runs before the next
// cron time.
func TestSchedulerOneInstancePerRun(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 30, 0, 0, time.UTC) // 08:30 in Asia/Shanghai
	e := open(t, t.TempDir(), &now)
	defer e.app.Store.Close()
	a := e.app
	other := alerts.New(a.Objects, a.Records, a.Pipelines, a.Tracker, a.Progress, a.Tenants, a.Plugins)
	other.SyncDispatch, other.Now = true, func() time.Time { return now }
	def := map[string]any{
		"label": map[string]any{"zh-CN": "公司进度"}, "source": "progress", "metric": "won_revenue", "grain": "year", "nodes": "company",
		"schedule": "0 9 * * *", "condition": "true",
		"title": map[string]any{"zh-CN": "{{node}} {{period}} 进度"}, "message": map[string]any{"zh-CN": "实际 {{actual}},时间已过 {{round(elapsed * 100, 0)}}%"},
		"recipients": map[string]any{"roles": []any{"admin"}}, "cooldownMinutes": 0,
	}
	e.publish("company_daily", def)
	tick := func() {
		var wg sync.WaitGroup
		for _, s := range []*alerts.Service{a.Alerts, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Tick(e.ctx, e.db, setup.DemoTenant); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	unread := func() int64 {
		ib, err := a.Alerts.ListInbox(e.ctx, e.db, e.admin.UserID, true, 0, "")
		if err != nil {
			t.Fatal(err)
		}
		return ib.Unread
	}
	tick() // schedules the first run: 09:00 Shanghai
	if unread() != 0 {
		t.Fatal("ran before its time")
	}
	now = time.Date(2026, 6, 1, 1, 0, 30, 0, time.UTC)
	tick()
	if n := unread(); n != 1 {
		t.Fatalf("want exactly one run at 09:00, got %d messages", n)
	}
	ib, _ := a.Alerts.ListInbox(e.ctx, e.db, e.admin.UserID, true, 0, "")
	if ib.Items[0].Title != "全公司 2026 进度" && !strings.HasSuffix(ib.Items[0].Title, "2026 进度") {
		t.Fatalf("title %q", ib.Items[0].Title)
	}
	now = now.Add(time.Hour)
	tick()
	if n := unread(); n != 1 {
		t.Fatalf("ran again before the next day: %d", n)
	}
	now = now.Add(24 * time.Hour)
	tick()
	if n := unread(); n != 2 {
		t.Fatalf("want the next day's run: %d", n)
	}
}

// TestAnnounceAward: recognition reaches each winner's inbox, once.
func TestAnnounceAward(t *testing.T) {
	now := time.Now()
	e := open(t, t.TempDir(), &now)
	defer e.app.Store.Close()
	award := &scorecard.Award{Scorecard: "monthly", Period: "2026-05", Winners: []scorecard.Winner{{
		User: scorecard.UserRef{ID: e.admin.UserID, Name: "管理员"}, Rank: 1, Score: 114,
		Titles: []scorecard.TitleRef{{Key: "star", Title: map[string]string{"zh-CN": "月度之星"}}}}}}
	for range 2 {
		if err := e.app.Alerts.Announce(e.ctx, setup.DemoTenant, award); err != nil {
			t.Fatal(err)
		}
	}
	ib, _ := e.app.Alerts.ListInbox(e.ctx, e.db, e.admin.UserID, false, 0, "")
	if len(ib.Items) != 1 || !strings.Contains(ib.Items[0].Body, "月度之星") {
		t.Fatalf("inbox %+v", ib.Items)
	}
}

// TestManagersAndOwnerReceive: a rep's deal over the line tells the rep
// (owner) and the manager of the rep's team — nobody else.
func TestManagersAndOwnerReceive(t *testing.T) {
	now := time.Now()
	e := open(t, t.TempDir(), &now)
	defer e.app.Store.Close()
	user := func(name string, role auth.Role) auth.User {
		pw, roles := "password-"+name, []auth.Role{role}
		u, err := auth.CreateUser(e.ctx, e.db, "test", auth.UserInput{Username: &name, Password: &pw, Roles: &roles})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	mgr, rep, other := user("mgr.x", auth.RoleManager), user("rep.x", auth.RoleRep), user("rep.y", auth.RoleRep)
	name, managers := "华东", []string{mgr.ID}
	team, err := auth.SaveTeam(e.ctx, e.db, "test", "", auth.TeamInput{Name: &name, Managers: &managers}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []auth.User{rep, other} {
		if _, err := auth.AddMember(e.ctx, e.db, "test", team.ID, auth.Membership{UserID: u.ID, From: "2020-01-01"}); err != nil {
			t.Fatal(err)
		}
	}
	def := bigDealRule()
	def["recipients"] = map[string]any{"owner": true, "managers": true}
	e.publish("big_deal", def)
	p := &auth.Principal{Tenant: setup.DemoTenant, UserID: rep.ID, Username: rep.Username, Roles: rep.Roles}
	if _, _, err := e.app.Records.Create(e.ctx, e.db, p, "deal", deal("代理商大单", 900000000), ""); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  auth.User
		want int
	}{{rep, 1}, {mgr, 1}, {other, 0}} {
		ib, _ := e.app.Alerts.ListInbox(e.ctx, e.db, c.who.ID, false, 0, "")
		if len(ib.Items) != c.want {
			t.Errorf("%s: %d messages, want %d", c.who.Username, len(ib.Items), c.want)
		}
	}
	if ib, _ := e.app.Alerts.ListInbox(e.ctx, e.db, e.admin.UserID, false, 0, ""); len(ib.Items) != 0 {
		t.Errorf("the admin was told: %+v", ib.Items)
	}
}
