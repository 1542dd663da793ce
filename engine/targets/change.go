package targets

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/store"
)

// Outcome is what a change did (or, for a dry run, would do) to the
// amounts: every node whose annual amount moves, per level.
type Outcome struct {
	DryRun  bool                    `json:"dryRun"`
	Plan    *Plan                   `json:"plan,omitempty"` // after the change (nil on a dry run)
	Changes map[string][]NodeChange `json:"changes"`
	Totals  map[string]int64        `json:"totals"`
}

// published returns the plan's published definition and version, refusing
// when a draft with other edits is pending (a change must not publish
// someone's half-finished draft along with it).
func (s *Service) published(ctx context.Context, db store.DB, key string) (Plan, *Definition, error) {
	pl, err := s.Get(ctx, db, key)
	if err != nil {
		return Plan{}, nil, err
	}
	if pl.PublishedVersion == 0 {
		return Plan{}, nil, apperr.New(apperr.KindInvalid, "target_plan_not_published", "publish target plan %q before locking, accepting proposals or re-spreading", key)
	}
	if pl.Status != StatusPublished {
		return Plan{}, nil, apperr.Conflict("draft_pending", "target plan %q has unpublished draft edits; publish or discard them first", key)
	}
	d, fe := decode(pl.Definition)
	if len(fe) > 0 {
		return Plan{}, nil, fmt.Errorf("stored plan %s does not decode: %s", key, fe[0].Message)
	}
	return pl, d, nil
}

// apply validates and allocates a changed definition and, unless dryRun,
// saves and publishes it as a new version with the reason.
func (s *Service) apply(ctx context.Context, db store.DB, tenantName, actor string, pl Plan, d *Definition, reason string, dryRun bool) (*Outcome, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" && !dryRun {
		return nil, apperr.Invalid("say why", apperr.FieldError{Pointer: "/reason", Code: "required",
			Message: "every new version records a reason (e.g. 张三负责的重点客户已确定)"})
	}
	d.Key = pl.Key
	if fe := d.checkStatic(); len(fe) > 0 {
		return nil, apperr.Invalid(fmt.Sprintf("the change leaves %d problem(s)", len(fe)), fe...)
	}
	a, err := s.allocate(ctx, db, tenantName, pl.Key, d)
	if err != nil {
		return nil, err
	}
	out := &Outcome{DryRun: dryRun, Changes: map[string][]NodeChange{}, Totals: map[string]int64{}}
	for level, r := range a.Levels {
		out.Totals[level] = r.Nodes[r.Root].Annual
		old, err := s.loadResult(ctx, db, pl.Key, pl.PublishedVersion, level)
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		changes := []NodeChange{}
		for _, k := range r.Order {
			n := r.Nodes[k]
			var o int64
			if old != nil {
				if x := old.Nodes[k]; x != nil {
					o = x.Annual
				}
			}
			if o != n.Annual {
				changes = append(changes, NodeChange{Key: k, Name: n.Name, Old: o, New: n.Annual, Delta: n.Annual - o})
			}
		}
		out.Changes[level] = changes
	}
	if dryRun {
		return out, nil
	}
	if _, err := s.Save(ctx, db, tenantName, actor, pl.Key, d.toMap(), pl.Version); err != nil {
		return nil, err
	}
	np, err := s.Publish(ctx, db, tenantName, actor, pl.Key, reason)
	if err != nil {
		return nil, err
	}
	out.Plan = &np
	return out, nil
}

func isNotFound(err error) bool {
	ae, ok := apperr.As(err)
	return ok && ae.Kind == apperr.KindNotFound
}

// mayAdjust reports whether p may lock or propose the amount of node: an
// admin always; a manager when the node's parent is a team they manage or
// one below it (a manager splits their own number; they do not set it).
func (s *Service) mayAdjust(ctx context.Context, db store.DB, p *auth.Principal, key string, v int64, node string) error {
	if p.IsAdmin() {
		return nil
	}
	if !p.Has(auth.RoleManager) {
		return apperr.Forbidden("only admins and managers adjust targets")
	}
	a, err := storedNodes(ctx, db, key, v, LevelTarget)(node)
	if err != nil {
		return err
	}
	if a == nil {
		return apperr.NotFound("%s is not a node of target plan %q", node, key)
	}
	if kindOf(a.Parent) == "team" {
		teams, err := auth.ListTeams(ctx, db)
		if err != nil {
			return err
		}
		var roots []string
		for _, t := range teams {
			if contains(t.Managers, p.UserID) {
				roots = append(roots, t.ID)
			}
		}
		if contains(auth.Subtree(teams, roots), a.Parent[5:]) {
			return nil
		}
	}
	return apperr.Forbidden("%s is not in a team you manage", node)
}

// LockInput locks (Amount set) or unlocks (Amount nil) a node's amount.
type LockInput struct {
	Node   string `json:"node"`
	Level  string `json:"level,omitempty"`
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
	DryRun bool   `json:"dryRun,omitempty"`
}

// Lock fixes (or frees) a node's annual amount; its unlocked siblings share
// the rest by the plan's formula. The result is a new version (or, on a dry
// run, what would change).
func (s *Service) Lock(ctx context.Context, db store.DB, tenantName string, p *auth.Principal, key string, in LockInput) (*Outcome, error) {
	pl, d, err := s.published(ctx, db, key)
	if err != nil {
		return nil, err
	}
	if in.Level == "" {
		in.Level = LevelTarget
	}
	if _, ok := d.Amounts[in.Level]; !ok {
		return nil, apperr.Invalid("unknown level", apperr.FieldError{Pointer: "/level", Code: "unknown_level", Message: fmt.Sprintf("the plan has no %s level", in.Level)})
	}
	if in.Node == "" || in.Node == d.root() {
		return nil, apperr.Invalid("choose a node below the root", apperr.FieldError{Pointer: "/node", Code: "invalid",
			Message: "the root's amount is the plan's amount; lock one of its descendants"})
	}
	if err := s.mayAdjust(ctx, db, p, key, pl.PublishedVersion, in.Node); err != nil {
		return nil, err
	}
	if d.Nodes == nil {
		d.Nodes = map[string]*NodeSettings{}
	}
	ns := d.Nodes[in.Node]
	if ns == nil {
		ns = &NodeSettings{}
		d.Nodes[in.Node] = ns
	}
	if in.Amount == nil {
		delete(ns.Locks, in.Level)
	} else {
		if *in.Amount < 0 {
			return nil, apperr.Invalid("negative amount", apperr.FieldError{Pointer: "/amount", Code: "minimum", Message: "a target cannot be negative"})
		}
		if ns.Locks == nil {
			ns.Locks = map[string]int64{}
		}
		ns.Locks[in.Level] = *in.Amount
	}
	out, err := s.apply(ctx, db, tenantName, p.UserID, pl, d, in.Reason, in.DryRun)
	if err != nil {
		return nil, relocate(err, "/nodes/"+escapePointer(in.Node)+"/locks/"+in.Level, "/amount")
	}
	return out, nil
}

// relocate points field errors about the changed setting at the request.
func relocate(err error, from, to string) error {
	ae, ok := apperr.As(err)
	if !ok {
		return err
	}
	for i := range ae.Fields {
		if strings.HasPrefix(ae.Fields[i].Pointer, from) || strings.HasPrefix(from, ae.Fields[i].Pointer+"/") {
			ae.Fields[i].Pointer = to
		}
	}
	return ae
}

// Proposal is a bottom-up amount a manager suggests for a node.
type Proposal struct {
	Node    string           `json:"node"`
	Amounts map[string]int64 `json:"amounts"`
	By      string           `json:"by"`
	At      string           `json:"at"`
	Note    string           `json:"note,omitempty"`
	Status  string           `json:"status"` // open, accepted
	// Allocated and Gap compare with the version in force, by level.
	Allocated map[string]int64 `json:"allocated,omitempty"`
	Gap       map[string]int64 `json:"gap,omitempty"`
}

// ProposalInput is a manager's proposal for one node.
type ProposalInput struct {
	Node    string           `json:"node"`
	Amounts map[string]int64 `json:"amounts"`
	Note    string           `json:"note,omitempty"`
}

func proposalID(key, node string) string { return key + "|" + node }

func proposalFrom(d store.Doc) *Proposal {
	p := &Proposal{Amounts: map[string]int64{}}
	p.Node, _ = d["node"].(string)
	p.By, _ = d["by"].(string)
	p.At, _ = d["at"].(string)
	p.Note, _ = d["note"].(string)
	p.Status, _ = d["status"].(string)
	if m, ok := d["amounts"].(map[string]any); ok {
		for k, v := range m {
			p.Amounts[k] = store.Int(v)
		}
	}
	return p
}

// proposals returns the plan's open proposals by node.
func (s *Service) proposals(ctx context.Context, db store.DB, key string) (map[string]*Proposal, error) {
	out := map[string]*Proposal{}
	err := db.Scan(ctx, collProposals, store.Query{Where: []store.Cond{{Field: "plan", Op: store.Eq, Value: key}}}, func(d store.Doc) error {
		p := proposalFrom(d)
		if p.Status == "open" {
			out[p.Node] = p
		}
		return nil
	})
	return out, err
}

// Propose records (or replaces) a manager's bottom-up proposal for a node.
func (s *Service) Propose(ctx context.Context, db store.DB, tenantName string, p *auth.Principal, key string, in ProposalInput) (*Proposal, error) {
	pl, d, err := s.published(ctx, db, key)
	if err != nil && !isConflict(err) {
		return nil, err
	}
	if d == nil {
		pl, err = s.Get(ctx, db, key)
		if err != nil {
			return nil, err
		}
		vi, err := s.Version(ctx, db, key, pl.PublishedVersion)
		if err != nil {
			return nil, err
		}
		d, _ = decode(vi.Definition)
	}
	if len(in.Amounts) == 0 {
		return nil, apperr.Invalid("no amounts", apperr.FieldError{Pointer: "/amounts", Code: "required", Message: "propose at least one level's amount"})
	}
	for l, v := range in.Amounts {
		if _, ok := d.Amounts[l]; !ok {
			return nil, apperr.Invalid("unknown level", apperr.FieldError{Pointer: "/amounts/" + l, Code: "unknown_level", Message: fmt.Sprintf("the plan has no %s level", l)})
		}
		if v < 0 || v%d.Granularity != 0 {
			return nil, apperr.Invalid("bad amount", apperr.FieldError{Pointer: "/amounts/" + l, Code: "not_multiple",
				Message: fmt.Sprintf("%s must be ≥ 0 and a multiple of the granularity %s", fmtAmount(v), fmtAmount(d.Granularity))})
		}
	}
	if err := s.mayAdjust(ctx, db, p, key, pl.PublishedVersion, in.Node); err != nil {
		return nil, err
	}
	amounts := map[string]any{}
	for l, v := range in.Amounts {
		amounts[l] = v
	}
	doc := store.Doc{store.KeyID: proposalID(key, in.Node), "plan": key, "node": in.Node, "amounts": amounts,
		"by": p.UserID, "at": period.FormatInstant(s.Now()), "note": in.Note, "status": "open"}
	cur, err := db.Get(ctx, collProposals, proposalID(key, in.Node))
	switch {
	case errors.Is(err, store.ErrNotFound):
		_, err = db.Insert(ctx, collProposals, doc)
	case err == nil:
		_, err = db.Replace(ctx, collProposals, doc, store.Version(cur))
	}
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrDuplicate) {
			return nil, apperr.Conflict("version_conflict", "the proposal was changed concurrently; retry")
		}
		return nil, fmt.Errorf("store proposal: %w", err)
	}
	if err := audit.Append(ctx, db, p.UserID, "target_plan.propose", "target_plan:"+key, map[string]any{"node": in.Node, "amounts": amounts}); err != nil {
		return nil, err
	}
	return proposalFrom(doc), nil
}

func isConflict(err error) bool {
	ae, ok := apperr.As(err)
	return ok && ae.Kind == apperr.KindConflict
}

// Proposals lists the open proposals with the allocated amounts and gaps.
func (s *Service) Proposals(ctx context.Context, db store.DB, key string) ([]*Proposal, error) {
	pl, err := s.Get(ctx, db, key)
	if err != nil {
		return nil, err
	}
	props, err := s.proposals(ctx, db, key)
	if err != nil {
		return nil, err
	}
	out := make([]*Proposal, 0, len(props))
	for _, k := range sortedKeys(props) {
		pr := props[k]
		pr.Allocated, pr.Gap = map[string]int64{}, map[string]int64{}
		for l, v := range pr.Amounts {
			a, err := storedNodes(ctx, db, key, pl.PublishedVersion, l)(pr.Node)
			if err != nil {
				return nil, err
			}
			if a != nil {
				pr.Allocated[l] = a.Annual
				pr.Gap[l] = v - a.Annual
			}
		}
		out = append(out, pr)
	}
	return out, nil
}

// AcceptInput accepts proposals: each becomes a lock.
type AcceptInput struct {
	Nodes  []string `json:"nodes"`
	Reason string   `json:"reason"`
	DryRun bool     `json:"dryRun,omitempty"`
}

// Accept turns the proposals of the nodes into locks, in one new version.
func (s *Service) Accept(ctx context.Context, db store.DB, tenantName string, p *auth.Principal, key string, in AcceptInput) (*Outcome, error) {
	pl, d, err := s.published(ctx, db, key)
	if err != nil {
		return nil, err
	}
	props, err := s.proposals(ctx, db, key)
	if err != nil {
		return nil, err
	}
	if len(in.Nodes) == 0 {
		return nil, apperr.Invalid("no nodes", apperr.FieldError{Pointer: "/nodes", Code: "required", Message: "name the nodes whose proposals to accept"})
	}
	if d.Nodes == nil {
		d.Nodes = map[string]*NodeSettings{}
	}
	for i, n := range in.Nodes {
		pr, ok := props[n]
		if !ok {
			return nil, apperr.Invalid("no open proposal", apperr.FieldError{Pointer: fmt.Sprintf("/nodes/%d", i), Code: "no_proposal",
				Message: fmt.Sprintf("%s has no open proposal", n)})
		}
		ns := d.Nodes[n]
		if ns == nil {
			ns = &NodeSettings{}
			d.Nodes[n] = ns
		}
		if ns.Locks == nil {
			ns.Locks = map[string]int64{}
		}
		for l, v := range pr.Amounts {
			ns.Locks[l] = v
		}
	}
	out, err := s.apply(ctx, db, tenantName, p.UserID, pl, d, in.Reason, in.DryRun)
	if err != nil || in.DryRun {
		return out, err
	}
	for _, n := range in.Nodes {
		cur, err := db.Get(ctx, collProposals, proposalID(key, n))
		if err != nil {
			continue
		}
		cur["status"] = "accepted"
		cur["acceptedIn"] = out.Plan.PublishedVersion
		if _, err := db.Replace(ctx, collProposals, cur, store.Version(cur)); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, fmt.Errorf("mark proposal of %s accepted: %w", n, err)
		}
	}
	return out, nil
}

// RespreadInput re-spreads the unmet remainder from a month on.
type RespreadInput struct {
	FromMonth string `json:"fromMonth"` // e.g. 2026-07
	Reason    string `json:"reason"`
	DryRun    bool   `json:"dryRun,omitempty"`
}

// Respread keeps every node's targets of the months before FromMonth and
// spreads, for each level, the unmet part of the annual amount (amount −
// actual to date, not below 0) over the remaining months by seasonality,
// as a new version. The new annual amount is what the months add up to.
func (s *Service) Respread(ctx context.Context, db store.DB, tenantName string, p *auth.Principal, key string, in RespreadInput) (*Outcome, error) {
	pl, d, err := s.published(ctx, db, key)
	if err != nil {
		return nil, err
	}
	cal, err := s.calendar(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	year, err := cal.Parse(strconv.Itoa(d.FiscalYear))
	if err != nil {
		return nil, err
	}
	k, err := monthIndex(cal, year, in.FromMonth)
	if err != nil || k == 0 {
		msg := "a month after the first of the fiscal year"
		if err != nil {
			msg = err.Error()
		}
		return nil, apperr.Invalid("bad month", apperr.FieldError{Pointer: "/fromMonth", Code: "period", Message: msg})
	}
	t, err := s.tree(ctx, db, tenantName, d, cal, year)
	if err != nil {
		return nil, err
	}
	season, err := s.seasonality(ctx, db, tenantName, d, cal, t)
	if err != nil {
		return nil, err
	}
	cut := year.Start.AddDate(0, k, 0)
	toDate := period.Period{Grain: period.Day, Start: year.Start, End: cut}
	actual, err := s.actualOf(ctx, db, tenantName, d.Metric, d.root(), toDate)
	if err != nil {
		return nil, err
	}
	r := &Respread{FromMonth: in.FromMonth, BasedOn: pl.PublishedVersion, ActualToDate: actual, RootMonths: map[string][]int64{}}
	for _, level := range d.levels() {
		base, err := s.loadResult(ctx, db, key, pl.PublishedVersion, level)
		if err != nil {
			return nil, err
		}
		root := base.Nodes[base.Root]
		months := make([]int64, 12)
		var past int64
		for i := 0; i < k; i++ {
			months[i] = root.Months[i]
			past += root.Months[i]
		}
		remaining := max(d.Amounts[level]-actual, 0)
		units := int64(math.Round(float64(remaining) / float64(d.Granularity)))
		spread := largestRemainder(units, season[k:])
		for i, u := range spread {
			months[k+i] = u * d.Granularity
		}
		var total int64
		for _, m := range months {
			total += m
		}
		d.Amounts[level] = total
		r.RootMonths[level] = months
	}
	d.Respread = r
	out, err := s.apply(ctx, db, tenantName, p.UserID, pl, d, in.Reason, in.DryRun)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// largestRemainder splits units over weights exactly (ties: larger weight,
// then earlier month). All-zero weights split equally.
func largestRemainder(units int64, weights []float64) []int64 {
	out := make([]int64, len(weights))
	if len(weights) == 0 {
		return out
	}
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	w := weights
	if sum <= 0 {
		w = make([]float64, len(weights))
		for i := range w {
			w[i] = 1
		}
		sum = float64(len(w))
	}
	type rem struct {
		i    int
		frac float64
	}
	rems := make([]rem, len(w))
	var given int64
	for i, x := range w {
		raw := float64(units) * x / sum
		f := math.Floor(raw)
		out[i] = int64(f)
		given += out[i]
		rems[i] = rem{i, raw - f}
	}
	sort.SliceStable(rems, func(a, b int) bool {
		if rems[a].frac != rems[b].frac {
			return rems[a].frac > rems[b].frac
		}
		return w[rems[a].i] > w[rems[b].i]
	})
	for j := 0; given < units; j = (j + 1) % len(rems) {
		out[rems[j].i]++
		given++
	}
	return out
}

// Suggestion is a suggested root target with its reasoning.
type Suggestion struct {
	Metric        string       `json:"metric"`
	FiscalYear    int          `json:"fiscalYear"`
	History       []YearActual `json:"history"`
	TrendGrowth   *float64     `json:"trendGrowth"`
	MarketGrowth  *float64     `json:"marketGrowth"`
	Growth        float64      `json:"growth"`
	Suggested     int64        `json:"suggested"`
	Seasonality   [12]float64  `json:"seasonality"`
	Reasoning     []Reason     `json:"reasoning"`
	Granularity   int64        `json:"granularity"`
	HasHistory    bool         `json:"hasHistory"`
	LastYearTotal int64        `json:"lastYearTotal"`
}

// YearActual is one past year's company actual.
type YearActual struct {
	FiscalYear int       `json:"fiscalYear"`
	Actual     int64     `json:"actual"` // projected to the year's end when Partial
	Months     [12]int64 `json:"months"`
	Partial    bool      `json:"partial,omitempty"` // the year is still running
}

// Reason is one step of a suggestion's reasoning, in both languages.
type Reason struct {
	ZhCN string `json:"zh-CN"`
	En   string `json:"en"`
}

// Suggest proposes a root target for a metric and year (科学设定): last
// year's actual grown by the trend of the last up to three years, blended
// half and half with the market growth the admin expects when given, and
// last year's months as the seasonality.
func (s *Service) Suggest(ctx context.Context, db store.DB, tenantName, metric string, fy int, market *float64, granularity int64) (*Suggestion, error) {
	if _, err := s.tracker.Metric(ctx, db, tenantName, metric); err != nil {
		return nil, err
	}
	if granularity <= 0 {
		granularity = 1
	}
	cal, err := s.calendar(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	d := &Definition{Metric: metric, FiscalYear: fy}
	year, err := cal.Parse(strconv.Itoa(fy))
	if err != nil {
		return nil, apperr.Invalid("bad fiscal year", apperr.FieldError{Pointer: "/query/fiscalYear", Code: "period", Message: err.Error()})
	}
	t, err := s.tree(ctx, db, tenantName, d, cal, year)
	if err != nil {
		return nil, err
	}
	out := &Suggestion{Metric: metric, FiscalYear: fy, MarketGrowth: market, Granularity: granularity, History: []YearActual{}}
	for y := fy - 3; y < fy; y++ {
		months, err := s.rootMonths(ctx, db, tenantName, metric, t, cal, y)
		if err != nil {
			return nil, err
		}
		ya := YearActual{FiscalYear: y, Months: months}
		for _, m := range months {
			ya.Actual += m
		}
		if ya.Actual > 0 || len(out.History) > 0 {
			out.History = append(out.History, ya)
		}
	}
	say := func(zh, en string, args ...any) {
		out.Reasoning = append(out.Reasoning, Reason{ZhCN: fmt.Sprintf(zh, args...), En: fmt.Sprintf(en, args...)})
	}
	// A year still running (planning next year in November) is projected to
	// its end by the year before's shape: year-to-date ÷ the share the same
	// months had of that year. Taking it as a whole year would read as a
	// collapse.
	if n := len(out.History); n > 0 {
		last := &out.History[n-1]
		y, err := cal.Parse(strconv.Itoa(last.FiscalYear))
		if err != nil {
			return nil, err
		}
		if now := s.Now(); now.Before(y.End) {
			last.Partial = true
			share := 0.0
			if n >= 2 && out.History[n-2].Actual > 0 {
				prev := out.History[n-2]
				for i := 0; i < 12; i++ {
					m := cal.Of(y.Start.AddDate(0, i, 0), period.Month)
					share += float64(prev.Months[i]) / float64(prev.Actual) * period.Elapsed(m, now)
				}
			}
			if share <= 0 {
				share = period.Elapsed(y, now)
			}
			ytd := last.Actual
			if share > 0 {
				last.Actual = int64(math.Round(float64(ytd) / share))
			}
			out.Reasoning = append(out.Reasoning, Reason{
				ZhCN: fmt.Sprintf("%d 财年尚未结束：截至今天实际 %s，按上一年同期占比 %.1f%% 推算全年 %s。", last.FiscalYear, fmtAmount(ytd), share*100, fmtAmount(last.Actual)),
				En:   fmt.Sprintf("Fiscal %d is not over: %s to date, projected to %s for the year by the %.1f%% share the same months had the year before.", last.FiscalYear, fmtAmount(ytd), fmtAmount(last.Actual), share*100),
			})
		}
	}
	if len(out.History) == 0 {
		say("过去三年没有 %s 的实际数据，无法按历史推算；请直接填写目标。", "No actuals of %s in the last three years: nothing to extrapolate; type the target in.", metric)
		for i := range out.Seasonality {
			out.Seasonality[i] = 1.0 / 12
		}
		return out, nil
	}
	out.HasHistory = true
	last := out.History[len(out.History)-1]
	out.LastYearTotal = last.Actual
	say("%d 财年实际：%s。", "Fiscal %d actual: %s.", last.FiscalYear, fmtAmount(last.Actual))
	if len(out.History) >= 2 && out.History[0].Actual > 0 {
		first := out.History[0]
		n := float64(last.FiscalYear - first.FiscalYear)
		g := math.Pow(float64(last.Actual)/float64(first.Actual), 1/n) - 1
		out.TrendGrowth = &g
		say("%d–%d 年复合增长率 %.1f%%。", "Compound growth %d–%d: %.1f%%.", first.FiscalYear, last.FiscalYear, g*100)
	}
	switch {
	case out.TrendGrowth != nil && market != nil:
		out.Growth = (*out.TrendGrowth + *market) / 2
		say("历史趋势与市场预期增长 %.1f%% 各占一半：%.1f%%。", "Half the trend, half the expected market growth of %.1f%%: %.1f%%.", *market*100, out.Growth*100)
	case out.TrendGrowth != nil:
		out.Growth = *out.TrendGrowth
		say("未填写市场增长，按历史趋势 %.1f%%。", "No market growth given: the trend, %.1f%%.", out.Growth*100)
	case market != nil:
		out.Growth = *market
		say("历史不足两年，按市场预期增长 %.1f%%。", "Less than two years of history: the expected market growth, %.1f%%.", out.Growth*100)
	default:
		say("历史不足两年且未填写市场增长：按持平。", "Less than two years of history and no market growth: flat.")
	}
	raw := float64(last.Actual) * (1 + out.Growth)
	out.Suggested = int64(math.Round(raw/float64(granularity))) * granularity
	say("建议目标 = %s × (1 %+.1f%%) ≈ %s（按粒度 %s 取整）。", "Suggested = %s × (1 %+.1f%%) ≈ %s (rounded to the granularity %s).",
		fmtAmount(last.Actual), out.Growth*100, fmtAmount(out.Suggested), fmtAmount(granularity))
	// Seasonality from the last complete year (a running year's later
	// months are still empty).
	shape := last
	if last.Partial && len(out.History) >= 2 {
		shape = out.History[len(out.History)-2]
	}
	total := 0.0
	for _, m := range shape.Months {
		total += float64(max(m, 0))
	}
	for i, m := range shape.Months {
		if total > 0 {
			out.Seasonality[i] = math.Round(float64(max(m, 0))/total*10000) / 10000
		} else {
			out.Seasonality[i] = 1.0 / 12
		}
	}
	say("季节性取 %d 财年各月实际占比。", "Seasonality: each month's share of fiscal %d.", shape.FiscalYear)
	return out, nil
}
