// Package targets is the "target_plan" configuration kind and what it
// drives (DESIGN.md §6): an annual target for a metric decomposed top-down
// over the org tree (and optionally a record dimension) and over months,
// quarters and weeks, exactly and explainably, by engine/targets/alloc.
//
// # Versions
//
// A plan has a working copy (draft) and immutable published versions. Every
// published version stores its definition, author, time, reason and the
// full allocation of every level (one document per level and node in
// tgt_alloc), so progress, history and diffs read what was decided then,
// not a recomputation over today's data. Locks, accepted proposals and
// re-spreads are changes like any other: each publishes a new version.
//
// Writes are ordered so a crash is harmless without transactions: the
// allocation documents of version n are written first, then the version
// document, then the working copy is pointed at n; readers only follow the
// working copy, and a retried publish clears what a crashed one left.
package targets

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/period"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// Collections of a tenant database.
const (
	collPlans     = "tgt_plans"     // {_id: key, status, draft, publishedVersion, metric, fiscalYear, updatedAt, updatedBy}
	collVersions  = "tgt_versions"  // {_id: key@v, plan, version, definition, author, at, reason, totals, layouts}
	collAlloc     = "tgt_alloc"     // {_id: key@v|level|node, plan, version, level, node, alloc}
	collProposals = "tgt_proposals" // {_id: key|node, plan, node, amounts, by, at, note, status}
)

// Status of a plan's working copy.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

// Service manages target plans.
type Service struct {
	tracker *tracking.Tracker
	rules   *rules.Engine
	tenants *tenant.Registry
	// Now is the clock of versions, re-spreads and expected-to-date.
	Now func() time.Time

	mu      sync.Mutex
	inForce map[store.DB]inForceSet
}

type inForceSet struct {
	at    time.Time
	plans []planRef
}

type planRef struct {
	key        string
	metric     string
	fiscalYear int
	version    int64
}

// InForceTTL bounds how long a plan published by another instance may go
// unseen by progress.
var InForceTTL = 2 * time.Second

// New returns the target plan service.
func New(tr *tracking.Tracker, eng *rules.Engine, tenants *tenant.Registry) *Service {
	return &Service{tracker: tr, rules: eng, tenants: tenants, Now: time.Now, inForce: map[store.DB]inForceSet{}}
}

// Collections are the tenant collections this package owns.
func (s *Service) Collections() []store.Collection {
	return []store.Collection{
		{Name: collPlans, Indexes: []store.Index{{Name: "metric_year", Fields: []string{"metric", "fiscalYear"}}}},
		{Name: collVersions, Indexes: []store.Index{{Name: "plan_version", Fields: []string{"plan", "version"}, Unique: true}}},
		{Name: collAlloc, Indexes: []store.Index{{Name: "plan_version_level", Fields: []string{"plan", "version", "level"}}}},
		{Name: collProposals, Indexes: []store.Index{{Name: "plan", Fields: []string{"plan"}}}},
	}
}

// Plan is a plan's working copy and publication state.
type Plan struct {
	Key              string         `json:"key"`
	Label            map[string]any `json:"label,omitempty"`
	Version          int64          `json:"version"` // of the working copy, for If-Match
	Status           string         `json:"status"`
	PublishedVersion int64          `json:"publishedVersion"`
	Definition       map[string]any `json:"definition"`
	UpdatedAt        time.Time      `json:"updatedAt"`
	UpdatedBy        string         `json:"updatedBy"`
}

// VersionInfo describes one published version.
type VersionInfo struct {
	Plan       string           `json:"plan"`
	Version    int64            `json:"version"`
	Author     string           `json:"author"`
	At         time.Time        `json:"at"`
	Reason     string           `json:"reason"`
	Totals     map[string]int64 `json:"totals"`
	Definition map[string]any   `json:"definition,omitempty"`
}

func planFrom(d store.Doc) Plan {
	p := Plan{Key: store.ID(d), Version: store.Version(d), PublishedVersion: store.Int(d["publishedVersion"])}
	p.Status, _ = d["status"].(string)
	p.Definition, _ = d["draft"].(map[string]any)
	p.Label, _ = p.Definition["label"].(map[string]any)
	p.UpdatedBy, _ = d["updatedBy"].(string)
	if s, ok := d["updatedAt"].(string); ok {
		p.UpdatedAt, _ = period.ParseInstant(s)
	}
	return p
}

func versionFrom(d store.Doc) VersionInfo {
	v := VersionInfo{Version: store.Int(d["version"]), Totals: map[string]int64{}}
	v.Plan, _ = d["plan"].(string)
	v.Author, _ = d["author"].(string)
	v.Reason, _ = d["reason"].(string)
	v.Definition, _ = d["definition"].(map[string]any)
	if s, ok := d["at"].(string); ok {
		v.At, _ = period.ParseInstant(s)
	}
	if t, ok := d["totals"].(map[string]any); ok {
		for k, x := range t {
			v.Totals[k] = store.Int(x)
		}
	}
	return v
}

func versionID(key string, v int64) string { return key + "@" + strconv.FormatInt(v, 10) }

func allocID(key string, v int64, level, node string) string {
	return versionID(key, v) + "|" + level + "|" + node
}

// List returns every plan's working copy, by key.
func (s *Service) List(ctx context.Context, db store.DB) ([]Plan, error) {
	out := []Plan{}
	err := db.Scan(ctx, collPlans, store.Query{Sort: []store.SortKey{{Field: store.KeyID}}}, func(d store.Doc) error {
		out = append(out, planFrom(d))
		return nil
	})
	return out, err
}

// Get returns a plan's working copy.
func (s *Service) Get(ctx context.Context, db store.DB, key string) (Plan, error) {
	d, err := db.Get(ctx, collPlans, key)
	if errors.Is(err, store.ErrNotFound) {
		return Plan{}, apperr.NotFound("target plan %q does not exist", key)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("load target plan %s: %w", key, err)
	}
	return planFrom(d), nil
}

// Save validates def in full (schema, formulas type-checked, the metric, no
// other plan for the same metric and year, node keys, the allocation itself
// must succeed) and stores it as the draft. Nothing is written if anything
// is wrong. ifVersion 0 skips the optimistic check.
func (s *Service) Save(ctx context.Context, db store.DB, tenantName, actor, key string, def map[string]any, ifVersion int64) (Plan, error) {
	if k, ok := def["key"]; ok && k != key {
		return Plan{}, apperr.Invalid("the definition's key differs from the URL",
			apperr.FieldError{Pointer: "/key", Code: "const", Message: fmt.Sprintf("must be %q, as in the URL", key)})
	}
	def["key"] = key
	d, fe := s.validate(ctx, db, tenantName, key, def)
	if len(fe) > 0 {
		return Plan{}, apperr.Invalid(fmt.Sprintf("the target plan has %d problem(s)", len(fe)), fe...)
	}
	def = d.toMap()
	now := period.FormatInstant(s.Now())
	cur, err := db.Get(ctx, collPlans, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if ifVersion != 0 {
			return Plan{}, apperr.Conflict("version_conflict", "target plan %q does not exist yet", key)
		}
		doc := store.Doc{store.KeyID: key, "status": StatusDraft, "draft": def, "publishedVersion": int64(0),
			"metric": d.Metric, "fiscalYear": int64(d.FiscalYear), "updatedAt": now, "updatedBy": actor}
		v, err := db.Insert(ctx, collPlans, doc)
		if errors.Is(err, store.ErrDuplicate) {
			return Plan{}, apperr.Conflict("version_conflict", "target plan %q was created concurrently; reload and retry", key)
		}
		if err != nil {
			return Plan{}, fmt.Errorf("create target plan %s: %w", key, err)
		}
		doc[store.KeyVersion] = v
		return planFrom(doc), audit.Append(ctx, db, actor, "target_plan.create", "target_plan:"+key, nil)
	case err != nil:
		return Plan{}, fmt.Errorf("load target plan %s: %w", key, err)
	}
	if ifVersion != 0 && store.Version(cur) != ifVersion {
		return Plan{}, apperr.Conflict("version_conflict", "the target plan was changed by someone else; reload it").With("current", store.Version(cur))
	}
	if store.Int(cur["publishedVersion"]) > 0 {
		// The metric and year identify the plan in force for progress; a
		// published plan keeps them.
		if m, _ := cur["metric"].(string); m != d.Metric {
			return Plan{}, apperr.Invalid("a published plan keeps its metric",
				apperr.FieldError{Pointer: "/metric", Code: "immutable", Message: fmt.Sprintf("must stay %q; create a new plan for another metric", m)})
		}
		if y := store.Int(cur["fiscalYear"]); y != int64(d.FiscalYear) {
			return Plan{}, apperr.Invalid("a published plan keeps its fiscal year",
				apperr.FieldError{Pointer: "/fiscalYear", Code: "immutable", Message: fmt.Sprintf("must stay %d; create a new plan for another year", y)})
		}
	}
	cur["draft"], cur["status"], cur["updatedAt"], cur["updatedBy"] = def, StatusDraft, now, actor
	cur["metric"], cur["fiscalYear"] = d.Metric, int64(d.FiscalYear)
	v, err := db.Replace(ctx, collPlans, cur, store.Version(cur))
	if errors.Is(err, store.ErrConflict) {
		return Plan{}, apperr.Conflict("version_conflict", "the target plan was changed by someone else; reload it")
	}
	if err != nil {
		return Plan{}, fmt.Errorf("save target plan %s: %w", key, err)
	}
	cur[store.KeyVersion] = v
	return planFrom(cur), audit.Append(ctx, db, actor, "target_plan.save", "target_plan:"+key, nil)
}

// Check validates a definition without saving it (the editor's live check).
func (s *Service) Check(ctx context.Context, db store.DB, tenantName, key string, def map[string]any) []apperr.FieldError {
	_, fe := s.validate(ctx, db, tenantName, key, def)
	return fe
}

// validate is everything Save checks, the allocation included (a plan that
// cannot be allocated cannot be saved: the error names the node and numbers).
func (s *Service) validate(ctx context.Context, db store.DB, tenantName, key string, def map[string]any) (*Definition, []apperr.FieldError) {
	d, fe := decode(def)
	if len(fe) > 0 {
		return nil, fe
	}
	if fe := d.checkStatic(); len(fe) > 0 {
		return nil, fe
	}
	if _, err := s.tracker.Metric(ctx, db, tenantName, d.Metric); err != nil {
		return nil, []apperr.FieldError{{Pointer: "/metric", Code: "unknown_metric", Message: fmt.Sprintf("%q is not a published metric", d.Metric)}}
	}
	if fe := s.checkOverlap(ctx, db, key, d); len(fe) > 0 {
		return nil, fe
	}
	if _, err := s.allocate(ctx, db, tenantName, key, d); err != nil {
		if ae, ok := apperr.As(err); ok && ae.Kind == apperr.KindInvalid {
			return nil, ae.Fields
		}
		return nil, []apperr.FieldError{{Code: "allocation", Message: err.Error()}}
	}
	return d, nil
}

// checkOverlap refuses a second plan for the same metric and fiscal year.
func (s *Service) checkOverlap(ctx context.Context, db store.DB, key string, d *Definition) []apperr.FieldError {
	var other string
	err := db.Scan(ctx, collPlans, store.Query{Where: []store.Cond{
		{Field: "metric", Op: store.Eq, Value: d.Metric},
		{Field: "fiscalYear", Op: store.Eq, Value: int64(d.FiscalYear)},
	}}, func(doc store.Doc) error {
		if store.ID(doc) != key && other == "" {
			other = store.ID(doc)
		}
		return nil
	})
	if err != nil {
		return []apperr.FieldError{{Code: "internal", Message: err.Error()}}
	}
	if other != "" {
		return []apperr.FieldError{{Pointer: "/fiscalYear", Code: "overlapping_plan",
			Message: fmt.Sprintf("target plan %q already sets %s for fiscal year %d; change that plan instead", other, d.Metric, d.FiscalYear)}}
	}
	return nil
}

// Publish allocates the draft and stores it as the next version, with its
// reason. A draft already published is returned unchanged.
func (s *Service) Publish(ctx context.Context, db store.DB, tenantName, actor, key, reason string) (Plan, error) {
	cur, err := db.Get(ctx, collPlans, key)
	if errors.Is(err, store.ErrNotFound) {
		return Plan{}, apperr.NotFound("target plan %q does not exist", key)
	}
	if err != nil {
		return Plan{}, fmt.Errorf("load target plan %s: %w", key, err)
	}
	p := planFrom(cur)
	if p.Status == StatusPublished {
		return p, nil
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		if p.PublishedVersion > 0 {
			return Plan{}, apperr.Invalid("say why the plan changes",
				apperr.FieldError{Pointer: "/reason", Code: "required", Message: "every new version records a reason (e.g. 华东区新增两名销售)"})
		}
		reason = "首次发布 / initial version"
	}
	d, fe := s.validate(ctx, db, tenantName, key, p.Definition)
	if len(fe) > 0 {
		return Plan{}, apperr.Invalid("the draft no longer validates; fix it and save again", fe...)
	}
	a, err := s.allocate(ctx, db, tenantName, key, d)
	if err != nil {
		return Plan{}, err
	}
	next := p.PublishedVersion + 1
	if err := s.writeVersion(ctx, db, key, next, d, a, actor, reason); err != nil {
		return Plan{}, err
	}
	cur["status"], cur["publishedVersion"] = StatusPublished, next
	cur["updatedAt"], cur["updatedBy"] = period.FormatInstant(s.Now()), actor
	defer s.forget(db)
	v, err := db.Replace(ctx, collPlans, cur, store.Version(cur))
	if errors.Is(err, store.ErrConflict) {
		return Plan{}, apperr.Conflict("version_conflict", "the target plan was changed while publishing; reload and publish again")
	}
	if err != nil {
		return Plan{}, fmt.Errorf("publish target plan %s: %w", key, err)
	}
	cur[store.KeyVersion] = v
	return planFrom(cur), audit.Append(ctx, db, actor, "target_plan.publish", "target_plan:"+key,
		map[string]any{"version": next, "reason": reason})
}

// writeVersion stores a version's allocation documents, then the version.
func (s *Service) writeVersion(ctx context.Context, db store.DB, key string, v int64, d *Definition, a *Allocation, actor, reason string) error {
	if _, err := db.Get(ctx, collVersions, versionID(key, v)); err == nil {
		return apperr.Conflict("version_conflict", "version %d of target plan %q was published concurrently; reload", v, key)
	}
	// Clear what a crashed attempt at this version left.
	var stale []string
	err := db.Scan(ctx, collAlloc, store.Query{Where: []store.Cond{
		{Field: "plan", Op: store.Eq, Value: key}, {Field: "version", Op: store.Eq, Value: v}}}, func(doc store.Doc) error {
		stale = append(stale, store.ID(doc))
		return nil
	})
	if err != nil {
		return fmt.Errorf("target plan %s v%d: %w", key, v, err)
	}
	for _, id := range stale {
		if err := db.Delete(ctx, collAlloc, id, 0); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("target plan %s v%d: %w", key, v, err)
		}
	}
	totals, layouts := map[string]any{}, map[string]any{}
	for _, level := range d.levels() {
		r := a.Levels[level]
		docs := make([]store.Doc, 0, len(r.Order))
		for _, node := range r.Order {
			docs = append(docs, store.Doc{store.KeyID: allocID(key, v, level, node), "plan": key, "version": v,
				"level": level, "node": node, "alloc": toDoc(r.Nodes[node])})
		}
		for len(docs) > 0 {
			n := min(len(docs), 500)
			if _, err := db.InsertMany(ctx, collAlloc, docs[:n]); err != nil {
				return fmt.Errorf("store allocation of %s v%d: %w", key, v, err)
			}
			docs = docs[n:]
		}
		totals[level] = r.Nodes[r.Root].Annual
		h := *r
		h.Nodes, h.Order = nil, nil
		layouts[level] = toDoc(&h)
	}
	_, err = db.Insert(ctx, collVersions, store.Doc{store.KeyID: versionID(key, v), "plan": key, "version": v,
		"definition": d.toMap(), "author": actor, "at": period.FormatInstant(s.Now()), "reason": reason, "totals": totals, "layouts": layouts})
	if errors.Is(err, store.ErrDuplicate) {
		return apperr.Conflict("version_conflict", "version %d of target plan %q was published concurrently; reload", v, key)
	}
	if err != nil {
		return fmt.Errorf("store version %d of %s: %w", v, key, err)
	}
	return nil
}

// History lists the published versions, oldest first.
func (s *Service) History(ctx context.Context, db store.DB, key string) ([]VersionInfo, error) {
	if _, err := s.Get(ctx, db, key); err != nil {
		return nil, err
	}
	out := []VersionInfo{}
	err := db.Scan(ctx, collVersions, store.Query{Where: []store.Cond{{Field: "plan", Op: store.Eq, Value: key}},
		Sort: []store.SortKey{{Field: "version"}}}, func(d store.Doc) error {
		v := versionFrom(d)
		v.Definition = nil
		out = append(out, v)
		return nil
	})
	return out, err
}

// Version returns one published version with its definition.
func (s *Service) Version(ctx context.Context, db store.DB, key string, v int64) (VersionInfo, error) {
	d, err := db.Get(ctx, collVersions, versionID(key, v))
	if errors.Is(err, store.ErrNotFound) {
		return VersionInfo{}, apperr.NotFound("target plan %q has no version %d", key, v)
	}
	if err != nil {
		return VersionInfo{}, fmt.Errorf("load %s v%d: %w", key, v, err)
	}
	return versionFrom(d), nil
}

// forget drops the cached plans in force of db.
func (s *Service) forget(db store.DB) {
	s.mu.Lock()
	delete(s.inForce, db)
	s.mu.Unlock()
}

// plansInForce lists published plans (cached for InForceTTL).
func (s *Service) plansInForce(ctx context.Context, db store.DB) ([]planRef, error) {
	s.mu.Lock()
	set, ok := s.inForce[db]
	s.mu.Unlock()
	if ok && time.Since(set.at) < InForceTTL {
		return set.plans, nil
	}
	var out []planRef
	err := db.Scan(ctx, collPlans, store.Query{}, func(d store.Doc) error {
		if v := store.Int(d["publishedVersion"]); v > 0 {
			m, _ := d["metric"].(string)
			out = append(out, planRef{key: store.ID(d), metric: m, fiscalYear: int(store.Int(d["fiscalYear"])), version: v})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.inForce[db] = inForceSet{at: time.Now(), plans: out}
	s.mu.Unlock()
	return out, nil
}
