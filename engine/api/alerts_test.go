package api_test

import (
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

	"stride/engine/api"
	"stride/engine/auth"
	"stride/engine/plugin"
	"stride/engine/secrets"
	"stride/engine/tenant"
	_ "stride/plugins/standard"
)

// matrixAlert is the published alert of the authorization fixture; it fires
// for deals over 5,000,000 元 and tells their owner.
func matrixAlert() map[string]any {
	return map[string]any{
		"label": map[string]any{"zh-CN": "大额商机"}, "source": "record", "object": "deal", "condition": "amount > 5000000",
		"title": map[string]any{"zh-CN": "大额商机:{{name}}"}, "message": map[string]any{"zh-CN": "金额 {{amount}} 元"},
		"recipients": map[string]any{"owner": true}, "cooldownMinutes": 0,
	}
}

// ensureAlert publishes the fixture alert once.
func (f *authzFixture) ensureAlert() {
	if f.e.do("GET", "/api/v1/alerts/matrix_big", f.e.admin, nil).status == 200 {
		return
	}
	f.e.do("PUT", "/api/v1/alerts/matrix_big", f.e.admin, matrixAlert()).must(f.e.t, 200)
	f.e.do("POST", "/api/v1/alerts/matrix_big/publish", f.e.admin, nil).must(f.e.t, 200)
}

// fireAlert makes the fixture alert fire for the admin and returns the
// admin's newest inbox message and its delivery.
func (f *authzFixture) fireAlert() (message, delivery string) {
	f.ensureAlert()
	before := f.e.do("GET", "/api/v1/inbox", f.e.admin, nil).must(f.e.t, 200).body["unread"].(float64)
	f.e.do("POST", "/api/v1/records/deal", f.e.admin, map[string]any{"name": f.unique("大单 "), "amount": 600000000,
		"customer": "c", "closeDate": "2026-04-01"}).must(f.e.t, 201)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) { // delivered asynchronously
		in := f.e.do("GET", "/api/v1/inbox?unread=true", f.e.admin, nil).must(f.e.t, 200)
		if in.body["unread"].(float64) > before || time.Now().After(deadline) {
			message = in.body["items"].([]any)[0].(map[string]any)["id"].(string)
			break
		}
	}
	ds := f.e.do("GET", "/api/v1/alert-deliveries", f.e.admin, nil).must(f.e.t, 200)
	delivery = ds.body["items"].([]any)[0].(map[string]any)["id"].(string)
	return message, delivery
}

// buildAlerts supplies the alert, inbox and plugin routes' parameters.
func (f *authzFixture) buildAlerts(method, path, _ string) (matrixCall, bool) {
	sub := func(p, k, v string) string { return strings.Replace(p, k, v, 1) }
	switch {
	case strings.HasPrefix(path, "/api/v1/alerts/:key"):
		f.ensureAlert()
		c := matrixCall{path: sub(path, ":key", "matrix_big")}
		if method == "PUT" {
			c.body = matrixAlert()
		}
		return c, true
	case path == "/api/v1/alert-check":
		return matrixCall{path: path, body: matrixAlert()}, true
	case path == "/api/v1/alert-deliveries/:id/retry":
		_, d := f.fireAlert()
		return matrixCall{path: sub(path, ":id", d)}, true // sent, not dead: 409 for the admin
	case path == "/api/v1/inbox/:id/read":
		m, _ := f.fireAlert()
		return matrixCall{path: sub(path, ":id", m)}, true // the admin's message: hidden from everybody else
	case path == "/api/v1/hooks/:connector":
		return matrixCall{path: sub(path, ":connector", "erp") + "?tenant=demo", body: map[string]any{"order": 1}}, true
	case strings.HasPrefix(path, "/api/v1/plugins/:id"):
		c := matrixCall{path: sub(path, ":id", "inbox")}
		switch method {
		case "PUT":
			c.path = sub(path, ":id", "wecom_matrix")
			c.body = map[string]any{"module": "notify.wecom", "config": map[string]any{"key": "wecom-robot-key"}} // 422 without STRIDE_SECRET_KEY
		case "DELETE":
			c.path = sub(path, ":id", "gone_plugin")
		}
		return c, true
	}
	return matrixCall{}, false
}

// webhookSink verifies signatures and keeps what it received.
type webhookSink struct {
	mu     sync.Mutex
	secret string
	bodies []map[string]any
	bad    int
}

func (w *webhookSink) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	ts, _ := strconv.ParseInt(r.Header.Get(plugin.HeaderTimestamp), 10, 64)
	w.mu.Lock()
	defer w.mu.Unlock()
	if !plugin.VerifySignature(w.secret, ts, b, r.Header.Get(plugin.HeaderSignature)) {
		w.bad++
		rw.WriteHeader(401)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	w.bodies = append(w.bodies, m)
}

func (w *webhookSink) n() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.bodies) }

// TestAlertsOverHTTP: configure a webhook notifier (secret masked), start
// a rule from the stuck-deal… big-deal rule, trigger it by a record
// change, see it in the inbox and at the webhook; a forged or replayed
// inbound webhook is a problem+json 401 / 409.
func TestAlertsOverHTTP(t *testing.T) {
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	e := newEnv(t)
	sink := &webhookSink{secret: "sink-signing-secret-0123456789"}
	srv := httptest.NewServer(sink)
	defer srv.Close()

	// Plugin settings: the secret is write-only.
	p := e.do("PUT", "/api/v1/plugins/ops", e.admin, map[string]any{"module": "notify.webhook", "label": "运维群",
		"config": map[string]any{"url": srv.URL, "secret": sink.secret}}).must(t, 200)
	if p.body["config"].(map[string]any)["secret"] != plugin.Masked || strings.Contains(p.raw, sink.secret) {
		t.Fatalf("secret leaked: %s", p.raw)
	}
	// Saving with the mask keeps the secret; a bad URL is a 422 with a pointer.
	e.do("PUT", "/api/v1/plugins/ops", e.admin, map[string]any{"module": "notify.webhook",
		"config": map[string]any{"url": srv.URL, "secret": plugin.Masked}}).must(t, 200)
	bad := e.do("PUT", "/api/v1/plugins/ops", e.admin, map[string]any{"module": "notify.webhook", "config": map[string]any{"url": "not a url"}})
	if bad.status != 422 || !strings.Contains(bad.raw, `"/config/url"`) {
		t.Fatalf("bad url: %d %s", bad.status, bad.raw)
	}
	e.do("POST", "/api/v1/plugins/ops/test", e.admin, nil).must(t, 200)
	if sink.n() != 1 || sink.bad != 0 {
		t.Fatalf("test message: %d received, %d bad signatures", sink.n(), sink.bad)
	}
	mods := e.do("GET", "/api/v1/plugin-modules?namespace=notify", e.admin, nil).must(t, 200)
	if len(mods.body["items"].([]any)) != 5 {
		t.Fatalf("modules: %s", mods.raw)
	}

	// Type-check: a misspelt field is pointed at.
	def := matrixAlert()
	def["condition"] = "amout > 1"
	chk := e.do("POST", "/api/v1/alert-check", e.admin, def).must(t, 200)
	if chk.body["ok"] != false || !strings.Contains(chk.raw, `"formula_unknown_name"`) || !strings.Contains(chk.raw, "did you mean amount") {
		t.Fatalf("check: %s", chk.raw)
	}
	e.do("PUT", "/api/v1/alerts/big", e.admin, def).must(t, 422)
	e.do("PUT", "/api/v1/alerts/big", e.admin, matrixAlert()).must(t, 200)
	e.do("POST", "/api/v1/alerts/big/publish", e.admin, nil).must(t, 200)

	e.do("POST", "/api/v1/records/deal", e.admin, map[string]any{"name": "核磁大单", "amount": 600000000, "customer": "c", "closeDate": "2026-04-01"}).must(t, 201)
	// Delivery is asynchronous on the server, to each channel on its own:
	// wait for both the webhook and the inbox (generously: CI runs the
	// race detector on a loaded machine).
	deadline := time.Now().Add(30 * time.Second)
	in := e.do("GET", "/api/v1/inbox", e.admin, nil).must(t, 200)
	for (sink.n() < 2 || in.body["unread"] != float64(1)) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		in = e.do("GET", "/api/v1/inbox", e.admin, nil).must(t, 200)
	}
	if in.body["unread"] != float64(1) {
		t.Fatalf("inbox: %s", in.raw)
	}
	if sink.n() != 2 || sink.bodies[1]["title"] != "大额商机:核磁大单" {
		t.Fatalf("webhook got %v", sink.bodies)
	}
	e.do("POST", "/api/v1/inbox-read-all", e.admin, nil).must(t, 200)
	if in := e.do("GET", "/api/v1/inbox", e.admin, nil).must(t, 200); in.body["unread"] != float64(0) {
		t.Fatalf("still unread: %s", in.raw)
	}

	// Inbound connector: payments (回款) pushed by an ERP.
	secret := "erp-signing-secret-0123456789"
	me := e.do("GET", "/api/v1/me", e.admin, nil).must(t, 200)
	e.do("PUT", "/api/v1/plugins/erp", e.admin, map[string]any{"module": "connect.webhook", "config": map[string]any{
		"secret": secret, "object": "deal", "defaultOwner": me.body["id"],
		"mapping":        map[string]any{"name": `"回款 " + payload.no`, "customer": "payload.customer", "amount": "payload.amountFen", "closeDate": "payload.date"},
		"idempotencyKey": "payload.no"}}).must(t, 200)
	body := `{"no":"PAY-7","customer":"华东经销","amountFen":880000,"date":"2026-05-02"}`
	post := func(delivery, sig string, ts int64) resp {
		return e.do("POST", "/api/v1/hooks/erp", "", body, plugin.HeaderTimestamp, strconv.FormatInt(ts, 10),
			plugin.HeaderDelivery, delivery, plugin.HeaderSignature, sig, "X-Stride-Tenant", "demo")
	}
	now := time.Now().Unix()
	post("pay-1", plugin.Sign(secret, now, []byte(body)), now).must(t, 201)
	if r := post("pay-1", plugin.Sign(secret, now, []byte(body)), now); r.status != 409 || r.header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("replay: %d %s", r.status, r.raw)
	}
	if r := post("pay-2", plugin.Sign("forged", now, []byte(body)), now); r.status != 401 || !strings.Contains(r.raw, "bad_signature") {
		t.Fatalf("forged: %d %s", r.status, r.raw)
	}
	if r := post("pay-3", plugin.Sign(secret, now, []byte(body)), now); r.status != 200 || !strings.Contains(r.raw, `"replayed":true`) {
		t.Fatalf("same payment, new delivery: %d %s", r.status, r.raw)
	}
}

// TestAlertsTenantIsolation: alerts, inbox messages, deliveries, plugins and
// connectors of one tenant are invisible to another.
func TestAlertsTenantIsolation(t *testing.T) {
	key, _ := secrets.GenerateKey()
	t.Setenv(secrets.EnvKey, key)
	ctx := context.Background()
	dir := t.TempDir()
	a := open(t, dir)
	bdb, err := a.Tenants.Create(ctx, tenant.Tenant{Name: "acme", DisplayName: "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	un, pw, roles := "admin", adminPassword, []auth.Role{auth.RoleAdmin}
	if _, err := auth.CreateUser(ctx, bdb, "system", auth.UserInput{Username: &un, Password: &pw, Roles: &roles}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(deps(a)).Handler())
	t.Cleanup(func() { srv.Close(); a.Store.Close() })
	eA := &env{t: t, srv: srv, dir: dir, st: a.Store, auth: a.Auth}
	eA.admin = eA.login("admin", adminPassword)
	eB := &env{t: t, srv: srv, dir: dir, st: a.Store, auth: a.Auth, tenant: "acme"}
	eB.admin = eB.login("admin", adminPassword)

	eA.do("PUT", "/api/v1/alerts/big", eA.admin, matrixAlert()).must(t, 200)
	eA.do("POST", "/api/v1/alerts/big/publish", eA.admin, nil).must(t, 200)
	me := eA.do("GET", "/api/v1/me", eA.admin, nil).must(t, 200)
	eA.do("PUT", "/api/v1/plugins/erp", eA.admin, map[string]any{"module": "connect.webhook", "config": map[string]any{
		"secret": "tenant-a-secret-0123456789", "object": "deal", "defaultOwner": me.body["id"],
		"mapping": map[string]any{"name": "payload.no"}, "idempotencyKey": "payload.no"}}).must(t, 200)
	eA.do("POST", "/api/v1/records/deal", eA.admin, map[string]any{"name": "A 的大单", "amount": 600000000, "customer": "c", "closeDate": "2026-04-01"}).must(t, 201)
	var msg string
	for deadline := time.Now().Add(30 * time.Second); msg == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if items := eA.do("GET", "/api/v1/inbox", eA.admin, nil).must(t, 200).body["items"].([]any); len(items) > 0 {
			msg = items[0].(map[string]any)["id"].(string)
		}
	}
	if msg == "" {
		t.Fatal("tenant A's alert did not reach its inbox")
	}
	for _, p := range []string{"/api/v1/alerts", "/api/v1/inbox", "/api/v1/alert-deliveries", "/api/v1/plugins"} {
		if r := eB.do("GET", p, eB.admin, nil).must(t, 200); strings.Contains(r.raw, "big") && p == "/api/v1/alerts" || strings.Contains(r.raw, msg) || strings.Contains(r.raw, "A 的大单") || strings.Contains(r.raw, `"erp"`) {
			t.Errorf("%s of tenant B shows tenant A's data: %s", p, r.raw)
		}
	}
	eB.do("GET", "/api/v1/alerts/big", eB.admin, nil).must(t, 404)
	eB.do("POST", "/api/v1/inbox/"+msg+"/read", eB.admin, nil).must(t, 404)
	eB.do("GET", "/api/v1/plugins/erp", eB.admin, nil).must(t, 404)
	body := `{"no":"X-1"}`
	now := time.Now().Unix()
	if r := eA.do("POST", "/api/v1/hooks/erp", "", body, plugin.HeaderTimestamp, strconv.FormatInt(now, 10), plugin.HeaderDelivery, "x1",
		plugin.HeaderSignature, plugin.Sign("tenant-a-secret-0123456789", now, []byte(body)), "X-Stride-Tenant", "acme"); r.status != 404 {
		t.Fatalf("tenant A's connector answered for tenant B: %d %s", r.status, r.raw)
	}
}
