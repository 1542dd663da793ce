package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"stride/engine/api"
)

// TestSecurityHeaders: the web app and /docs get the strict CSP and the
// browser hardening headers; API responses get a deny-all CSP and no-store.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{"/", "/targets", "/docs"} {
		r := e.do("GET", p, "", nil).must(t, 200)
		if got := r.header.Get("Content-Security-Policy"); got != api.ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", p, got)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Cross-Origin-Opener-Policy": "same-origin"} {
			if r.header.Get(h) != want {
				t.Errorf("%s: %s = %q, want %q", p, h, r.header.Get(h), want)
			}
		}
	}
	for _, pol := range []string{"script-src 'self';", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(api.ContentSecurityPolicy, pol) {
			t.Errorf("CSP lacks %s", pol)
		}
	}
	if strings.Contains(api.ContentSecurityPolicy, "unsafe-eval") || strings.Contains(strings.Split(api.ContentSecurityPolicy, "style-src")[0], "unsafe-inline") {
		t.Error("scripts must not be inline or eval'd")
	}
	r := e.do("GET", "/api/v1/records/deal", e.admin, nil).must(t, 200)
	if r.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(r.header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("API headers: %v", r.header)
	}
	if r.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	if r := e.do("GET", "/healthz", "", nil, "X-Forwarded-Proto", "https"); r.header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS behind a TLS proxy")
	}
}

// TestRevocationIsImmediate: a logged-out session, a revoked integration
// token, a deactivated user and a demoted admin stop working on the very
// next request.
func TestRevocationIsImmediate(t *testing.T) {
	e := newEnv(t)
	tk := e.do("POST", "/api/v1/tokens", e.admin, map[string]any{"name": "ci", "scopes": []string{"records:read"}}).must(t, 201)
	secret, id := tk.body["token"].(string), tk.body["id"].(string)
	e.do("GET", "/api/v1/records/deal", secret, nil).must(t, 200)
	e.do("DELETE", "/api/v1/tokens/"+id, e.admin, nil).must(t, 204)
	e.do("GET", "/api/v1/records/deal", secret, nil).must(t, 401)

	uid, utok := e.user("leaver", "rep")
	e.do("GET", "/api/v1/records/deal", utok, nil).must(t, 200)
	e.do("DELETE", "/api/v1/users/"+uid, e.admin, nil).must(t, 204)
	e.do("GET", "/api/v1/records/deal", utok, nil).must(t, 401)
	e.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": "demo", "username": "leaver", "password": "password-leaver"}).must(t, 401)

	bid, btok := e.user("boss", "admin")
	e.do("GET", "/api/v1/users", btok, nil).must(t, 200)
	e.do("PATCH", "/api/v1/users/"+bid, e.admin, map[string]any{"roles": []string{"rep"}}).must(t, 200)
	e.do("GET", "/api/v1/users", btok, nil).must(t, 403)

	// A password reset ends the user's sessions (integration tokens stay);
	// a re-enabled user's old sessions stay dead.
	rid, rtok := e.user("reset.me", "rep")
	rtok2 := e.login("reset.me", "password-reset.me")
	e.do("PATCH", "/api/v1/users/"+rid, e.admin, map[string]any{"password": "a-new-password-1"}).must(t, 200)
	e.do("GET", "/api/v1/me", rtok, nil).must(t, 401)
	e.do("GET", "/api/v1/me", rtok2, nil).must(t, 401)
	rtok3 := e.login("reset.me", "a-new-password-1")
	e.do("PATCH", "/api/v1/users/"+rid, e.admin, map[string]any{"disabled": true}).must(t, 200)
	e.do("PATCH", "/api/v1/users/"+rid, e.admin, map[string]any{"disabled": false}).must(t, 200)
	e.do("GET", "/api/v1/me", rtok3, nil).must(t, 401)
	e.do("GET", "/api/v1/me", e.login("reset.me", "a-new-password-1"), nil).must(t, 200)
	e.do("GET", "/api/v1/me", e.admin, nil).must(t, 200) // nobody else's

	e.do("POST", "/api/v1/auth/logout", btok, nil).must(t, 204)
	e.do("GET", "/api/v1/me", btok, nil).must(t, 401)
	// A token that merely looks right is refused the same way.
	e.do("GET", "/api/v1/me", btok[:len(btok)-1]+"x", nil).must(t, 401)
}

// TestLoginAndTokenRateLimits: repeated failed logins of one account are
// refused with 429, Retry-After and a problem document; another account
// from the same address is unaffected; forwarding headers from an
// untrusted peer do not change the client address; token creation is
// limited per account.
func TestLoginAndTokenRateLimits(t *testing.T) {
	e := newEnv(t)
	bad := map[string]any{"tenant": "demo", "username": "admin", "password": "wrong-password"}
	for i := 0; i < 4; i++ { // the harness's own login used one of five
		e.do("POST", "/api/v1/auth/login", "", bad, "X-Forwarded-For", fmt.Sprintf("10.0.0.%d", i)).must(t, 401)
	}
	r := e.do("POST", "/api/v1/auth/login", "", bad, "X-Forwarded-For", "10.0.0.99").must(t, 429)
	if r.header.Get("Retry-After") == "" || r.body["code"] != "rate_limited" || r.body["retryAfter"] == nil {
		t.Fatalf("429: %v %s", r.header, r.raw)
	}
	// Even the right password waits: the limit is on attempts.
	e.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": "demo", "username": "admin", "password": adminPassword}).must(t, 429)
	e.user("other", "rep") // another account from the same address signs in

	// The audit log names the peer, not the forged address, and never a password.
	admTok := e.adminTokenFresh(t)
	log := e.do("GET", "/api/v1/audit?limit=500", admTok, nil).must(t, 200)
	if strings.Contains(log.raw, "10.0.0.") {
		t.Errorf("a forged X-Forwarded-For reached the audit log: %s", trim(log.raw))
	}
	if strings.Contains(log.raw, "wrong-password") || strings.Contains(log.raw, adminPassword) {
		t.Error("a password reached the audit log")
	}

	n429 := 0
	for i := 0; i < 40 && n429 == 0; i++ {
		r := e.do("POST", "/api/v1/tokens", admTok, map[string]any{"name": fmt.Sprint("t", i), "scopes": []string{"records:read"}})
		switch r.status {
		case 201:
		case 429:
			n429++
			if r.header.Get("Retry-After") == "" {
				t.Error("token 429 without Retry-After")
			}
			if i < 30 {
				t.Errorf("token creation limited after %d", i)
			}
		default:
			t.Fatalf("token %d: %d %s", i, r.status, r.raw)
		}
	}
	if n429 == 0 {
		t.Error("40 tokens in a row were never limited")
	}
}

// adminTokenFresh signs in a second admin (the first one's login is rate-limited by the test).
func (e *env) adminTokenFresh(t *testing.T) string {
	t.Helper()
	_, tok := e.user(fmt.Sprintf("admin%d", time.Now().UnixNano()%100000), "admin")
	return tok
}

// TestAuditOfLogins: successful and failed logins (wrong password, unknown
// user, disabled user) and logouts are audited with the address and never
// the password; applying a template and repairing rollups name the admin.
func TestAuditOfLogins(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "rep")
	for _, c := range []struct{ user, pw string }{{"alice", "bad-pass-1"}, {"nobody", "bad-pass-2"}} {
		e.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": "demo", "username": c.user, "password": c.pw}).must(t, 401)
	}
	tok := e.login("alice", "password-alice")
	e.do("POST", "/api/v1/auth/logout", tok, nil).must(t, 204)
	bundle := e.do("GET", "/api/v1/templates-export?name=own&version=1.0.0", e.admin, nil).must(t, 200).raw
	e.do("POST", "/api/v1/templates/apply", e.admin, `{"bundle":`+bundle+`}`).must(t, 200)
	e.do("POST", "/api/v1/reconcile", e.admin, map[string]any{"repair": true}).must(t, 200)
	me := e.do("GET", "/api/v1/me", e.admin, nil).must(t, 200).body["id"].(string)

	log := e.do("GET", "/api/v1/audit?limit=500", e.admin, nil).must(t, 200)
	type entry struct{ action, target, actor, reason string }
	var got []entry
	for _, it := range log.body["items"].([]any) {
		m := it.(map[string]any)
		d, _ := m["detail"].(map[string]any)
		reason, _ := d["reason"].(string)
		got = append(got, entry{m["action"].(string), m["target"].(string), m["actor"].(string), reason})
	}
	has := func(action, targetPrefix, actor, reason string) {
		t.Helper()
		for _, g := range got {
			if g.action == action && strings.HasPrefix(g.target, targetPrefix) && (actor == "" || g.actor == actor) && g.reason == reason {
				return
			}
		}
		t.Errorf("no audit entry %s %s by %q (%s) in %v", action, targetPrefix, actor, reason, got)
	}
	has("auth.login", "user:", "", "")
	has("auth.login_failed", "user:", "", "wrong_password")
	has("auth.login_failed", "username:nobody", "", "unknown_user")
	has("auth.logout", "user:", "", "")
	has("template.apply", "template:own", me, "")
	has("tracking.reconcile_repair", "tenant:demo", me, "")
	for _, pw := range []string{"bad-pass-1", "bad-pass-2", "password-alice"} {
		if strings.Contains(log.raw, pw) {
			t.Errorf("the audit log holds a password: %s", pw)
		}
	}
}

// TestRequestLimits: bodies over MaxBody are refused (declared or chunked),
// and an API handler's context has a deadline: past it the answer is a
// 503 problem with Retry-After, not a hung request.
func TestRequestLimits(t *testing.T) {
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("x", api.MaxBody) + `"}`
	r := e.do("POST", "/api/v1/records/deal", e.admin, big).must(t, 413)
	if r.body["code"] != "body_too_large" {
		t.Fatalf("413: %s", r.raw)
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/records/deal", &chunked{n: api.MaxBody + 10})
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 || res.ContentLength == 0 {
		t.Fatalf("chunked oversize body: %d", res.StatusCode)
	}

	a := open(t, t.TempDir())
	d := deps(a)
	d.RequestTimeout, d.LongRequestTimeout = time.Nanosecond, time.Nanosecond
	srv := httptest.NewServer(api.New(d).Handler())
	defer func() { srv.Close(); a.Store.Close() }()
	tok := e.admin // any token: authentication itself is past the deadline
	req, _ = http.NewRequest("GET", srv.URL+"/api/v1/records/deal", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("past the deadline: %d %v", res.StatusCode, res.Header)
	}
}

// chunked is a body of n bytes of JSON-ish text with no declared length.
type chunked struct{ n, off int }

func (c *chunked) Read(p []byte) (int, error) {
	if c.off >= c.n {
		return 0, io.EOF
	}
	k := min(len(p), c.n-c.off)
	for i := range k {
		p[i] = 'x'
	}
	if c.off == 0 && k > 0 {
		p[0] = '"'
	}
	c.off += k
	return k, nil
}
