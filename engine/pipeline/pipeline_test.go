package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/pipeline"
	"stride/engine/records"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/sqlite"
)

// salesJSON is the pipeline most tests use, over the demo deal object
// (engine/setup/demo/deal.json). Money formulas see yuan: amount >= 1000
// means at least 100000 fen stored.
const salesJSON = `{
  "label": {"zh-CN": "销售", "en": "Sales"},
  "object": "deal",
  "stageField": "stage",
  "stages": [
    {"key": "lead", "label": {"zh-CN": "线索", "en": "Lead"}, "probability": 10, "slaDays": 7},
    {"key": "qualified", "label": {"zh-CN": "已确认需求", "en": "Qualified"}, "probability": 30, "slaDays": 14,
     "requiredFields": ["customer"]},
    {"key": "proposal", "label": {"zh-CN": "方案报价", "en": "Proposal"}, "probability": 60, "slaDays": 10,
     "requiredFields": ["customer", "closeDate"],
     "enterIf": {"expression": "amount >= 1000 || 'manager' in user.roles",
                 "message": {"zh-CN": "报价金额至少 1000 元", "en": "A proposal needs an amount of at least 1000"}}},
    {"key": "won", "label": {"zh-CN": "赢单", "en": "Won"}, "probability": 100, "terminal": "won"},
    {"key": "lost", "label": {"zh-CN": "输单", "en": "Lost"}, "probability": 0, "terminal": "lost"}
  ]
}`

func def(t *testing.T, src string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// clock is an injectable, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

type env struct {
	ctx   context.Context
	app   *setup.App
	db    store.DB
	svc   *pipeline.Service
	admin *auth.Principal
	clock *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	app, err := setup.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	// The app's own pipeline service (attached to its records by setup.New),
	// without the demo pipeline, so each test publishes its own.
	svc := app.Pipelines
	ck := &clock{t: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	svc.SetClock(ck.Now)
	if _, err := app.BootstrapWithoutPipelines(ctx, "pipeline-pass-123"); err != nil {
		t.Fatal(err)
	}
	db, err := app.Tenants.DB(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := auth.UserByName(ctx, db, "admin")
	if err != nil {
		t.Fatal(err)
	}
	p := &auth.Principal{Tenant: "demo", UserID: admin.ID, Username: "admin", Roles: admin.Roles}
	return &env{ctx: ctx, app: app, db: db, svc: svc, admin: p, clock: ck}
}

func (e *env) publish(t *testing.T, key, src string) {
	t.Helper()
	if _, err := e.svc.Save(e.ctx, e.db, "demo", e.admin.UserID, key, def(t, src), 0); err != nil {
		t.Fatalf("save %s: %v", key, err)
	}
	if _, err := e.svc.Publish(e.ctx, e.db, "demo", e.admin.UserID, key); err != nil {
		t.Fatalf("publish %s: %v", key, err)
	}
}

func (e *env) deal(t *testing.T, body map[string]any) records.Record {
	t.Helper()
	if body["name"] == nil {
		body["name"] = "deal"
	}
	if body["amount"] == nil {
		body["amount"] = json.Number("500000")
	}
	rec, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "deal", body, "")
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// problem asserts err is a 422 with the code and exactly the field
// (pointer, code) pairs given.
func problem(t *testing.T, err error, code string, fields ...string) *apperr.Error {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("want a %s problem, got %v", code, err)
	}
	if ae.Kind != apperr.KindInvalid || ae.Code != code {
		t.Fatalf("want 422 %s, got kind %d code %s: %v", code, ae.Kind, ae.Code, ae)
	}
	var got []string
	for _, f := range ae.Fields {
		got = append(got, f.Pointer+" "+f.Code)
	}
	if strings.Join(got, "|") != strings.Join(fields, "|") {
		t.Fatalf("fields:\n got %q\nwant %q", got, fields)
	}
	return ae
}

func TestSaveRefusesBadDefinitions(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name   string
		edit   func(d map[string]any)
		fields []string
	}{
		{"schema: probability over 100", func(d map[string]any) { stage(d, 0)["probability"] = 120.0 }, []string{"/stages/0/probability maximum"}},
		{"schema: unknown member", func(d map[string]any) { d["colour"] = "red" }, []string{"/colour additional_properties"}},
		{"schema: bad terminal", func(d map[string]any) { stage(d, 3)["terminal"] = "maybe" }, []string{"/stages/3/terminal enum"}},
		{"schema: negative sla", func(d map[string]any) { stage(d, 0)["slaDays"] = -1.0 }, []string{"/stages/0/slaDays minimum"}},
		{"unknown object", func(d map[string]any) { d["object"] = "ticket" }, []string{"/object unknown_object"}},
		{"unknown stage field", func(d map[string]any) { d["stageField"] = "stag" }, []string{"/stageField unknown_field"}},
		{"stage field not a string", func(d map[string]any) { d["stageField"] = "amount" }, []string{"/stageField not_string_field"}},
		{"stage not in the enum", func(d map[string]any) { stage(d, 1)["key"] = "demo" }, []string{"/stages/1/key unknown_enum_value"}},
		{"duplicate stage", func(d map[string]any) { stage(d, 1)["key"] = "lead" }, []string{"/stages/1/key duplicate_stage"}},
		{"unknown required field", func(d map[string]any) { stage(d, 1)["requiredFields"] = []any{"custmer"} },
			[]string{"/stages/1/requiredFields/0 unknown_field"}},
		{"no terminal stage", func(d map[string]any) { d["stages"] = d["stages"].([]any)[:3] }, []string{"/stages no_terminal_stage"}},
		{"no open stage", func(d map[string]any) { d["stages"] = d["stages"].([]any)[3:] }, []string{"/stages no_open_stage"}},
		{"guard: unknown name", func(d map[string]any) { guard(d, 2, "amout >= 1000") }, []string{"/stages/2/enterIf/expression formula_unknown_name"}},
		{"guard: not a bool", func(d map[string]any) { guard(d, 2, "amount") }, []string{"/stages/2/enterIf/expression formula_result_type"}},
		{"guard: type error on user", func(d map[string]any) { guard(d, 2, "user.roles > 1") }, []string{"/stages/2/enterIf/expression formula_type_error"}},
		{"match: syntax error", func(d map[string]any) { d["match"] = "stage ==" }, []string{"/match formula_syntax_error"}},
		{"match: guard-only names are unknown", func(d map[string]any) { d["match"] = "to == 'won'" }, []string{"/match formula_unknown_name"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := def(t, salesJSON)
			tc.edit(d)
			_, err := e.svc.Save(e.ctx, e.db, "demo", e.admin.UserID, "sales", d, 0)
			problem(t, err, "validation", tc.fields...)
		})
	}
	// Nothing was stored.
	if _, err := e.svc.Get(e.ctx, e.db, "sales"); err == nil {
		t.Fatal("a refused definition was stored")
	}
	// A formula error carries its position and a hint.
	d := def(t, salesJSON)
	guard(d, 2, "amount >= 1000 &&\n  custmer != ''")
	_, err := e.svc.Save(e.ctx, e.db, "demo", e.admin.UserID, "sales", d, 0)
	ae, _ := apperr.As(err)
	if ae == nil || len(ae.Fields) != 1 {
		t.Fatalf("want one field error, got %v", err)
	}
	if f := ae.Fields[0]; f.Line != 2 || f.Column != 3 || !strings.Contains(f.Hint, "customer") {
		t.Fatalf("formula error without position or hint: %+v", f)
	}
	// A guard may use from, to and user.
	d = def(t, salesJSON)
	guard(d, 2, "from == 'qualified' && to == 'proposal' && user.id != '' && user.username != '' && 'rep' in user.roles")
	if _, err := e.svc.Save(e.ctx, e.db, "demo", e.admin.UserID, "sales", d, 0); err != nil {
		t.Fatal(err)
	}
	// Drafts do not govern records.
	if c, err := e.svc.ForRecord(e.ctx, e.db, "demo", "deal", map[string]any{"name": "x"}); err != nil || c != nil {
		t.Fatalf("a draft governs records: %v %v", c, err)
	}
}

func stage(d map[string]any, i int) map[string]any { return d["stages"].([]any)[i].(map[string]any) }

func guard(d map[string]any, i int, src string) {
	stage(d, i)["enterIf"] = map[string]any{"expression": src, "message": map[string]any{"en": "no"}}
}

func TestForRecordPicksTheFirstMatchingPipeline(t *testing.T) {
	e := newEnv(t)
	renewal := def(t, salesJSON)
	renewal["match"] = "name startsWith 'Renewal'"
	renewal["label"] = map[string]any{"en": "Renewals"}
	raw, _ := json.Marshal(renewal)
	e.publish(t, "a_renewal", string(raw))
	e.publish(t, "sales", salesJSON)

	for _, tc := range []struct{ name, want string }{{"Renewal 2026", "a_renewal"}, {"New logo", "sales"}} {
		c, err := e.svc.ForRecord(e.ctx, e.db, "demo", "deal", map[string]any{"name": tc.name})
		if err != nil || c == nil || c.Key != tc.want {
			t.Fatalf("%s: got %v, %v; want %s", tc.name, c, err, tc.want)
		}
	}
	if c, err := e.svc.ForRecord(e.ctx, e.db, "demo", "customer", map[string]any{}); err != nil || c != nil {
		t.Fatalf("customer governed: %v %v", c, err)
	}
	// Compiled versions are cached.
	a, _ := e.svc.Published(e.ctx, e.db, "demo", "sales")
	b, _ := e.svc.Published(e.ctx, e.db, "demo", "sales")
	if a == nil || a != b || a.Version != 1 || len(a.Stages) != 5 || a.Stages[2].EnterIf == nil || !a.Stages[0].HasSLA || a.Stages[0].SLADays != 7 {
		t.Fatalf("compiled pipeline: %+v", a)
	}
	// The record keeps its pipeline.
	rec := e.deal(t, map[string]any{"name": "Renewal 2026"})
	if rec.Meta[pipeline.MetaPipeline] != "a_renewal" {
		t.Fatalf("meta: %v", rec.Meta)
	}
}

func TestTransitionRefusals(t *testing.T) {
	e := newEnv(t)
	e.publish(t, "sales", salesJSON)
	manager := &auth.Principal{Tenant: "demo", UserID: e.admin.UserID, Username: "admin", Roles: []auth.Role{auth.RoleAdmin, auth.RoleManager}}
	cases := []struct {
		name   string
		body   map[string]any
		path   []string // transitions made first
		by     *auth.Principal
		to     string
		code   string
		fields []string
		msg    string // a part of the problem's message
	}{
		{name: "unknown stage", to: "closed", code: pipeline.CodeUnknownStage, fields: []string{"/to unknown_stage"}, msg: `"closed" is not a stage`},
		{name: "same stage", to: "lead", code: pipeline.CodeSameStage, fields: []string{"/to same_stage"}, msg: "already in stage Lead"},
		{name: "missing required field", to: "qualified", code: pipeline.CodeRequiredFields,
			fields: []string{"/customer required"}, msg: "stage Qualified requires Customer"},
		{name: "required fields and guard together", body: map[string]any{"amount": json.Number("100")}, to: "proposal",
			code: pipeline.CodeRequiredFields, fields: []string{"/customer required", "/closeDate required", "/to guard_refused"},
			msg: "stage Proposal requires Customer, Expected close date"},
		{name: "guard refuses", body: map[string]any{"amount": json.Number("99999"), "customer": "ACME", "closeDate": "2026-03-01"},
			to: "proposal", code: pipeline.CodeGuardRefused, fields: []string{"/to guard_refused"}, msg: "A proposal needs an amount of at least 1000"},
		{name: "backward move", body: map[string]any{"customer": "ACME"}, path: []string{"qualified"}, to: "lead",
			code: pipeline.CodeBackwardMove, fields: []string{"/to backward_move"}, msg: "back from Qualified to Lead"},
		{name: "leaving a terminal stage", body: map[string]any{"customer": "ACME"}, path: []string{"won"}, to: "qualified",
			code: pipeline.CodeTerminalStage, fields: []string{"/to terminal_stage"}, msg: "terminal stage Won"},
		{name: "record validation still applies", to: "lost", code: "validation", fields: []string{"/lossReason required"}},
		{name: "guard passes for a manager", body: map[string]any{"amount": json.Number("100"), "customer": "ACME", "closeDate": "2026-03-01"},
			by: manager, to: "proposal"},
		{name: "skipping forward is allowed", body: map[string]any{"customer": "ACME"}, to: "won"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{}
			for k, v := range tc.body {
				body[k] = v
			}
			rec := e.deal(t, body)
			for _, to := range tc.path {
				var err error
				if rec, err = e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, to, "", 0); err != nil {
					t.Fatal(err)
				}
			}
			by := tc.by
			if by == nil {
				by = e.admin
			}
			got, err := e.svc.Transition(e.ctx, e.db, by, "deal", rec.ID, tc.to, "", rec.Version)
			if tc.code == "" {
				if err != nil || got.Data["stage"] != tc.to {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ae := problem(t, err, tc.code, tc.fields...)
			if !strings.Contains(ae.Message, tc.msg) {
				t.Fatalf("message %q does not contain %q", ae.Message, tc.msg)
			}
			after, _ := e.app.Records.Get(e.ctx, e.db, e.admin, "deal", rec.ID)
			if after.Version != rec.Version {
				t.Fatal("a refused transition wrote the record")
			}
		})
	}
	// A refused guard carries its message in both languages.
	rec := e.deal(t, map[string]any{"amount": json.Number("100"), "customer": "ACME", "closeDate": "2026-03-01"})
	_, err := e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, "proposal", "", 0)
	ae := problem(t, err, pipeline.CodeGuardRefused, "/to guard_refused")
	if m, _ := ae.Extra["stageMessage"].(map[string]string); m["zh-CN"] != "报价金额至少 1000 元" || ae.Fields[0].Message != m["en"] {
		t.Fatalf("stage message: %v / %+v", ae.Extra, ae.Fields)
	}
	// A stale version is a conflict.
	if _, err := e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, "qualified", "", rec.Version+5); err == nil {
		t.Fatal("stale version accepted")
	} else if ae, _ := apperr.As(err); ae == nil || ae.Kind != apperr.KindConflict {
		t.Fatalf("stale version: %v", err)
	}
	// An object without a pipeline.
	cust, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "customer", firstCustomer(t, e), "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Transition(e.ctx, e.db, e.admin, "customer", cust.ID, "won", "", 0)
	problem(t, err, pipeline.CodeNoPipeline)
}

// firstCustomer returns a valid customer body: the fields of a seeded one.
func firstCustomer(t *testing.T, e *env) map[string]any {
	t.Helper()
	list, _, err := e.app.Records.List(e.ctx, e.db, e.admin, "customer", records.ListQuery{Limit: 1})
	if err != nil || len(list) == 0 {
		t.Fatalf("no seeded customer: %v", err)
	}
	return list[0].Data
}

func TestBackwardMovesWhenAllowed(t *testing.T) {
	e := newEnv(t)
	d := def(t, salesJSON)
	d["allowBackward"] = true
	raw, _ := json.Marshal(d)
	e.publish(t, "sales", string(raw))
	rec := e.deal(t, map[string]any{"customer": "ACME"})
	rec, err := e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, "qualified", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	rec, err = e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, "lead", "back to nurturing", 0)
	if err != nil || rec.Data["stage"] != "lead" || len(pipeline.History(rec.Meta)) != 3 {
		t.Fatalf("backward move: %v %+v", err, rec)
	}
	// Terminal stages stay closed even so.
	rec, err = e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, "won", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, "lead", "", 0)
	problem(t, err, pipeline.CodeTerminalStage, "/to terminal_stage")
}

func TestHistoryOverTransitions(t *testing.T) {
	e := newEnv(t)
	e.publish(t, "sales", salesJSON)
	day := func(d int) time.Time { return time.Date(2026, 1, d, 9, 0, 0, 0, time.UTC) }
	e.clock.Set(day(1))
	rec := e.deal(t, map[string]any{"amount": json.Number("200000")})
	if rec.Data["stage"] != "lead" || rec.Meta[pipeline.MetaPipeline] != "sales" {
		t.Fatalf("created: %+v", rec)
	}
	rec, err := e.app.Records.Patch(e.ctx, e.db, e.admin, "deal", rec.ID, map[string]any{"customer": "ACME", "closeDate": "2026-02-01"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		day  int
		to   string
		note string
	}{{3, "qualified", "budget confirmed"}, {8, "proposal", ""}, {9, "won", "signed"}}
	for _, s := range steps {
		e.clock.Set(day(s.day))
		if rec, err = e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, s.to, s.note, rec.Version); err != nil {
			t.Fatalf("to %s: %v", s.to, err)
		}
	}
	got, err := e.app.Records.Get(e.ctx, e.db, e.admin, "deal", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := func(d int) *time.Time { x := day(d); return &x }
	want := []pipeline.Entry{
		{Stage: "lead", EnteredAt: day(1), ExitedAt: at(3), By: e.admin.UserID},
		{Stage: "qualified", EnteredAt: day(3), ExitedAt: at(8), By: e.admin.UserID, Note: "budget confirmed"},
		{Stage: "proposal", EnteredAt: day(8), ExitedAt: at(9), By: e.admin.UserID},
		{Stage: "won", EnteredAt: day(9), By: e.admin.UserID, Note: "signed"},
	}
	hist := pipeline.History(got.Meta)
	if len(hist) != len(want) {
		t.Fatalf("history: %+v", hist)
	}
	for i := range want {
		g, w := hist[i], want[i]
		if g.Stage != w.Stage || !g.EnteredAt.Equal(w.EnteredAt) || g.By != w.By || g.Note != w.Note ||
			(g.ExitedAt == nil) != (w.ExitedAt == nil) || (g.ExitedAt != nil && !g.ExitedAt.Equal(*w.ExitedAt)) {
			t.Fatalf("entry %d: got %+v, want %+v", i, g, w)
		}
	}
	// Stored form: exitedAt of the open entry is an explicit null.
	raw := got.Meta[pipeline.MetaHistory].([]any)
	if last := raw[len(raw)-1].(map[string]any); last["exitedAt"] != nil || last["enteredAt"] != "2026-01-09T09:00:00.000Z" {
		t.Fatalf("stored entry: %v", last)
	}
	if got.Data["stage"] != "won" {
		t.Fatalf("stage: %v", got.Data["stage"])
	}
	// The history feeds the funnel.
	f, err := e.svc.Funnel(e.ctx, e.db, "demo", "sales", day(1), day(31), auth.Visibility{All: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Stages[1]; s.Entered != 1 || s.Converted != 1 || *s.AvgDays != 5 {
		t.Fatalf("funnel from transitions: %+v", s)
	}
}

func TestHookOnCreateAndPatch(t *testing.T) {
	e := newEnv(t)
	// A pipeline using only some of the enum's stages.
	short := def(t, salesJSON)
	short["stages"] = []any{stage(short, 0), stage(short, 1), stage(short, 3)}
	raw, _ := json.Marshal(short)
	// A record that predates every pipeline.
	old := e.deal(t, map[string]any{"customer": "ACME", "stage": "lead"})
	if old.Meta[pipeline.MetaHistory] != nil {
		t.Fatal("history without a pipeline")
	}
	e.publish(t, "sales", string(raw))

	rec := e.deal(t, map[string]any{"stage": "qualified"}) // an import of a deal already qualified
	if h := pipeline.History(rec.Meta); len(h) != 1 || h[0].Stage != "qualified" || h[0].ExitedAt != nil || h[0].By != e.admin.UserID {
		t.Fatalf("initial history: %+v", h)
	}
	_, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "deal", map[string]any{"name": "x", "amount": json.Number("1"), "stage": "proposal"}, "")
	problem(t, err, pipeline.CodeUnknownStage, "/stage unknown_stage")

	_, err = e.app.Records.Patch(e.ctx, e.db, e.admin, "deal", rec.ID, map[string]any{"stage": "won"}, 0)
	problem(t, err, pipeline.CodeUseTransition, "/stage use_transition")
	if _, err = e.app.Records.Patch(e.ctx, e.db, e.admin, "deal", rec.ID, map[string]any{"customer": "Globex"}, 0); err != nil {
		t.Fatalf("patch of another field refused: %v", err)
	}
	// Old records are governed too, and get an implicit first entry.
	_, err = e.app.Records.Patch(e.ctx, e.db, e.admin, "deal", old.ID, map[string]any{"stage": "won"}, 0)
	problem(t, err, pipeline.CodeUseTransition, "/stage use_transition")
	e.clock.Set(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	moved, err := e.svc.Transition(e.ctx, e.db, e.admin, "deal", old.ID, "qualified", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	h := pipeline.History(moved.Meta)
	if len(h) != 2 || h[0].Stage != "lead" || h[0].EnteredAt.Format(time.RFC3339) != mustInstant(t, old.CreatedAt) ||
		h[0].ExitedAt == nil || h[1].Stage != "qualified" || moved.Meta[pipeline.MetaPipeline] != "sales" {
		t.Fatalf("history of an old record: %+v", h)
	}
	// Deletes pass untouched.
	if err := e.app.Records.Delete(e.ctx, e.db, e.admin, "deal", rec.ID, 0); err != nil {
		t.Fatal(err)
	}
}

func mustInstant(t *testing.T, s string) string {
	t.Helper()
	x, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return x.UTC().Format(time.RFC3339)
}

func TestFunnelAndStuck(t *testing.T) {
	e := newEnv(t)
	e.publish(t, "sales", salesJSON)
	jan := func(d int) string {
		return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02T15:04:05.000Z")
	}
	type ent struct{ stage, in, out string }
	put := func(id, owner, stage string, deleted bool, pl string, hist ...ent) {
		var h []any
		for _, x := range hist {
			var out any
			if x.out != "" {
				out = x.out
			}
			h = append(h, map[string]any{"stage": x.stage, "enteredAt": x.in, "exitedAt": out, "by": owner})
		}
		_, err := e.db.Insert(e.ctx, "rec_deal", store.Doc{
			store.KeyID: id, "object": "deal", "objectVersion": int64(1), "owner": owner, "deleted": deleted,
			"data":      map[string]any{"name": "Deal " + id, "amount": int64(100000), "stage": stage},
			"createdAt": hist[0].in, "updatedAt": hist[0].in, "createdBy": owner, "updatedBy": owner,
			"meta": map[string]any{"pipeline": pl, "stageHistory": h},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	dec := "2025-12-20T00:00:00.000Z"
	dec28 := "2025-12-28T00:00:00.000Z"
	feb3 := "2026-02-03T00:00:00.000Z"
	put("r1", "u1", "won", false, "sales", ent{"lead", jan(2), jan(4)}, ent{"qualified", jan(4), jan(10)}, ent{"proposal", jan(10), jan(12)}, ent{"won", jan(12), ""})
	put("r2", "u1", "lost", false, "sales", ent{"lead", jan(3), jan(9)}, ent{"qualified", jan(9), jan(19)}, ent{"lost", jan(19), ""})
	put("r3", "u2", "lost", false, "sales", ent{"lead", jan(5), jan(6)}, ent{"lost", jan(6), ""})
	put("r4", "u2", "lead", false, "sales", ent{"lead", jan(20), ""})
	put("r5", "u1", "proposal", false, "sales", ent{"lead", dec, jan(2)}, ent{"qualified", jan(2), feb3}, ent{"proposal", feb3, ""})
	put("r6", "u1", "lead", true, "sales", ent{"lead", jan(2), ""})    // deleted
	put("r7", "u1", "lead", false, "renewal", ent{"lead", jan(2), ""}) // another pipeline
	put("r8", "u1", "qualified", false, "sales", ent{"lead", dec28, jan(1)}, ent{"qualified", jan(1), ""})
	put("r9", "u2", "lead", false, "sales", ent{"lead", feb3, ""}) // exactly at its SLA on Feb 10
	// Moved back once and forward again (imported from a pipeline allowing it).
	put("r10", "u3", "qualified", false, "sales", ent{"lead", jan(10), jan(11)}, ent{"qualified", jan(11), jan(13)},
		ent{"lead", jan(13), jan(15)}, ent{"qualified", jan(15), ""})

	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	type row struct {
		stage                     string
		entered, converted, exits int
		conv, avg, med            float64 // -1 = null
	}
	check := func(t *testing.T, vis auth.Visibility, want []row) {
		t.Helper()
		f, err := e.svc.Funnel(e.ctx, e.db, "demo", "sales", from, to, vis)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Stages) != len(want) {
			t.Fatalf("stages: %+v", f.Stages)
		}
		num := func(p *float64) float64 {
			if p == nil {
				return -1
			}
			return *p
		}
		for i, w := range want {
			g := f.Stages[i]
			got := row{g.Stage, g.Entered, g.Converted, g.Exited, num(g.Conversion), num(g.AvgDays), num(g.MedianDays)}
			if got != w {
				t.Errorf("stage %s:\n got %+v\nwant %+v", w.stage, got, w)
			}
		}
	}
	// By hand, window January 2026:
	// lead: r1 r2 r3 r4 r10 entered (r5, r8 before; r6 deleted; r7 other
	//   pipeline); r1 r2 r10 moved on, r3 lost, r4 open → 3/5; ended visits
	//   2, 6, 1, 1, 2 days → avg 2.4, median 2.
	// qualified: r1 r2 r5 r8 r10 entered; r1 and r5 (in February) reached
	//   proposal, r2 lost, r8 open, r10 only came back to it → 2/5; ended
	//   visits 6, 10, 32, 2 days → avg 12.5, median 8.
	// proposal: r1 (r5 entered in February) → 1/1; 2 days.
	// won: r1. lost: r2 r3.
	check(t, auth.Visibility{All: true}, []row{
		{"lead", 5, 3, 5, 0.6, 2.4, 2},
		{"qualified", 5, 2, 4, 0.4, 12.5, 8},
		{"proposal", 1, 1, 1, 1, 2, 2},
		{"won", 1, 0, 0, -1, -1, -1},
		{"lost", 2, 0, 0, -1, -1, -1},
	})
	// u2 only sees r3, r4 (r9 is in February).
	check(t, auth.Visibility{Owners: []string{"u2"}}, []row{
		{"lead", 2, 0, 1, 0, 1, 1},
		{"qualified", 0, 0, 0, -1, -1, -1},
		{"proposal", 0, 0, 0, -1, -1, -1},
		{"won", 0, 0, 0, -1, -1, -1},
		{"lost", 1, 0, 0, -1, -1, -1},
	})

	// Stuck on Feb 10: r8 in qualified since Jan 1 (40 days > 14), r10 in
	// qualified again since Jan 15 (26 > 14), r4 in lead since Jan 20
	// (21 > 7); r5 in proposal 7 ≤ 10, r9 in lead exactly 7 = 7.
	now := time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	stuck, err := e.svc.Stuck(e.ctx, e.db, "demo", "sales", now, auth.Visibility{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range stuck {
		got = append(got, s.ID+" "+s.Stage+" "+jsonNum(s.Days)+"/"+jsonNum(float64(s.SLADays))+" "+s.Title)
	}
	if want := "r8 qualified 40/14 Deal r8|r10 qualified 26/14 Deal r10|r4 lead 21/7 Deal r4"; strings.Join(got, "|") != want {
		t.Fatalf("stuck:\n got %q\nwant %q", strings.Join(got, "|"), want)
	}
	stuck, _ = e.svc.Stuck(e.ctx, e.db, "demo", "sales", now, auth.Visibility{Owners: []string{"u2"}})
	if len(stuck) != 1 || stuck[0].ID != "r4" || stuck[0].Owner != "u2" {
		t.Fatalf("stuck for u2: %+v", stuck)
	}
	// Bad input.
	if _, err := e.svc.Funnel(e.ctx, e.db, "demo", "sales", to, from, auth.Visibility{All: true}); err == nil {
		t.Fatal("empty window accepted")
	}
	if _, err := e.svc.Stuck(e.ctx, e.db, "demo", "nope", now, auth.Visibility{All: true}); !isNotFound(err) {
		t.Fatalf("unknown pipeline: %v", err)
	}
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }

func isNotFound(err error) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && ae.Kind == apperr.KindNotFound
}

func TestGuardRuntimeError(t *testing.T) {
	e := newEnv(t)
	d := def(t, salesJSON)
	guard(d, 1, "[1, 2][int(amount)] > 0")
	raw, _ := json.Marshal(d)
	e.publish(t, "sales", string(raw))
	rec := e.deal(t, map[string]any{"customer": "ACME"})
	_, err := e.svc.Transition(e.ctx, e.db, e.admin, "deal", rec.ID, "qualified", "", 0)
	ae := problem(t, err, pipeline.CodeGuardError, "/to guard_error")
	if !strings.Contains(ae.Message, "stage Qualified could not be evaluated") {
		t.Fatalf("message: %s", ae.Message)
	}
}

// TestRecordsOlderThanThePipeline: a record created before its pipeline was
// published and never moved since has no stage history, yet it is in the
// pipeline — the funnel counts it as entering its current stage at creation
// and stuck-deal detection times it from then.
func TestRecordsOlderThanThePipeline(t *testing.T) {
	e := newEnv(t)
	old := e.deal(t, map[string]any{"customer": "ACME", "stage": "lead"})
	if old.Meta[pipeline.MetaHistory] != nil || old.Meta[pipeline.MetaPipeline] != nil {
		t.Fatalf("history without a pipeline: %v", old.Meta)
	}
	e.publish(t, "sales", salesJSON)
	created, err := time.Parse(time.RFC3339Nano, old.CreatedAt)
	if err != nil {
		t.Fatal(err)
	}
	entered := func() int {
		f, err := e.svc.Funnel(e.ctx, e.db, "demo", "sales", created.Add(-time.Hour), created.Add(time.Hour), auth.Visibility{All: true})
		if err != nil {
			t.Fatal(err)
		}
		return f.Stages[0].Entered
	}
	// Lead's SLA is 7 days: stuck after 8, not after 6.
	for days, want := range map[int]bool{6: false, 8: true} {
		stuck, err := e.svc.Stuck(e.ctx, e.db, "demo", "sales", created.AddDate(0, 0, days), auth.Visibility{All: true})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(stuck, func(s pipeline.StuckRecord) bool { return s.ID == old.ID })
		if (i >= 0) != want || (want && !stuck[i].EnteredAt.Equal(created)) {
			t.Fatalf("after %d days: %+v", days, stuck)
		}
	}
	with := entered()
	if err := e.app.Records.Delete(e.ctx, e.db, e.admin, "deal", old.ID, 0); err != nil {
		t.Fatal(err)
	}
	if without := entered(); with != without+1 {
		t.Fatalf("funnel counts the older record: %d with it, %d without", with, without)
	}
}
