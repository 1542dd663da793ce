package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"stride/engine/api"
	"stride/engine/auth"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
	"stride/examples"
)

const adminPassword = "admin-pass-123"

// env is a running API over a fresh embedded store.
type env struct {
	t     *testing.T
	srv   *httptest.Server
	dir   string
	st    store.Store
	auth  *auth.Service
	admin string // admin's token
	// tenant is who login signs in to ("" = demo).
	tenant string
}

// open wires the engine over the store this scenario runs on, with the
// demo tenant bootstrapped.
func open(t testing.TB, dir string) *setup.App {
	t.Helper()
	a, err := setup.New(context.Background(), openBackend(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	// Deliver alerts inside the write that fires them: with no dispatcher
	// loop in a test server, concurrent background dispatches could leave a
	// delivery waiting for a pass that never comes.
	a.Alerts.SyncDispatch = true
	if a.Store.Backend() == "mongo" {
		// FerretDB (the MongoDB test server) applies conditional updates
		// and deletes as read-then-write, so a background drain racing the
		// request's own outbox marks can lose a mark there — something
		// MongoDB's atomic single-document operations rule out. Project
		// synchronously so the scenarios test the engine, not FerretDB.
		a.Tracker.Async = false
	}
	if _, err := a.Bootstrap(context.Background(), adminPassword); err != nil {
		t.Fatal(err)
	}
	return a
}

func deps(a *setup.App) api.Deps {
	return api.Deps{Store: a.Store, Tenants: a.Tenants, Auth: a.Auth, Objects: a.Objects, Records: a.Records,
		Pipelines: a.Pipelines, Tracker: a.Tracker, Progress: a.Progress, Targets: a.Targets, Templates: a.Templates, Examples: examples.FS, Version: "test",
		Commission: a.Commission, Reports: a.Reports, Alerts: a.Alerts}
}

func openSQLite(t testing.TB, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newEnvAt(t *testing.T, dir string) *env {
	t.Helper()
	a := open(t, dir)
	e := &env{t: t, srv: httptest.NewServer(api.New(deps(a)).Handler()), dir: dir, st: a.Store, auth: a.Auth}
	t.Cleanup(func() { e.srv.Close(); a.Store.Close() })
	e.admin = e.login("admin", adminPassword)
	return e
}

func newEnv(t *testing.T) *env { return newEnvAt(t, t.TempDir()) }

// resp is a decoded response.
type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// do sends a request; body may be a string (sent verbatim) or a value (JSON).
func (e *env) do(method, path, token string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: response is not JSON: %v: %s", method, path, err, raw)
		}
	}
	if r.status >= 500 {
		e.t.Fatalf("%s %s: server error %d: %s", method, path, r.status, raw)
	}
	if r.status >= 400 && res.Header.Get("Content-Type") != "application/problem+json" {
		e.t.Fatalf("%s %s: error %d is not problem+json (%s): %s", method, path, r.status, res.Header.Get("Content-Type"), raw)
	}
	return r
}

func (e *env) login(username, password string) string {
	e.t.Helper()
	tenant := e.tenant
	if tenant == "" {
		tenant = "demo"
	}
	r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": tenant, "username": username, "password": password})
	if r.status != 200 {
		e.t.Fatalf("login %s: %d %s", username, r.status, r.raw)
	}
	return r.body["token"].(string)
}

// must asserts a status and returns the response.
func (r resp) must(t *testing.T, status int) resp {
	t.Helper()
	if r.status != status {
		t.Fatalf("want status %d, got %d: %s", status, r.status, r.raw)
	}
	return r
}

// pointers lists the errors[].pointer of a problem.
func (r resp) pointers() []string {
	var out []string
	errs, _ := r.body["errors"].([]any)
	for _, e := range errs {
		m := e.(map[string]any)
		out = append(out, m["pointer"].(string))
	}
	return out
}

func (r resp) firstError() map[string]any {
	errs, _ := r.body["errors"].([]any)
	if len(errs) == 0 {
		return nil
	}
	return errs[0].(map[string]any)
}

// user creates a user with a role and returns its id and token.
func (e *env) user(name string, role string) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/users", e.admin, map[string]any{"username": name, "password": "password-" + name, "roles": []string{role}}).must(e.t, 201)
	return r.body["id"].(string), e.login(name, "password-"+name)
}

// count returns how many deals the admin sees.
func (e *env) count(object string) int {
	e.t.Helper()
	r := e.do("GET", "/api/v1/records/"+object+"?limit=500", e.admin, nil).must(e.t, 200)
	return len(r.body["items"].([]any))
}

func TestMain(m *testing.M) {
	// Request logs would drown test output; errors still fail tests.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	code := m.Run()
	ferretStop()
	os.Exit(code)
}
