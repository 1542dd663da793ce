// Package commission turns commission plans into statements people can
// trust (DESIGN.md §7): the "commission_plan" configuration kind, runs that
// compute one statement per rep and period, the statement lifecycle
// (draft → approved → paid), adjustments for locked periods, simulation of a
// draft plan, and disputes. The arithmetic lives in engine/commission/calc,
// which is pure; this package gathers its inputs from the store and keeps
// its outputs.
//
// # Plans
//
// A plan (schemas/commission_plan.schema.json) is saved as a draft, checked
// in full by calc.Compile (every formula type-checked against the credited
// object; errors carry pointers) and published as immutable versions. A
// version says when it applies (effectiveFrom/effectiveTo, inclusive) and to
// whom (assign: roles, teams — a member during the period of the team or a
// team below it — and users; all empty: every active user with the rep or
// manager role). The version in force for a period is the highest published
// version whose effective dates overlap the period.
//
// # Runs
//
// Run computes every assigned rep's statement for one period as a job
// (engine/jobs): it streams the credited object's records in the quota
// window (a range on the credit date), credits them (calc.Plan.Credits),
// reads each rep's target (engine/targets) and actuals (engine/tracking
// rollups), finds reversals and what was already paid on them (non-draft
// statements), and calculates (calc.Plan.Calculate). A rep whose inputs are
// wrong (no target when the plan needs attainment, a formula failing on a
// record) gets an entry in the run's report; the others get statements.
//
// # Statements and locked periods
//
// One statement per plan × period × rep, id "<plan>:<period>:<rep>". Runs
// rewrite drafts only, and only when something changed (a re-run with
// nothing new writes nothing: no version moves). An approved or paid
// statement is locked: when a re-run finds its lines would differ, the
// difference per (rule, record) becomes adjustment lines in the rep's next
// open period (created as a draft if need be), keyed by the locked period,
// rule and record so that writing them again replaces rather than adds.
//
// There are no multi-document transactions (DESIGN.md §3). Every write is
// one document, locked statements are never written by a run, and every
// derived line is keyed, so a run that crashes half-way leaves some drafts
// updated and others not — and running again heals them.
package commission

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/commission/calc"
	"stride/engine/config"
	"stride/engine/jobs"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/progress"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// Kind is the configuration kind's name.
const Kind = "commission_plan"

// JobKind is the kind of a commission run's job.
const JobKind = "commission_run"

// Collections of a tenant database.
const (
	collStatements = "cm_statements" // {_id: plan:period:rep, plan, planVersion, period, periodStart, rep, status, lines, total, …}
	collDisputes   = "cm_disputes"   // {_id, statement, line, rep, status, history, …}
)

// Service is the commission service.
type Service struct {
	objs    *objects.Service
	rules   *rules.Engine
	tracker *tracking.Tracker
	targets progress.Targets
	tenants *tenant.Registry
	jobs    *jobs.Service
	docs    *config.Store

	cache sync.Map // compiledKey → *Plan

	mu   sync.Mutex
	runs map[string]string // tenant|plan|period → running job id

	// Now is the clock of statement history and disputes.
	Now func() time.Time
}

type compiledKey struct {
	tenant, key string
	version     int64
	objV        int64
}

// New returns the commission service. targets may be nil (then every plan
// that needs attainment reports missing quotas).
func New(objs *objects.Service, tr *tracking.Tracker, targets progress.Targets, tenants *tenant.Registry, js *jobs.Service) *Service {
	s := &Service{objs: objs, rules: objs.Rules(), tracker: tr, targets: targets, tenants: tenants, jobs: js,
		runs: map[string]string{}, Now: time.Now}
	s.docs = config.New(config.Kind{Name: Kind, Validate: s.validate})
	return s
}

// Collections are the tenant collections this package owns.
func (s *Service) Collections() []store.Collection {
	return append(s.docs.Collections(),
		store.Collection{Name: collStatements, Indexes: []store.Index{
			// Few indexes on purpose: a statement document is large (its
			// lines), and every expression index parses it on write.
			{Name: "plan_period", Fields: []string{"plan", "period"}},
			{Name: "plan_rep", Fields: []string{"plan", "rep"}},
		}},
		store.Collection{Name: collDisputes, Indexes: []store.Index{
			{Name: "status_rep", Fields: []string{"status", "rep"}},
			{Name: "statement", Fields: []string{"statement"}},
		}},
	)
}

// Jobs returns the job service runs are started with.
func (s *Service) Jobs() *jobs.Service { return s.jobs }

// List returns every plan's working copy.
func (s *Service) List(ctx context.Context, db store.DB) ([]config.Doc, error) {
	return s.docs.List(ctx, db)
}

// Get returns a plan's working copy.
func (s *Service) Get(ctx context.Context, db store.DB, key string) (config.Doc, error) {
	return s.docs.Get(ctx, db, key)
}

// Save validates def in full (calc.Compile) and stores it as the draft.
func (s *Service) Save(ctx context.Context, db store.DB, tenant, actor, key string, def map[string]any, ifVersion int64) (config.Doc, error) {
	return s.docs.Save(ctx, db, tenant, actor, key, def, ifVersion)
}

// Publish turns the draft into the next immutable version.
func (s *Service) Publish(ctx context.Context, db store.DB, tenant, actor, key string) (config.Doc, error) {
	return s.docs.Publish(ctx, db, tenant, actor, key)
}

// Versions lists the published versions.
func (s *Service) Versions(ctx context.Context, db store.DB, key string) ([]config.VersionInfo, error) {
	return s.docs.Versions(ctx, db, key)
}

// Check validates a definition without saving it (the plan editor's live check).
func (s *Service) Check(ctx context.Context, db store.DB, tenant string, def map[string]any) []apperr.FieldError {
	return s.validate(ctx, db, tenant, "", def)
}

// validate is the kind's check: the credited object must be published and
// the quota metric too; calc.Compile checks everything else.
func (s *Service) validate(ctx context.Context, db store.DB, tenant, key string, def map[string]any) []apperr.FieldError {
	_, fe := s.compile(ctx, db, tenant, key, 0, def)
	return fe
}

// compile compiles a definition against the published version of its
// credited object. version 0 is a draft (never cached).
func (s *Service) compile(ctx context.Context, db store.DB, tenant, key string, version int64, def map[string]any) (*Plan, []apperr.FieldError) {
	var fe []apperr.FieldError
	credits, _ := def["credits"].(map[string]any)
	objKey, _ := credits["object"].(string)
	var obj *objects.Compiled
	if objKey != "" {
		o, err := s.objs.Published(ctx, db, tenant, objKey)
		if err != nil {
			fe = append(fe, apperr.FieldError{Pointer: "/credits/object", Code: "unknown_object", Message: fmt.Sprintf("%q is not a published object", objKey)})
		} else {
			obj = o
		}
	}
	if q, _ := def["quota"].(map[string]any); q != nil {
		if m, _ := q["metric"].(string); m != "" && tenant != "" {
			if _, err := s.tracker.Metric(ctx, db, tenant, m); err != nil {
				fe = append(fe, apperr.FieldError{Pointer: "/quota/metric", Code: "unknown_metric", Message: fmt.Sprintf("%q is not a published metric", m)})
			}
		}
	}
	if obj == nil {
		if objKey == "" {
			fe = append(fe, apperr.FieldError{Pointer: "/credits/object", Code: "required", Message: "name the object whose records are credited"})
		}
		return nil, fe
	}
	cp, cfe := calc.Compile(s.rules, tenant, key, version, def, obj)
	fe = append(fe, cfe...)
	if len(fe) > 0 {
		return nil, fe
	}
	return &Plan{Plan: cp, Obj: obj}, nil
}

// Plan is a compiled plan version (calc.Plan: its facts — grain, quota,
// assignment, effective dates, credited object — are read from there) and
// the object version it was compiled against.
type Plan struct {
	*calc.Plan
	Obj *objects.Compiled
}

// cumulative reports whether some rule's bands run over the whole quota
// window (marginal on quota or amount), so earlier periods' credits count.
func (p *Plan) cumulative() bool {
	for _, r := range p.Rules {
		if r.Kind == calc.RateMarginal && r.Basis != calc.BasisLine {
			return true
		}
	}
	return false
}

// version returns a published version, compiled (cached by the plan's and
// its object's versions).
func (s *Service) version(ctx context.Context, db store.DB, tenant, key string, v int64) (*Plan, error) {
	def, err := s.docs.Version(ctx, db, key, v)
	if err != nil {
		return nil, err
	}
	credits, _ := def["credits"].(map[string]any)
	objKey, _ := credits["object"].(string)
	obj, err := s.objs.Published(ctx, db, tenant, objKey)
	if err != nil {
		return nil, apperr.New(apperr.KindInvalid, "plan_broken", "commission plan %s v%d credits object %q, which is not published", key, v, objKey)
	}
	ck := compiledKey{tenant, key, v, obj.Version}
	if p, ok := s.cache.Load(ck); ok {
		return p.(*Plan), nil
	}
	p, fe := s.compile(ctx, db, tenant, key, v, def)
	if len(fe) > 0 {
		return nil, apperr.New(apperr.KindInvalid, "plan_broken",
			"published commission plan %s v%d no longer fits its object or metric (%s: %s); fix and republish it", key, v, fe[0].Pointer, fe[0].Message)
	}
	s.cache.Store(ck, p)
	return p, nil
}

// inForce returns the published version of key in force for the period:
// the highest version whose effective dates overlap it.
func (s *Service) inForce(ctx context.Context, db store.DB, tenant, key string, per period.Period) (*Plan, error) {
	if _, err := s.docs.PublishedVersion(ctx, db, key); err != nil {
		return nil, err
	}
	vs, err := s.docs.Versions(ctx, db, key)
	if err != nil {
		return nil, err
	}
	first, last := period.FormatDate(per.Start), lastDay(per)
	for i := len(vs) - 1; i >= 0; i-- {
		def, err := s.docs.Version(ctx, db, key, vs[i].Version)
		if err != nil {
			return nil, err
		}
		from, _ := def["effectiveFrom"].(string)
		to, _ := def["effectiveTo"].(string)
		if (from == "" || from <= last) && (to == "" || to >= first) {
			return s.version(ctx, db, tenant, key, vs[i].Version)
		}
	}
	return nil, apperr.New(apperr.KindInvalid, "plan_not_in_force", "no published version of commission plan %s is in force in %s", key, per.Key).
		With("period", per.Key)
}

// draft compiles the working copy (for simulation).
func (s *Service) draft(ctx context.Context, db store.DB, tenant, key string) (*Plan, error) {
	d, err := s.docs.Get(ctx, db, key)
	if err != nil {
		return nil, err
	}
	p, fe := s.compile(ctx, db, tenant, key, 0, d.Definition)
	if len(fe) > 0 {
		return nil, apperr.Invalid("the draft does not compile; fix it and save again", fe...)
	}
	return p, nil
}

// calendar returns the tenant's calendar.
func (s *Service) calendar(ctx context.Context, tenantName string) (period.Calendar, error) {
	t, err := s.tenants.Get(ctx, tenantName)
	if err != nil {
		return period.Calendar{}, err
	}
	return t.Calendar(), nil
}

// statementPeriod parses a period key that must be one of the plan's
// statement periods.
func statementPeriod(cal period.Calendar, p *Plan, key string) (period.Period, error) {
	per, err := cal.Parse(key)
	if err != nil {
		return period.Period{}, apperr.Invalid("bad period", apperr.FieldError{Pointer: "/period", Code: "format",
			Message: "a period key such as 2026-03, 2026-Q1 or 2026"})
	}
	if per.Grain != p.Grain {
		return period.Period{}, apperr.Invalid("the plan pays per "+string(p.Grain), apperr.FieldError{Pointer: "/period", Code: "grain",
			Message: fmt.Sprintf("plan %s pays per %s: use a %s key, not %s", p.Key, p.Grain, p.Grain, key)})
	}
	return per, nil
}

func lastDay(p period.Period) string { return period.FormatDate(p.End.Add(-time.Nanosecond)) }

func isNotFound(err error) bool {
	if errors.Is(err, store.ErrNotFound) {
		return true
	}
	ae, ok := apperr.As(err)
	return ok && ae.Kind == apperr.KindNotFound
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// statementID is the deterministic id of a plan × period × rep statement.
func statementID(plan, per, rep string) string { return plan + ":" + per + ":" + rep }

// parseStatementID splits a statement id.
func parseStatementID(id string) (plan, per, rep string, ok bool) {
	parts := strings.SplitN(id, ":", 3)
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}
