package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

var validDeal = map[string]any{"name": "华东医院设备采购", "customer": "华东医院", "amount": 1250000, "stage": "lead", "probability": 40}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name    string
		body    any
		status  int
		code    string
		pointer string
	}{
		{"wrong password", map[string]any{"tenant": "demo", "username": "admin", "password": "nope-nope"}, 401, "unauthorized", ""},
		{"unknown user", map[string]any{"tenant": "demo", "username": "ghost", "password": "x"}, 401, "unauthorized", ""},
		{"unknown tenant", map[string]any{"tenant": "acme", "username": "admin", "password": "x"}, 401, "unauthorized", ""},
		{"missing password", map[string]any{"tenant": "demo", "username": "admin"}, 422, "validation", "/password"},
		{"malformed JSON", `{"tenant": "demo",`, 400, "malformed_json", ""},
		{"trailing data", `{"tenant":"demo"} {}`, 400, "malformed_json", ""},
		{"wrong type", `{"tenant": 5, "username": "a", "password": "b"}`, 422, "validation", "/tenant"},
		{"unknown field", `{"tenant":"demo","username":"a","password":"b","role":"admin"}`, 422, "validation", "/role"},
		{"empty body", ``, 400, "malformed_json", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/auth/login", "", c.body, "X-Forwarded-For", "10.0.0."+fmt.Sprint(len(c.name)))
			r.must(t, c.status)
			if r.body["code"] != c.code {
				t.Fatalf("code = %v, want %s", r.body["code"], c.code)
			}
			if c.pointer != "" && !slices.Contains(r.pointers(), c.pointer) {
				t.Fatalf("pointers %v lack %s", r.pointers(), c.pointer)
			}
		})
	}
	ok := e.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": "demo", "username": "ADMIN", "password": adminPassword}).must(t, 200)
	if ok.body["token"] == "" || ok.body["user"].(map[string]any)["username"] != "admin" {
		t.Fatalf("bad login result %s", ok.raw)
	}
}

func TestLoginIsRateLimited(t *testing.T) {
	e := newEnv(t)
	limited := false
	for i := 0; i < 10; i++ {
		r := e.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": "demo", "username": "admin", "password": "wrong-guess"})
		if r.status == http.StatusTooManyRequests {
			limited = true
			if r.header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			break
		}
		r.must(t, 401)
	}
	if !limited {
		t.Fatal("10 wrong passwords in a row were never rate-limited")
	}
	// The right password is refused too while limited: no oracle for guessers.
	e.do("POST", "/api/v1/auth/login", "", map[string]any{"tenant": "demo", "username": "admin", "password": adminPassword}).must(t, 429)
}

func TestTokens(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, header string
		status       int
	}{
		{"missing", "", 401},
		{"not bearer", "Basic YWRtaW46eA==", 401},
		{"forged", "Bearer sts_forgedforgedforgedforgedforgedforged", 401},
		{"garbage", "Bearer ' OR 1=1 --", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.do("GET", "/api/v1/records/deal", "", nil, "Authorization", c.header).must(t, c.status)
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.auth.SessionTTL = -time.Minute
		tok := e.login("admin", adminPassword)
		e.auth.SessionTTL = time.Hour
		r := e.do("GET", "/api/v1/me", tok, nil).must(t, 401)
		if r.body["code"] != "token_expired" {
			t.Fatalf("code %v", r.body["code"])
		}
	})
	t.Run("logout revokes at once", func(t *testing.T) {
		tok := e.login("admin", adminPassword)
		e.do("GET", "/api/v1/me", tok, nil).must(t, 200)
		e.do("POST", "/api/v1/auth/logout", tok, nil).must(t, 204)
		e.do("GET", "/api/v1/me", tok, nil).must(t, 401)
	})
	t.Run("disabled user loses access at once", func(t *testing.T) {
		id, tok := e.user("leaver", "rep")
		e.do("GET", "/api/v1/me", tok, nil).must(t, 200)
		e.do("PATCH", "/api/v1/users/"+id, e.admin, map[string]any{"disabled": true}).must(t, 200)
		e.do("GET", "/api/v1/me", tok, nil).must(t, 401)
	})
}

func TestIntegrationTokenScopes(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/tokens", e.admin, map[string]any{"name": "ERP 只读", "scopes": []string{"records:read"}}).must(t, 201)
	ro := r.body["token"].(string)
	r = e.do("POST", "/api/v1/tokens", e.admin, map[string]any{"name": "ERP", "scopes": []string{"records:read", "records:write"}}).must(t, 201)
	rw, rwID := r.body["token"].(string), r.body["id"].(string)
	e.do("GET", "/api/v1/records/deal", ro, nil).must(t, 200)
	e.do("POST", "/api/v1/records/deal", ro, validDeal).must(t, 403)
	e.do("POST", "/api/v1/records/deal", rw, validDeal).must(t, 201)
	e.do("GET", "/api/v1/users", rw, nil).must(t, 403)
	e.do("PUT", "/api/v1/objects/deal", rw, map[string]any{}).must(t, 403)
	e.do("POST", "/api/v1/tokens", e.admin, map[string]any{"name": "x", "scopes": []string{"root"}}).must(t, 422)
	list := e.do("GET", "/api/v1/tokens", e.admin, nil).must(t, 200)
	if strings.Contains(list.raw, "sti_") {
		t.Fatal("token list leaks a secret")
	}
	e.do("DELETE", "/api/v1/tokens/"+rwID, e.admin, nil).must(t, 204)
	e.do("GET", "/api/v1/records/deal", rw, nil).must(t, 401)
}

func TestRecordValidation(t *testing.T) {
	e := newEnv(t)
	before := e.count("deal")
	cases := []struct {
		name    string
		body    any
		status  int
		pointer string
		code    string
	}{
		{"missing required", map[string]any{"amount": 100}, 422, "/name", "required"},
		{"wrong type", map[string]any{"name": "x", "amount": "lots"}, 422, "/amount", "type"},
		{"fractional minor units", map[string]any{"name": "x", "amount": 10.5}, 422, "/amount", "type"},
		{"below minimum", map[string]any{"name": "x", "amount": -1}, 422, "/amount", "minimum"},
		{"not in enum", map[string]any{"name": "x", "amount": 1, "stage": "maybe"}, 422, "/stage", "enum"},
		{"bad date", map[string]any{"name": "x", "amount": 1, "closeDate": "31/12/2026"}, 422, "/closeDate", "format"},
		{"requiredIf", map[string]any{"name": "x", "amount": 1, "stage": "lost"}, 422, "/lossReason", "required"},
		{"owner not a string", map[string]any{"name": "x", "amount": 1, "owner": 7}, 422, "/owner", "type"},
		{"unknown owner", map[string]any{"name": "x", "amount": 1, "owner": "u_nobody"}, 422, "/owner", "unknown_user"},
		{"unknown field", map[string]any{"name": "x", "amount": 1, "amout": 2}, 422, "/amout", "additional_properties"},
		{"key the store cannot hold", map[string]any{"name": "x", "amount": 1, "$where": 2}, 422, "/$where", "additional_properties"},
		{"malformed JSON", `{"name": "x", "amount": }`, 400, "", "malformed_json"},
		{"array body", `[1,2]`, 400, "", "malformed_json"},
		{"not JSON content type", nil, 400, "", "unsupported_media_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r resp
			if c.body == nil {
				r = e.do("POST", "/api/v1/records/deal", e.admin, "name=x", "Content-Type", "application/x-www-form-urlencoded")
			} else {
				r = e.do("POST", "/api/v1/records/deal", e.admin, c.body)
			}
			r.must(t, c.status)
			if c.pointer != "" {
				fe := r.firstError()
				if fe == nil || fe["pointer"] != c.pointer || fe["code"] != c.code {
					t.Fatalf("want %s %s, got %s", c.pointer, c.code, r.raw)
				}
				if fe["message"] == "" {
					t.Fatal("error without a message")
				}
			} else if r.body["code"] != c.code {
				t.Fatalf("code %v, want %s: %s", r.body["code"], c.code, r.raw)
			}
		})
	}
	if after := e.count("deal"); after != before {
		t.Fatalf("rejected creates wrote records: %d → %d", before, after)
	}
	t.Run("requiredIf message names the condition", func(t *testing.T) {
		r := e.do("POST", "/api/v1/records/deal", e.admin, map[string]any{"name": "x", "amount": 1, "stage": "lost"}).must(t, 422)
		if msg := r.firstError()["message"].(string); !strings.Contains(msg, "stage == 'lost'") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("oversized body", func(t *testing.T) {
		big := `{"name":"` + strings.Repeat("x", 2<<20) + `","amount":1}`
		e.do("POST", "/api/v1/records/deal", e.admin, big).must(t, 413)
	})
	t.Run("unknown object", func(t *testing.T) {
		e.do("POST", "/api/v1/records/nothing", e.admin, validDeal).must(t, 404)
		e.do("GET", "/api/v1/records/nothing", e.admin, nil).must(t, 404)
	})
}

func TestRecordLifecycle(t *testing.T) {
	e := newEnv(t)
	seeded := e.count("deal")
	r := e.do("POST", "/api/v1/records/deal", e.admin, validDeal).must(t, 201)
	id := r.body["id"].(string)
	data := r.body["data"].(map[string]any)
	// amount 12,500.00 yuan × 40% = 5,000.00 yuan = 500000 fen.
	if data["weightedAmount"] != float64(500000) {
		t.Fatalf("computed weightedAmount = %v, want 500000", data["weightedAmount"])
	}
	if r.body["version"] != float64(1) || r.body["objectVersion"] != float64(1) || r.header.Get("ETag") != `"1"` {
		t.Fatalf("bad version info: %s %s", r.raw, r.header.Get("ETag"))
	}
	// A client cannot set a computed field.
	r = e.do("PATCH", "/api/v1/records/deal/"+id, e.admin, map[string]any{"probability": 50, "weightedAmount": 1}, "If-Match", `"1"`).must(t, 200)
	if got := r.body["data"].(map[string]any)["weightedAmount"]; got != float64(625000) {
		t.Fatalf("weightedAmount after patch = %v, want 625000", got)
	}
	// Stale If-Match: conflict, nothing written.
	e.do("PATCH", "/api/v1/records/deal/"+id, e.admin, map[string]any{"probability": 90}, "If-Match", `"1"`).must(t, 409)
	e.do("PATCH", "/api/v1/records/deal/"+id, e.admin, map[string]any{"probability": 90}, "If-Match", `banana`).must(t, 400)
	got := e.do("GET", "/api/v1/records/deal/"+id, e.admin, nil).must(t, 200)
	if got.body["data"].(map[string]any)["probability"] != float64(50) || got.body["version"] != float64(2) {
		t.Fatalf("stale write leaked: %s", got.raw)
	}
	// An invalid patch leaves the record as it was.
	e.do("PATCH", "/api/v1/records/deal/"+id, e.admin, map[string]any{"amount": "many"}).must(t, 422)
	// Merge patch null removes an optional field.
	r = e.do("PATCH", "/api/v1/records/deal/"+id, e.admin, map[string]any{"customer": nil}).must(t, 200)
	if _, ok := r.body["data"].(map[string]any)["customer"]; ok {
		t.Fatal("null did not remove the field")
	}
	// Soft delete.
	e.do("DELETE", "/api/v1/records/deal/"+id, e.admin, nil, "If-Match", `"1"`).must(t, 409)
	e.do("DELETE", "/api/v1/records/deal/"+id, e.admin, nil).must(t, 204)
	e.do("GET", "/api/v1/records/deal/"+id, e.admin, nil).must(t, 404)
	if e.count("deal") != seeded {
		t.Fatal("deleted record still listed")
	}
}

func testIdempotentSequential(t *testing.T) (*env, int) {
	e := newEnv(t)
	seeded := e.count("deal")
	a := e.do("POST", "/api/v1/records/deal", e.admin, validDeal, "Idempotency-Key", "k-1").must(t, 201)
	b := e.do("POST", "/api/v1/records/deal", e.admin, validDeal, "Idempotency-Key", "k-1").must(t, 200)
	if a.body["id"] != b.body["id"] || b.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry created another record: %v vs %v", a.body["id"], b.body["id"])
	}
	other := map[string]any{"name": "another", "amount": 5}
	r := e.do("POST", "/api/v1/records/deal", e.admin, other, "Idempotency-Key", "k-1").must(t, 422)
	if r.body["code"] != "idempotency_key_reused" {
		t.Fatalf("code %v", r.body["code"])
	}
	// The key is per user: another user's identical key is a new request.
	_, tok := e.user("other.rep", "rep")
	c := e.do("POST", "/api/v1/records/deal", tok, validDeal, "Idempotency-Key", "k-1").must(t, 201)
	if c.body["id"] == a.body["id"] {
		t.Fatal("idempotency keys leak across users")
	}
	return e, seeded
}

func TestIdempotentCreate(t *testing.T) {
	e, seeded := testIdempotentSequential(t)
	other := map[string]any{"name": "another", "amount": 5}
	// Concurrent retries of one request create exactly one record.
	done := make(chan string, 8)
	for i := 0; i < 8; i++ {
		go func() {
			r := e.do("POST", "/api/v1/records/deal", e.admin, other, "Idempotency-Key", "k-2")
			if r.status != 201 && r.status != 200 {
				done <- fmt.Sprintf("status %d: %s", r.status, r.raw)
				return
			}
			done <- r.body["id"].(string)
		}()
	}
	seen := map[string]bool{}
	for i := 0; i < 8; i++ {
		seen[<-done] = true
	}
	if len(seen) != 1 {
		t.Fatalf("concurrent retries gave %v", seen)
	}
	if n := e.count("deal") - seeded; n != 3 {
		t.Fatalf("%d new deals, want 3", n)
	}
}

func TestListFiltersSortAndCursor(t *testing.T) {
	e := newEnv(t)
	for i := 1; i <= 7; i++ {
		stage := "lead"
		if i%2 == 0 {
			stage = "won"
		}
		e.do("POST", "/api/v1/records/deal", e.admin, map[string]any{"name": fmt.Sprintf("d%d", i), "customer": "LT", "amount": i * 1000, "stage": stage}).must(t, 201)
	}
	r := e.do("GET", "/api/v1/records/deal?customer=LT&stage=won&sort=-amount", e.admin, nil).must(t, 200)
	var names []string
	for _, it := range r.body["items"].([]any) {
		names = append(names, it.(map[string]any)["data"].(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "d6,d4,d2" {
		t.Fatalf("won by amount desc = %v", names)
	}
	r = e.do("GET", "/api/v1/records/deal?customer=LT&amount[gte]=3000&amount[lt]=6000&sort=amount", e.admin, nil).must(t, 200)
	if n := len(r.body["items"].([]any)); n != 3 {
		t.Fatalf("range filter gave %d", n)
	}
	r = e.do("GET", "/api/v1/records/deal?customer=LT&stage[in]=lead,won&sort=name", e.admin, nil).must(t, 200)
	if n := len(r.body["items"].([]any)); n != 7 {
		t.Fatalf("in filter gave %d", n)
	}
	// Walk pages of 3: every record exactly once.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		r := e.do("GET", "/api/v1/records/deal?customer=LT&limit=3&sort=amount&cursor="+cursor, e.admin, nil).must(t, 200)
		for _, it := range r.body["items"].([]any) {
			id := it.(map[string]any)["id"].(string)
			if seen[id] {
				t.Fatalf("record %s on two pages", id)
			}
			seen[id] = true
		}
		cursor, _ = r.body["next"].(string)
		if cursor == "" || pages > 5 {
			break
		}
	}
	if len(seen) != 7 {
		t.Fatalf("pagination saw %d of 7", len(seen))
	}
	for _, bad := range []string{"?amount=abc", "?nofield=1", "?amount[like]=1", "?sort=nofield", "?limit=0", "?limit=100000", "?cursor=not-a-cursor", "?sort=amount&cursor=eyJ4Ijox"} {
		r := e.do("GET", "/api/v1/records/deal"+bad, e.admin, nil)
		if r.status != 400 {
			t.Fatalf("%s: status %d: %s", bad, r.status, r.raw)
		}
	}
}

func TestVisibilityFollowsTheOrgTree(t *testing.T) {
	e := newEnv(t)
	seeded := e.count("deal")
	mgrID, mgr := e.user("manager.east", "manager")
	repA, repATok := e.user("rep.a", "rep")
	repB, repBTok := e.user("rep.b", "rep")
	_, viewer := e.user("viewer.x", "viewer")
	east := e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "华东大区", "managers": []string{mgrID}}).must(t, 201).body["id"].(string)
	shanghai := e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "上海团队", "parentId": east}).must(t, 201).body["id"].(string)
	west := e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "西南大区"}).must(t, 201).body["id"].(string)
	e.do("POST", "/api/v1/teams/"+shanghai+"/members", e.admin, map[string]any{"userId": repA, "from": "2020-01-01"}).must(t, 201)
	e.do("POST", "/api/v1/teams/"+west+"/members", e.admin, map[string]any{"userId": repB, "from": "2020-01-01"}).must(t, 201)
	e.do("POST", "/api/v1/teams/"+west+"/members", e.admin, map[string]any{"userId": repB, "from": "2021-01-01"}).must(t, 409)
	e.do("PATCH", "/api/v1/teams/"+east, e.admin, map[string]any{"parentId": shanghai}).must(t, 422) // cycle

	aDeal := e.do("POST", "/api/v1/records/deal", repATok, validDeal).must(t, 201).body["id"].(string)
	bDeal := e.do("POST", "/api/v1/records/deal", repBTok, validDeal).must(t, 201).body["id"].(string)

	// A rep sees their own, never another team's — not by id, not in lists.
	e.do("GET", "/api/v1/records/deal/"+bDeal, repATok, nil).must(t, 404)
	e.do("PATCH", "/api/v1/records/deal/"+bDeal, repATok, map[string]any{"amount": 1}).must(t, 404)
	e.do("DELETE", "/api/v1/records/deal/"+bDeal, repATok, nil).must(t, 404)
	if ids := listIDs(e, repATok); !slices.Equal(ids, []string{aDeal}) {
		t.Fatalf("rep A lists %v", ids)
	}
	// A rep cannot hand a record to someone else.
	e.do("POST", "/api/v1/records/deal", repATok, map[string]any{"name": "x", "amount": 1, "owner": repB}).must(t, 403)
	// The manager of 华东 sees 上海's rep A (subtree) but not 西南's rep B.
	e.do("GET", "/api/v1/records/deal/"+aDeal, mgr, nil).must(t, 200)
	e.do("GET", "/api/v1/records/deal/"+bDeal, mgr, nil).must(t, 404)
	if ids := listIDs(e, mgr); !slices.Equal(ids, []string{aDeal}) {
		t.Fatalf("manager lists %v", ids)
	}
	// …and may assign records inside the subtree only.
	e.do("POST", "/api/v1/records/deal", mgr, map[string]any{"name": "x", "amount": 1, "owner": repA}).must(t, 201)
	e.do("POST", "/api/v1/records/deal", mgr, map[string]any{"name": "x", "amount": 1, "owner": repB}).must(t, 403)
	// A viewer reads but never writes; admins see everything.
	e.do("POST", "/api/v1/records/deal", viewer, validDeal).must(t, 403)
	if n := len(listIDs(e, e.admin)) - seeded; n != 3 {
		t.Fatalf("admin sees %d", n)
	}
	// Admin-only endpoints refuse other roles.
	e.do("GET", "/api/v1/users", mgr, nil).must(t, 403)
	e.do("PUT", "/api/v1/objects/deal", repATok, map[string]any{}).must(t, 403)
	e.do("GET", "/api/v1/audit", repATok, nil).must(t, 403)
}

func TestMembershipIsEffectiveDated(t *testing.T) {
	e := newEnv(t)
	mgrID, mgr := e.user("mgr", "manager")
	repID, repTok := e.user("mover", "rep")
	team := e.do("POST", "/api/v1/teams", e.admin, map[string]any{"name": "北京团队", "managers": []string{mgrID}}).must(t, 201).body["id"].(string)
	deal := e.do("POST", "/api/v1/records/deal", repTok, validDeal).must(t, 201).body["id"].(string)
	// Membership that ended last year: not visible to today's manager.
	e.do("POST", "/api/v1/teams/"+team+"/members", e.admin, map[string]any{"userId": repID, "from": "2020-01-01", "to": "2021-01-01"}).must(t, 201)
	e.do("GET", "/api/v1/records/deal/"+deal, mgr, nil).must(t, 404)
	// Membership starting in the future: not yet.
	e.do("POST", "/api/v1/teams/"+team+"/members", e.admin, map[string]any{"userId": repID, "from": "2999-01-01"}).must(t, 201)
	e.do("GET", "/api/v1/records/deal/"+deal, mgr, nil).must(t, 404)
	e.do("POST", "/api/v1/teams/"+team+"/members", e.admin, map[string]any{"userId": repID, "from": "2026-13-01"}).must(t, 422)
	e.do("POST", "/api/v1/teams/"+team+"/members", e.admin, map[string]any{"userId": repID, "from": "2022-01-01", "to": "2021-01-01"}).must(t, 422)
	e.do("POST", "/api/v1/teams/"+team+"/members", e.admin, map[string]any{"userId": repID, "from": "2022-01-01", "to": "2999-01-01"}).must(t, 201)
	e.do("GET", "/api/v1/records/deal/"+deal, mgr, nil).must(t, 200)
}

func listIDs(e *env, tok string) []string {
	r := e.do("GET", "/api/v1/records/deal?sort=createdAt", tok, nil).must(e.t, 200)
	var out []string
	for _, it := range r.body["items"].([]any) {
		out = append(out, it.(map[string]any)["id"].(string))
	}
	return out
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnvAt(t, dir)
	id := e.do("POST", "/api/v1/records/deal", e.admin, validDeal).must(t, 201).body["id"].(string)
	e.srv.Close()
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	again := newEnvAt(t, dir) // bootstrap must not run twice, the password stays
	r := again.do("GET", "/api/v1/records/deal/"+id, again.admin, nil).must(t, 200)
	if r.body["data"].(map[string]any)["name"] != validDeal["name"] {
		t.Fatalf("record changed across restart: %s", r.raw)
	}
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	e := newEnv(t)
	e.do("GET", "/api/v1/nothing", e.admin, nil).must(t, 404)
	e.do("PUT", "/api/v1/auth/login", "", map[string]any{}).must(t, 400)
	r := e.do("GET", "/some/ui/route", "", nil).must(t, 200)
	if !strings.Contains(r.raw, "Stride") {
		t.Fatal("UI fallback missing")
	}
	e.do("GET", "/healthz", "", nil).must(t, 200)
	if r := e.do("GET", "/readyz", "", nil).must(t, 200); r.body["store"] != "sqlite" {
		t.Fatalf("readyz %s", r.raw)
	}
}
