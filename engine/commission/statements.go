package commission

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/commission/calc"
	"stride/engine/period"
	"stride/engine/store"
)

// Statement statuses.
const (
	StatusDraft    = "draft"
	StatusApproved = "approved"
	StatusPaid     = "paid"
)

// Statement is one rep's commission for one plan and period.
type Statement struct {
	ID          string    `json:"id"`
	Plan        string    `json:"plan"`
	PlanVersion int64     `json:"planVersion"`
	Period      string    `json:"period"`
	PeriodStart time.Time `json:"periodStart"`
	PeriodEnd   time.Time `json:"periodEnd"`
	Rep         string    `json:"rep"`
	RepName     string    `json:"repName"`
	Status      string    `json:"status"`
	Currency    string    `json:"currency"`
	Lines       []Line    `json:"lines"`
	// Total is the sum of the lines, in minor units.
	Total      int64    `json:"total"`
	Attainment *float64 `json:"attainment"`
	Target     *int64   `json:"target"`
	History    []Event  `json:"history"`
	// Fingerprint identifies the inputs the computed lines came from.
	Fingerprint string    `json:"fingerprint,omitempty"`
	ComputedAt  time.Time `json:"computedAt"`
	// Computed is false for a draft made only to hold adjustments (its
	// period has not been run yet).
	Computed bool  `json:"computed"`
	Version  int64 `json:"version"`

	// The computed lines as stored (see lineTable): read from the store or
	// made by a run. When Lines is nil (a statement a run read or built
	// without decoding its lines) table and adj hold the lines; otherwise
	// Lines does and table, when set, is the encoding of its computed lines
	// (which nothing changes after a run made them).
	table *lineTable
	adj   []Line
}

// Line is a statement line: the calculator's line with a stable id, and,
// for adjustments, where it comes from.
type Line struct {
	ID string `json:"id"`
	calc.Line
	Source *Source `json:"source,omitempty"`
	// Text says the line in plain words, by language (filled on read).
	Text map[string]string `json:"text,omitempty"`
}

// Source is what an adjustment line corrects: a locked period's line
// (Period, Rule, Record) or a dispute.
type Source struct {
	Period  string `json:"period,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Record  string `json:"record,omitempty"`
	Dispute string `json:"dispute,omitempty"`
}

// key identifies an adjustment's source; writing it again replaces it.
func (s Source) key() string {
	if s.Dispute != "" {
		return "dispute|" + s.Dispute
	}
	return "locked|" + s.Period + "|" + s.Rule + "|" + s.Record
}

// Event is one change of a statement's status.
type Event struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"` // computed, approve, pay, reopen, adjust
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// Locked reports whether runs may no longer rewrite the statement.
func (st *Statement) Locked() bool { return st.Status == StatusApproved || st.Status == StatusPaid }

// computedLines are the lines a run produced (not adjustments).
func (st *Statement) computedLines() ([]Line, error) {
	if st.Lines == nil && st.table != nil {
		ls, err := st.table.decode()
		if err != nil {
			return nil, fmt.Errorf("decode statement %s: %w", st.ID, err)
		}
		return lineIDs(ls), nil
	}
	var out []Line
	for _, l := range st.Lines {
		if l.Source == nil {
			out = append(out, l)
		}
	}
	return out, nil
}

// forget drops the stored lines of a statement read by statementHead,
// keeping their hash (a run holds every statement of a period while it
// runs; decoding the lines needs a fresh read).
func (st *Statement) forget() {
	if st.Lines == nil && st.table != nil {
		st.table = &lineTable{hash: st.table.hash, n: st.table.n, hashOnly: true}
	}
}

// plainLines are all the lines without their ids (cheaper than
// computedLines for a statement read by statementHead).
func (st *Statement) plainLines() ([]calc.Line, error) {
	var out []calc.Line
	if st.Lines == nil && st.table != nil {
		ls, err := st.table.decode()
		if err != nil {
			return nil, fmt.Errorf("decode statement %s: %w", st.ID, err)
		}
		out = ls
	}
	for _, l := range st.Lines {
		out = append(out, l.Line)
	}
	for _, l := range st.adj {
		out = append(out, l.Line)
	}
	return out, nil
}

// adjustments are the adjustment lines.
func (st *Statement) adjustments() []Line {
	if st.Lines == nil {
		return st.adj
	}
	var out []Line
	for _, l := range st.Lines {
		if l.Source != nil {
			out = append(out, l)
		}
	}
	return out
}

// tableOf returns the stored form of the computed lines.
func (st *Statement) tableOf(enc *lineEncoder) (*lineTable, error) {
	if st.table != nil {
		return st.table, nil
	}
	var ls []calc.Line
	for _, l := range st.Lines {
		if l.Source == nil {
			ls = append(ls, l.Line)
		}
	}
	if enc == nil {
		enc = &lineEncoder{}
	}
	t, err := enc.encode(ls)
	if err != nil {
		return nil, err
	}
	st.table = t
	return t, nil
}

func (st *Statement) retotal() {
	st.Total = 0
	for _, l := range st.Lines {
		st.Total += l.Amount
	}
}

// doc is the statement as stored: the computed lines as a table under
// "lines", the adjustment lines in the API's shape (without texts) under
// "adjustments".
func (st *Statement) doc() (store.Doc, error) {
	t, err := st.tableOf(nil)
	if err != nil {
		return nil, err
	}
	tv, err := t.value()
	if err != nil {
		return nil, err
	}
	adj := st.adjustments()
	lines := make([]Line, len(adj))
	for i, l := range adj {
		l.Text = nil
		lines[i] = l
	}
	as, err := jsonValue(lines)
	if err != nil {
		return nil, err
	}
	hs, err := jsonValue(st.History)
	if err != nil {
		return nil, err
	}
	d := store.Doc{store.KeyID: st.ID, "plan": st.Plan, "planVersion": st.PlanVersion, "period": st.Period,
		"periodStart": period.FormatInstant(st.PeriodStart), "periodEnd": period.FormatInstant(st.PeriodEnd),
		"rep": st.Rep, "repName": st.RepName, "status": st.Status, "currency": st.Currency, "lines": tv, "adjustments": as,
		"total": st.Total, "history": hs, "fingerprint": st.Fingerprint, "computedAt": period.FormatInstant(st.ComputedAt), "computed": st.Computed}
	if st.Attainment != nil {
		d["attainment"] = *st.Attainment
	}
	if st.Target != nil {
		d["target"] = *st.Target
	}
	return d, nil
}

func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// statementFrom reads a stored statement with its lines (ids included).
func statementFrom(d store.Doc) (*Statement, error) {
	st, err := statementHead(d)
	if err != nil || st.Lines != nil {
		return st, err
	}
	computed, err := st.computedLines()
	if err != nil {
		return nil, err
	}
	st.Lines = append(computed, st.adj...)
	if st.Lines == nil {
		st.Lines = []Line{}
	}
	st.adj = nil
	return st, nil
}

// statementHead reads a stored statement without decoding its computed
// lines (Lines stays nil; table and adj hold them) — what a run needs to
// see whether a draft changed. A statement stored before the line table
// existed (its lines in the API's shape) is read in full.
func statementHead(d store.Doc) (*Statement, error) {
	st := &Statement{ID: store.ID(d), PlanVersion: store.Int(d["planVersion"]), Total: store.Int(d["total"]), Version: store.Version(d)}
	st.Plan, _ = d["plan"].(string)
	st.Period, _ = d["period"].(string)
	st.Rep, _ = d["rep"].(string)
	st.RepName, _ = d["repName"].(string)
	st.Status, _ = d["status"].(string)
	st.Currency, _ = d["currency"].(string)
	st.Fingerprint, _ = d["fingerprint"].(string)
	st.Computed, _ = d["computed"].(bool)
	at := func(k string) time.Time { s, _ := d[k].(string); t, _ := period.ParseInstant(s); return t }
	st.PeriodStart, st.PeriodEnd, st.ComputedAt = at("periodStart"), at("periodEnd"), at("computedAt")
	if v, ok := d["attainment"]; ok && v != nil {
		f := store.Float(v)
		st.Attainment = &f
	}
	if v, ok := d["target"]; ok && v != nil {
		n := store.Int(v)
		st.Target = &n
	}
	table, isTable := d["lines"].(map[string]any)
	parts := map[string]any{"history": d["history"]}
	if isTable {
		parts["lines"] = d["adjustments"]
	} else {
		parts["lines"] = d["lines"] // stored before the line table
	}
	b, err := json.Marshal(parts)
	if err != nil {
		return nil, fmt.Errorf("decode statement %s: %w", st.ID, err)
	}
	var dec struct {
		Lines   []Line  `json:"lines"`
		History []Event `json:"history"`
	}
	if err := json.Unmarshal(b, &dec); err != nil {
		return nil, fmt.Errorf("decode statement %s: %w", st.ID, err)
	}
	st.History = dec.History
	if st.History == nil {
		st.History = []Event{}
	}
	if !isTable {
		st.Lines = dec.Lines
		if st.Lines == nil {
			st.Lines = []Line{}
		}
		return st, nil
	}
	if st.table, err = tableFrom(table); err != nil {
		return nil, fmt.Errorf("decode statement %s: %w", st.ID, err)
	}
	st.adj = dec.Lines
	return st, nil
}

// sameContent reports whether two statements would store the same lines,
// totals and inputs (what a run may change). Computed lines are compared
// by their table's hash, without decoding them.
func sameContent(a, b *Statement, enc *lineEncoder) (bool, error) {
	if a.PlanVersion != b.PlanVersion || a.Total != b.Total || a.Computed != b.Computed || a.RepName != b.RepName ||
		!eqFloat(a.Attainment, b.Attainment) || !eqInt(a.Target, b.Target) {
		return false, nil
	}
	ta, err := a.tableOf(enc)
	if err != nil {
		return false, err
	}
	tb, err := b.tableOf(enc)
	if err != nil {
		return false, err
	}
	if ta.hash != tb.hash {
		return false, nil
	}
	x, err1 := json.Marshal(a.adjustments())
	y, err2 := json.Marshal(b.adjustments())
	return err1 == nil && err2 == nil && string(x) == string(y), nil
}

func eqFloat(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
func eqInt(a, b *int64) bool     { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// lineIDs gives computed lines stable ids: a hash of what identifies a
// line (rule, kind, record, band) plus its occurrence among equals.
func lineIDs(ls []calc.Line) []Line {
	seen := map[string]int{}
	out := make([]Line, len(ls))
	for i, l := range ls {
		band := ""
		if l.Band != nil {
			band = strconv.Itoa(l.Band.Index)
		}
		k := l.Rule + "|" + l.Kind + "|" + l.Record + "|" + band
		n := seen[k]
		seen[k] = n + 1
		out[i] = Line{ID: shortHash("l", k+"|"+strconv.Itoa(n)), Line: l}
	}
	return out
}

func shortHash(prefix, s string) string {
	h := sha256.Sum256([]byte(s))
	return prefix + hex.EncodeToString(h[:6])
}

// Get returns a statement the principal may see (404 otherwise), with the
// lines' texts.
func (s *Service) Statement(ctx context.Context, db store.DB, p *auth.Principal, id string) (*Statement, error) {
	st, err := s.load(ctx, db, id)
	if err != nil {
		return nil, err
	}
	vis, err := visibility(ctx, db, p)
	if err != nil {
		return nil, err
	}
	if !vis.Allows(st.Rep) {
		return nil, apperr.NotFound("statement %s not found", id)
	}
	withTexts(st)
	return st, nil
}

func (s *Service) load(ctx context.Context, db store.DB, id string) (*Statement, error) {
	d, err := db.Get(ctx, collStatements, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("statement %s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load statement %s: %w", id, err)
	}
	return statementFrom(d)
}

// withTexts fills every line's plain-words text in both languages.
func withTexts(st *Statement) {
	for i := range st.Lines {
		l := &st.Lines[i]
		l.Text = map[string]string{"zh-CN": calc.Text(l.Line, "zh-CN"), "en": calc.Text(l.Line, "en")}
		if l.Source != nil && l.Explain.Note != "" {
			zh, en, _ := strings.Cut(l.Explain.Note, " / ")
			if zh != "" && en != "" {
				l.Text = map[string]string{"zh-CN": zh, "en": en}
			}
		}
	}
}

// visibility is whose statements p may read: finance and admins everyone's,
// a manager their subtree's (and their own), anyone else their own. Pay is
// not what a viewer reads: the viewer role (reading one's own team) adds
// nothing here, also for someone who holds it beside rep or manager.
func visibility(ctx context.Context, db store.DB, p *auth.Principal) (auth.Visibility, error) {
	if p.Integration {
		return auth.Visibility{}, nil
	}
	q := *p
	q.Roles = slices.DeleteFunc(slices.Clone(p.Roles), func(r auth.Role) bool { return r == auth.RoleViewer })
	return auth.VisibilityOf(ctx, db, &q)
}

// ListQuery selects statements.
type ListQuery struct {
	Plan, Period, Rep, Status string
	Limit                     int
	Cursor                    string
}

// Statements lists the statements p may see, newest period first, then by
// rep name. Lines carry their texts.
func (s *Service) Statements(ctx context.Context, db store.DB, p *auth.Principal, q ListQuery) ([]*Statement, string, error) {
	vis, err := visibility(ctx, db, p)
	if err != nil {
		return nil, "", err
	}
	where, ok := listWhere(q, vis)
	if !ok {
		return []*Statement{}, "", nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	page, err := db.Find(ctx, collStatements, store.Query{Where: where,
		Sort: []store.SortKey{{Field: "periodStart", Desc: true}, {Field: "repName"}}, Limit: limit, After: q.Cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]*Statement, 0, len(page.Docs))
	for _, d := range page.Docs {
		st, err := statementFrom(d)
		if err != nil {
			return nil, "", err
		}
		withTexts(st)
		out = append(out, st)
	}
	return out, page.Next, nil
}

// listWhere builds the conditions of a list; false when nothing can match
// (asking for someone the caller may not see).
func listWhere(q ListQuery, vis auth.Visibility) ([]store.Cond, bool) {
	var where []store.Cond
	for _, c := range []struct{ f, v string }{{"plan", q.Plan}, {"period", q.Period}, {"status", q.Status}} {
		if c.v != "" {
			where = append(where, store.Cond{Field: c.f, Op: store.Eq, Value: c.v})
		}
	}
	switch {
	case q.Rep != "":
		if !vis.Allows(q.Rep) {
			return nil, false
		}
		where = append(where, store.Cond{Field: "rep", Op: store.Eq, Value: q.Rep})
	case !vis.All:
		if len(vis.Owners) == 0 {
			return nil, false
		}
		in := make([]any, len(vis.Owners))
		for i, o := range vis.Owners {
			in[i] = o
		}
		where = append(where, store.Cond{Field: "rep", Op: store.In, Value: in})
	}
	return where, true
}

// canApprove says whether p may approve or resolve for rep: finance and
// admins may, a manager for their subtree — and never for themself.
func canApprove(ctx context.Context, db store.DB, p *auth.Principal, rep string) (bool, error) {
	if p.Integration || p.UserID == rep {
		return false, nil
	}
	if p.Has(auth.RoleAdmin) || p.Has(auth.RoleFinance) {
		return true, nil
	}
	if !p.Has(auth.RoleManager) {
		return false, nil
	}
	vis, err := visibility(ctx, db, p)
	if err != nil {
		return false, err
	}
	return vis.Allows(rep), nil
}

// Transition moves a statement through its lifecycle: "approve" (draft →
// approved: the rep's manager, finance or an admin, never the rep), "pay"
// (approved → paid: finance or an admin), "reopen" (approved → draft:
// finance or an admin). ifVersion 0 skips the optimistic check.
func (s *Service) Transition(ctx context.Context, db store.DB, p *auth.Principal, id, action, note string, ifVersion int64) (*Statement, error) {
	st, err := s.Statement(ctx, db, p, id)
	if err != nil {
		return nil, err
	}
	if ifVersion != 0 && st.Version != ifVersion {
		return nil, apperr.Conflict("version_conflict", "the statement was changed by someone else; reload it").With("current", st.Version)
	}
	finance := !p.Integration && (p.Has(auth.RoleAdmin) || p.Has(auth.RoleFinance))
	var from, to string
	switch action {
	case "approve":
		ok, err := canApprove(ctx, db, p, st.Rep)
		if err != nil {
			return nil, err
		}
		if !ok {
			if p.UserID == st.Rep {
				return nil, apperr.Forbidden("you cannot approve your own statement")
			}
			return nil, apperr.Forbidden("only the rep's manager, finance or an admin can approve a statement")
		}
		from, to = StatusDraft, StatusApproved
	case "pay":
		if !finance || p.UserID == st.Rep {
			return nil, apperr.Forbidden("only finance or an admin can mark a statement paid (and not their own)")
		}
		from, to = StatusApproved, StatusPaid
	case "reopen":
		if !finance {
			return nil, apperr.Forbidden("only finance or an admin can reopen a statement")
		}
		from, to = StatusApproved, StatusDraft
	default:
		return nil, apperr.BadRequest("unknown statement action %q", action)
	}
	if st.Status != from {
		code, msg := "statement_status", fmt.Sprintf("the statement is %s; only a %s statement can be %s", st.Status, from, pastTense(action))
		if st.Status == StatusPaid {
			code, msg = "statement_paid", "the statement is already paid and locked; changes go into a later period as adjustments"
		}
		return nil, apperr.Conflict(code, "%s", msg).With("status", st.Status)
	}
	if !st.Computed && action == "approve" {
		return nil, apperr.Conflict("statement_not_computed", "the period has not been run yet; run it before approving")
	}
	d, err := db.Get(ctx, collStatements, id)
	if err != nil {
		return nil, fmt.Errorf("load statement %s: %w", id, err)
	}
	if store.Version(d) != st.Version {
		return nil, apperr.Conflict("version_conflict", "the statement was changed meanwhile; reload it")
	}
	st.Status = to
	st.History = append(st.History, Event{At: s.Now().UTC(), By: p.UserID, Action: action, From: from, To: to, Note: note})
	nd, err := st.doc()
	if err != nil {
		return nil, err
	}
	v, err := db.Replace(ctx, collStatements, nd, st.Version)
	if errors.Is(err, store.ErrConflict) {
		return nil, apperr.Conflict("version_conflict", "the statement was changed meanwhile; reload it")
	}
	if err != nil {
		return nil, fmt.Errorf("%s statement %s: %w", action, id, err)
	}
	st.Version = v
	if err := audit.Append(ctx, db, p.UserID, "statement."+action, "statement:"+id,
		map[string]any{"from": from, "to": to, "total": st.Total, "note": note}); err != nil {
		return st, err
	}
	return st, nil
}

func pastTense(action string) string {
	switch action {
	case "approve":
		return "approved"
	case "pay":
		return "paid"
	}
	return action + "ed"
}

// repStatements loads every statement of a plan for a rep, by period start.
func repStatements(ctx context.Context, db store.DB, plan, rep string) ([]*Statement, error) {
	var out []*Statement
	err := db.Scan(ctx, collStatements, store.Query{Where: []store.Cond{
		{Field: "plan", Op: store.Eq, Value: plan}, {Field: "rep", Op: store.Eq, Value: rep}},
		Sort: []store.SortKey{{Field: "periodStart"}}}, func(d store.Doc) error {
		st, err := statementFrom(d)
		if err != nil {
			return err
		}
		out = append(out, st)
		return nil
	})
	return out, err
}

// putStatement writes st: an insert when version is 0, else a replace at
// that version. It returns the new version.
func putStatement(ctx context.Context, db store.DB, st *Statement) (int64, error) {
	d, err := st.doc()
	if err != nil {
		return 0, err
	}
	if st.Version == 0 {
		v, err := db.Insert(ctx, collStatements, d)
		if errors.Is(err, store.ErrDuplicate) {
			return 0, store.ErrConflict
		}
		return v, err
	}
	return db.Replace(ctx, collStatements, d, st.Version)
}

// placeAdjustments makes the adjustment lines of one source group (a locked
// period's lines, or one dispute) equal want, net of what locked statements
// already carry for the same sources: the remainder goes into the rep's
// first open statement after `after` (created as a draft if need be), and
// the group's lines are removed from every other draft. Keys of want are
// Source.key(); a zero amount removes the line. group selects the lines of
// the group in existing statements. It returns the statement written to
// ("" when nothing changed).
func (s *Service) placeAdjustments(ctx context.Context, db store.DB, pl *Plan, cal period.Calendar, rep, repName string, after period.Period,
	group func(*Source) bool, want map[string]Line, actor string) (string, error) {
	for attempt := 0; ; attempt++ {
		id, err := s.placeOnce(ctx, db, pl, cal, rep, repName, after, group, want, actor)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // a concurrent write: read again and redo
		}
		return id, err
	}
}

func (s *Service) placeOnce(ctx context.Context, db store.DB, pl *Plan, cal period.Calendar, rep, repName string, after period.Period,
	group func(*Source) bool, want map[string]Line, actor string) (string, error) {
	sts, err := repStatements(ctx, db, pl.Key, rep)
	if err != nil {
		return "", err
	}
	byPeriod := map[string]*Statement{}
	locked := map[string]int64{}
	for _, st := range sts {
		byPeriod[st.Period] = st
		if st.Locked() {
			for _, l := range st.adjustments() {
				if group(l.Source) {
					locked[l.Source.key()] += l.Amount
				}
			}
		}
	}
	// The first open period after `after`.
	next := after
	var target *Statement
	for i := 0; i < 240; i++ {
		next = cal.Of(next.End, pl.Grain)
		st := byPeriod[next.Key]
		if st == nil {
			target = &Statement{ID: statementID(pl.Key, next.Key, rep), Plan: pl.Key, PlanVersion: pl.Version, Period: next.Key,
				PeriodStart: next.Start.UTC(), PeriodEnd: next.End.UTC(), Rep: rep, RepName: repName, Status: StatusDraft, Currency: pl.Currency,
				Lines: []Line{}, History: []Event{}, ComputedAt: s.Now().UTC()}
			break
		}
		if !st.Locked() {
			target = st
			break
		}
	}
	if target == nil {
		return "", fmt.Errorf("no open period after %s for %s", after.Key, rep)
	}
	// The lines the target should carry for this group.
	var lines []Line
	for _, k := range sortedKeys(want) {
		l := want[k]
		l.Amount -= locked[k]
		if l.Amount != 0 {
			lines = append(lines, l)
		}
	}
	written := ""
	// Target first: a crash before the clean-up below leaves a line twice
	// in drafts (never paid), which the next placement removes.
	if changed := replaceGroup(target, group, lines); changed {
		target.History = append(target.History, Event{At: s.Now().UTC(), By: actor, Action: "adjust",
			Note: fmt.Sprintf("adjustments for %s", after.Key)})
		target.retotal()
		v, err := putStatement(ctx, db, target)
		if err != nil {
			return "", err
		}
		target.Version, written = v, target.ID
	}
	for _, st := range sts {
		if st.ID == target.ID || st.Locked() {
			continue
		}
		if replaceGroup(st, group, nil) {
			st.retotal()
			if _, err := putStatement(ctx, db, st); err != nil {
				return written, err
			}
		}
	}
	return written, nil
}

// replaceGroup replaces st's adjustment lines of the group by lines (in
// place, keeping the other lines' order) and reports whether anything changed.
func replaceGroup(st *Statement, group func(*Source) bool, lines []Line) bool {
	var kept, old []Line
	for _, l := range st.Lines {
		if l.Source != nil && group(l.Source) {
			old = append(old, l)
		} else {
			kept = append(kept, l)
		}
	}
	if len(old) == len(lines) {
		a, _ := json.Marshal(old)
		b, _ := json.Marshal(lines)
		if string(a) == string(b) {
			return false
		}
	}
	st.Lines = append(kept, lines...)
	if st.Lines == nil {
		st.Lines = []Line{}
	}
	return true
}

// adjustmentLine makes an adjustment line.
func adjustmentLine(src Source, record, object string, amount int64, noteZh, noteEn string) Line {
	return Line{ID: shortHash("a", src.key()), Source: &src, Line: calc.Line{Rule: "adjustment", Kind: calc.KindAdjustment,
		Record: record, Object: object, Amount: amount, Explain: calc.Explanation{Note: noteZh + " / " + noteEn}}}
}

// fingerprint hashes what a rep's computed lines came from: the plan
// version (and the object version it was compiled against) and the rep's
// inputs, credits with the record data formulas read included.
func fingerprint(pl *Plan, in *calc.Input) string {
	h := fpHash{h: sha256.New(), buf: make([]byte, 0, 8192)}
	h.str(pl.Key)
	h.int(pl.Version)
	h.int(pl.ObjectVersion)
	h.str(in.Rep.ID)
	h.str(in.Rep.Name)
	h.int(int64(len(in.Rep.Teams)))
	for _, t := range in.Rep.Teams {
		h.str(t)
	}
	for _, w := range []calc.Window{in.Period, in.Quota} {
		h.str(w.Key)
		h.time(w.Start)
		h.time(w.End)
	}
	h.int(in.Target)
	h.bool(in.HasTarget)
	h.int(in.ActualBefore)
	h.int(in.ActualInPeriod)
	h.int(in.QuotaScale)
	h.int(int64(len(in.CreditedBefore)))
	for _, k := range sortedKeys(in.CreditedBefore) {
		h.str(k)
		h.int(in.CreditedBefore[k])
	}
	fields := pl.RecordFields()
	h.int(int64(len(in.Credits)))
	for i := range in.Credits {
		c := &in.Credits[i]
		h.str(c.Record)
		h.str(c.Object)
		h.str(c.Owner)
		h.time(c.Date)
		h.int(c.Base)
		h.int(c.RecordBase)
		h.float(c.SharePct)
		for _, k := range fields { // Data holds (at most) these
			if v, ok := c.Data[k]; ok {
				h.str(k)
				h.value(v)
			}
		}
	}
	h.int(int64(len(in.Teams)))
	for _, t := range in.Teams {
		h.str(t.Team)
		h.float(t.Before)
		h.float(t.Now)
	}
	h.int(int64(len(in.Reversals)))
	for _, r := range in.Reversals {
		h.str(r.Record)
		h.str(r.Object)
		h.time(r.CreditDate)
		h.time(r.ReversedAt)
		h.int(r.Paid)
	}
	h.flush()
	return hex.EncodeToString(h.h.Sum(nil)[:12])
}

// fpHash feeds values to a hash unambiguously (lengths before strings),
// through a buffer.
type fpHash struct {
	h   hash.Hash
	buf []byte
}

func (f *fpHash) flush() {
	f.h.Write(f.buf)
	f.buf = f.buf[:0]
}

func (f *fpHash) int(v int64) {
	f.buf = binary.LittleEndian.AppendUint64(f.buf, uint64(v))
	if len(f.buf) >= 4096 {
		f.flush()
	}
}

func (f *fpHash) str(s string) {
	f.int(int64(len(s)))
	f.buf = append(f.buf, s...)
	if len(f.buf) >= 4096 {
		f.flush()
	}
}

func (f *fpHash) float(v float64) { f.int(int64(math.Float64bits(v))) }

func (f *fpHash) bool(v bool) {
	if v {
		f.int(1)
	} else {
		f.int(0)
	}
}

func (f *fpHash) time(t time.Time) { f.int(t.UnixNano()) }

func (f *fpHash) value(v any) {
	switch x := v.(type) {
	case nil:
		f.str("n")
	case string:
		f.str("s")
		f.str(x)
	case float64:
		f.str("f")
		f.float(x)
	case int:
		f.str("i")
		f.int(int64(x))
	case int64:
		f.str("i")
		f.int(x)
	case bool:
		f.str("b")
		f.bool(x)
	case time.Time:
		f.str("t")
		f.time(x)
	default:
		b, _ := json.Marshal(x)
		f.str("j")
		f.str(string(b))
	}
}
