// Package templates ships a whole configuration as one document — a
// template bundle (schemas/template.schema.json) — and applies, exports and
// diffs it against a tenant (issue 5).
//
// # Apply
//
// Apply validates everything before writing anything: the bundle against
// its schema, every definition against its kind's schema, then the whole
// bundle is applied to a scratch tenant by the real services (so formulas,
// field references and allocations are checked exactly as a real apply
// checks them) and the scratch tenant is dropped. Only then is the target
// tenant is written, kind by kind in dependency order (objects, pipelines,
// metrics, target plans, commission plans, scorecards), each definition
// saved and published through its service, so every change is a new
// version with history.
//
// Commission plans and scorecards name who they apply to by role (a
// template cannot know a tenant's team or user ids): their assign and
// population teams/users are the tenant's to fill in after install.
//
// Per definition, apply compares three things: what the tenant has now,
// what this template last installed (recorded in tpl_applied as a hash),
// and what the bundle brings. Equal to the bundle: unchanged (applying
// twice changes nothing). Unchanged since the template installed it:
// upgraded in place. Edited locally and different from the bundle: a
// conflict, reported and left alone unless Force is set.
package templates

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/commission"
	"stride/engine/config"
	"stride/engine/forms"
	"stride/engine/ids"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/pipeline"
	"stride/engine/scorecard"
	"stride/engine/store"
	"stride/engine/targets"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// Format is the bundle format this package reads and writes.
const Format = "stride.template/v1"

const collApplied = "tpl_applied" // {_id: kind:key, template, version, hash, at}

// Collections are the tenant collections this package owns.
func Collections() []store.Collection {
	return []store.Collection{{Name: collApplied}}
}

// Bundle is a decoded template bundle. Kinds are kept as decoded JSON so a
// bundle round-trips whatever its definitions hold.
type Bundle struct {
	Bundle      string           `json:"bundle"`
	Metadata    Metadata         `json:"metadata"`
	Objects     []map[string]any `json:"objects,omitempty"`
	Pipelines   []map[string]any `json:"pipelines,omitempty"`
	Metrics     []map[string]any `json:"metrics,omitempty"`
	TargetPlans []PlanSkeleton   `json:"targetPlans,omitempty"`
	// Commission plans (engine/commission) and scorecards
	// (engine/scorecard), applied like the kinds above.
	CommissionPlans []map[string]any `json:"commissionPlans,omitempty"`
	Scorecards      []map[string]any `json:"scorecards,omitempty"`
	// Kinds later issues add; kept and exported as they are.
	Reports    []map[string]any `json:"reports,omitempty"`
	Dashboards []map[string]any `json:"dashboards,omitempty"`
	Alerts     []map[string]any `json:"alerts,omitempty"`
	Plugins    []map[string]any `json:"plugins,omitempty"`
	Org        map[string]any   `json:"org,omitempty"`
	Demo       map[string]any   `json:"demo,omitempty"`
}

// Metadata names a template.
type Metadata struct {
	Name        string            `json:"name"`
	Industry    string            `json:"industry,omitempty"`
	Locale      string            `json:"locale,omitempty"`
	Version     string            `json:"version"`
	Label       map[string]string `json:"label"`
	Description map[string]string `json:"description,omitempty"`
}

// PlanSkeleton is a target plan without its year and per-node settings.
type PlanSkeleton struct {
	Key        string         `json:"key"`
	YearOffset int            `json:"yearOffset,omitempty"`
	Definition map[string]any `json:"definition"`
}

// Kinds in apply order.
const (
	KindObject     = "object"
	KindPipeline   = "pipeline"
	KindMetric     = "metric"
	KindPlan       = "target_plan"
	KindCommission = commission.Kind
	KindScorecard  = "scorecard"
)

// Parse decodes and validates a bundle: its schema and each definition's.
func Parse(b []byte) (*Bundle, error) {
	var raw any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, apperr.Invalid("the bundle is not JSON", apperr.FieldError{Code: "json", Message: err.Error()})
	}
	raw = plain(raw)
	var fe []apperr.FieldError
	for _, e := range forms.ValidateConfig("template", raw) {
		fe = append(fe, apperr.FieldError{Pointer: e.Pointer, Code: e.Code, Message: e.Message})
	}
	if len(fe) > 0 {
		return nil, apperr.Invalid(fmt.Sprintf("the bundle has %d problem(s)", len(fe)), fe...)
	}
	var bd Bundle
	if err := json.Unmarshal(b, &bd); err != nil {
		return nil, apperr.Invalid("the bundle does not decode", apperr.FieldError{Code: "json", Message: err.Error()})
	}
	check := func(kind, section string, defs []map[string]any) {
		seen := map[string]bool{}
		for i, d := range defs {
			d = plain(d).(map[string]any)
			defs[i] = d
			key, _ := d["key"].(string)
			ptr := fmt.Sprintf("/%s/%d", section, i)
			if seen[key] {
				fe = append(fe, apperr.FieldError{Pointer: ptr + "/key", Code: "duplicate", Message: fmt.Sprintf("%s %q appears twice", kind, key)})
			}
			seen[key] = true
			for _, e := range forms.ValidateConfig(kind, d) {
				fe = append(fe, apperr.FieldError{Pointer: ptr + e.Pointer, Code: e.Code, Message: e.Message})
			}
		}
	}
	check(KindObject, "objects", bd.Objects)
	check(KindPipeline, "pipelines", bd.Pipelines)
	check(KindMetric, "metrics", bd.Metrics)
	check(KindCommission, "commissionPlans", bd.CommissionPlans)
	check(KindScorecard, "scorecards", bd.Scorecards)
	for i, p := range bd.TargetPlans {
		p.Definition = plain(p.Definition).(map[string]any)
		bd.TargetPlans[i] = p
		if _, ok := p.Definition["fiscalYear"]; ok {
			fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("/targetPlans/%d/definition/fiscalYear", i), Code: "not_allowed",
				Message: "a skeleton has no year: it is set on apply (the current fiscal year plus yearOffset)"})
		}
		if _, ok := p.Definition["nodes"]; ok {
			fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("/targetPlans/%d/definition/nodes", i), Code: "not_allowed",
				Message: "node settings belong to a tenant's org; a skeleton has none"})
		}
		d := cloneMap(p.Definition)
		d["fiscalYear"] = int64(2026)
		d["key"] = p.Key
		for _, e := range forms.ValidateConfig(KindPlan, d) {
			fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("/targetPlans/%d/definition", i) + e.Pointer, Code: e.Code, Message: e.Message})
		}
	}
	if len(fe) > 0 {
		return nil, apperr.Invalid(fmt.Sprintf("the bundle has %d problem(s)", len(fe)), fe...)
	}
	return &bd, nil
}

// Load reads a bundle from a file, or from a directory's template.json.
func Load(path string) (*Bundle, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, "template.json")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	return Parse(b)
}

// LoadFS reads <name>/template.json from an embedded examples tree.
func LoadFS(fsys fs.FS, name string) (*Bundle, error) {
	b, err := fs.ReadFile(fsys, name+"/template.json")
	if err != nil {
		return nil, apperr.NotFound("no template %q", name)
	}
	return Parse(b)
}

// plain turns json.Number into int64 (integral) or float64, as the stores
// return numbers, so hashes and comparisons see one form.
func plain(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

func cloneMap(m map[string]any) map[string]any {
	return plain(roundTrip(m)).(map[string]any)
}

func roundTrip(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

// hash is a stable digest of a definition (keys sorted, numbers in one form).
func hash(def map[string]any) string {
	b, _ := json.Marshal(plain(roundTrip(def)))
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:12])
}

// Service applies, exports and diffs bundles.
type Service struct {
	Tenants   *tenant.Registry
	Objects   *objects.Service
	Pipelines *pipeline.Service
	Tracker   *tracking.Tracker
	Targets   *targets.Service
	// Commission and Scorecards may be nil: a bundle with commission plans
	// or scorecards is then refused.
	Commission *commission.Service
	Scorecards *scorecard.Service
	// Now is the clock of the fiscal year skeletons are applied to.
	Now func() time.Time
}

// kind adapts one configuration kind's service.
type kind struct {
	name    string
	section string
	get     func(ctx context.Context, db store.DB, key string) (def map[string]any, status string, err error)
	list    func(ctx context.Context, db store.DB) ([]string, error)
	save    func(ctx context.Context, db store.DB, tenantName, key string, def map[string]any) error
	publish func(ctx context.Context, db store.DB, tenantName, key, reason string) error
}

func configKind(name, section string, get func(context.Context, store.DB, string) (config.Doc, error), list func(context.Context, store.DB) ([]config.Doc, error),
	save func(context.Context, store.DB, string, string, string, map[string]any, int64) (config.Doc, error),
	publish func(context.Context, store.DB, string, string, string) (config.Doc, error)) kind {
	return kind{name: name, section: section,
		get: func(ctx context.Context, db store.DB, key string) (map[string]any, string, error) {
			d, err := get(ctx, db, key)
			if err != nil {
				return nil, "", err
			}
			return d.Definition, d.Status, nil
		},
		list: func(ctx context.Context, db store.DB) ([]string, error) {
			ds, err := list(ctx, db)
			var out []string
			for _, d := range ds {
				if d.PublishedVersion > 0 {
					out = append(out, d.Key)
				}
			}
			return out, err
		},
		save: func(ctx context.Context, db store.DB, tenantName, key string, def map[string]any) error {
			_, err := save(ctx, db, tenantName, actor, key, def, 0)
			return err
		},
		publish: func(ctx context.Context, db store.DB, tenantName, key, _ string) error {
			_, err := publish(ctx, db, tenantName, actor, key)
			return err
		},
	}
}

// actor is who template changes are recorded as.
const actor = "template"

// The indexes of kinds() (apply order).
const (
	kObject = iota
	kPipeline
	kMetric
	kPlan
	kCommission
	kScorecard
)

func (s *Service) kinds() []kind {
	missing := func(name, section string) kind {
		err := func() error {
			return apperr.Invalid(fmt.Sprintf("this server cannot install %s", section), apperr.FieldError{Pointer: "", Code: "unsupported_kind",
				Message: fmt.Sprintf("no %s service is wired", name)})
		}
		return kind{name: name, section: section,
			get: func(context.Context, store.DB, string) (map[string]any, string, error) {
				return nil, "", apperr.NotFound("no %s", name)
			},
			list:    func(context.Context, store.DB) ([]string, error) { return nil, nil },
			save:    func(context.Context, store.DB, string, string, map[string]any) error { return err() },
			publish: func(context.Context, store.DB, string, string, string) error { return err() },
		}
	}
	cm, sc := missing(KindCommission, "commissionPlans"), missing(KindScorecard, "scorecards")
	if s.Commission != nil {
		cm = configKind(KindCommission, "commissionPlans", s.Commission.Get, s.Commission.List, s.Commission.Save, s.Commission.Publish)
	}
	if s.Scorecards != nil {
		sc = configKind(KindScorecard, "scorecards", s.Scorecards.Get, s.Scorecards.List, s.Scorecards.Save, s.Scorecards.Publish)
	}
	return []kind{
		configKind(KindObject, "objects", s.Objects.Get, s.Objects.List, s.Objects.Save, s.Objects.Publish),
		configKind(KindPipeline, "pipelines", s.Pipelines.Get, s.Pipelines.List, s.Pipelines.Save, s.Pipelines.Publish),
		configKind(KindMetric, "metrics", s.Tracker.Definitions().Get, s.Tracker.Definitions().List, s.Tracker.Save, s.Tracker.Publish),
		{name: KindPlan, section: "targetPlans",
			get: func(ctx context.Context, db store.DB, key string) (map[string]any, string, error) {
				p, err := s.Targets.Get(ctx, db, key)
				if err != nil {
					return nil, "", err
				}
				return p.Definition, p.Status, nil
			},
			list: func(ctx context.Context, db store.DB) ([]string, error) {
				ps, err := s.Targets.List(ctx, db)
				var out []string
				for _, p := range ps {
					out = append(out, p.Key)
				}
				return out, err
			},
			save: func(ctx context.Context, db store.DB, tenantName, key string, def map[string]any) error {
				_, err := s.Targets.Save(ctx, db, tenantName, actor, key, def, 0)
				return err
			},
			publish: func(ctx context.Context, db store.DB, tenantName, key, reason string) error {
				_, err := s.Targets.Publish(ctx, db, tenantName, actor, key, reason)
				return err
			},
		},
		cm,
		sc,
	}
}

// entry is one definition of a bundle, ready to apply to a tenant.
type entry struct {
	kind kind
	key  string
	def  map[string]any
	ptr  string
}

// entries lists the bundle's definitions in apply order; skeletons get the
// tenant's current fiscal year plus their offset.
func (s *Service) entries(ctx context.Context, tenantName string, b *Bundle) ([]entry, error) {
	ks := s.kinds()
	var out []entry
	add := func(k kind, defs []map[string]any) {
		for i, d := range defs {
			key, _ := d["key"].(string)
			out = append(out, entry{kind: k, key: key, def: cloneMap(d), ptr: fmt.Sprintf("/%s/%d", k.section, i)})
		}
	}
	add(ks[kObject], b.Objects)
	add(ks[kPipeline], b.Pipelines)
	add(ks[kMetric], b.Metrics)
	if len(b.TargetPlans) > 0 {
		t, err := s.Tenants.Get(ctx, tenantName)
		if err != nil {
			return nil, err
		}
		cal := t.Calendar()
		fy := cal.Of(s.now(), period.Year).Key
		var year int
		fmt.Sscan(fy, &year)
		for i, p := range b.TargetPlans {
			d := cloneMap(p.Definition)
			d["key"] = p.Key
			d["fiscalYear"] = int64(year + p.YearOffset)
			out = append(out, entry{kind: ks[kPlan], key: p.Key, def: d, ptr: fmt.Sprintf("/targetPlans/%d/definition", i)})
		}
	}
	// Commission plans and scorecards read objects and metrics (published
	// above); nothing reads them.
	add(ks[kCommission], b.CommissionPlans)
	add(ks[kScorecard], b.Scorecards)
	return out, nil
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Options tune Apply.
type Options struct {
	// DryRun validates and reports what would change, writing nothing.
	DryRun bool
	// Force overwrites local edits that conflict with the bundle.
	Force bool
	// PublishPlans publishes target plans (by default they stay drafts: a
	// plan is allocated over the tenant's org, which a template does not
	// bring).
	PublishPlans bool
}

// Change is what apply did (or would do) to one definition.
type Change struct {
	Kind   string `json:"kind"`
	Key    string `json:"key"`
	Action string `json:"action"` // create, upgrade, unchanged, conflict, overwrite
	Reason string `json:"reason,omitempty"`
}

// Report is the outcome of an apply.
type Report struct {
	Template string   `json:"template"`
	Version  string   `json:"version"`
	Tenant   string   `json:"tenant"`
	DryRun   bool     `json:"dryRun"`
	Changes  []Change `json:"changes"`
	// Conflicts counts the definitions left alone because of local edits.
	Conflicts int `json:"conflicts"`
}

// Apply installs a bundle into a tenant (see the package documentation).
func (s *Service) Apply(ctx context.Context, tenantName string, b *Bundle, opt Options) (*Report, error) {
	db, err := s.Tenants.DB(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	es, err := s.entries(ctx, tenantName, b)
	if err != nil {
		return nil, err
	}
	if err := s.validate(ctx, tenantName, b); err != nil {
		return nil, err
	}
	rep := &Report{Template: b.Metadata.Name, Version: b.Metadata.Version, Tenant: tenantName, DryRun: opt.DryRun, Changes: []Change{}}
	type todo struct {
		e      entry
		action string
	}
	var plan []todo
	for _, e := range es {
		action, reason, err := s.classify(ctx, db, e, b.Metadata.Name)
		if err != nil {
			return nil, err
		}
		if action == "conflict" && opt.Force {
			action, reason = "overwrite", "local edits overwritten (force)"
		}
		rep.Changes = append(rep.Changes, Change{Kind: e.kind.name, Key: e.key, Action: action, Reason: reason})
		if action == "conflict" {
			rep.Conflicts++
			continue
		}
		if action != "unchanged" {
			plan = append(plan, todo{e, action})
		}
	}
	if opt.DryRun {
		return rep, nil
	}
	reason := fmt.Sprintf("模板 %s %s / template %s %s", b.Metadata.Name, b.Metadata.Version, b.Metadata.Name, b.Metadata.Version)
	for _, t := range plan {
		e := t.e
		def := cloneMap(e.def)
		if e.kind.name == KindPlan && t.action != "create" {
			if cur, _, err := e.kind.get(ctx, db, e.key); err == nil {
				for _, k := range []string{"nodes", "respread"} {
					if v, ok := cur[k]; ok {
						def[k] = v
					}
				}
			}
		}
		if err := e.kind.save(ctx, db, tenantName, e.key, def); err != nil {
			return rep, fmt.Errorf("%s %s: %w", e.kind.name, e.key, err)
		}
		if e.kind.name != KindPlan || opt.PublishPlans {
			if err := e.kind.publish(ctx, db, tenantName, e.key, reason); err != nil {
				return rep, fmt.Errorf("publish %s %s: %w", e.kind.name, e.key, err)
			}
		}
		cur, _, err := e.kind.get(ctx, db, e.key)
		if err != nil {
			return rep, err
		}
		if err := s.record(ctx, db, e, b.Metadata, hash(s.normalise(e, cur))); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// classify decides what applying e does to the tenant.
func (s *Service) classify(ctx context.Context, db store.DB, e entry, template string) (action, reason string, err error) {
	cur, status, err := e.kind.get(ctx, db, e.key)
	if isNotFound(err) {
		return "create", "", nil
	}
	if err != nil {
		return "", "", err
	}
	want := s.normalise(e, e.def)
	have := s.normalise(e, cur)
	if hash(want) == hash(have) && (status == config.StatusPublished || e.kind.name == KindPlan) {
		return "unchanged", "", nil
	}
	rec, err := db.Get(ctx, collApplied, e.kind.name+":"+e.key)
	if errors.Is(err, store.ErrNotFound) {
		return "conflict", "exists in the tenant and was not installed by a template", nil
	}
	if err != nil {
		return "", "", err
	}
	if h, _ := rec["hash"].(string); h != hash(have) {
		by, _ := rec["template"].(string)
		return "conflict", fmt.Sprintf("edited in the tenant since template %s installed it", by), nil
	}
	return "upgrade", "", nil
}

// normalise is the form two definitions are compared in: the key set, and
// target plans through their own decoding (which drops empty settings).
//
// A plan's per-node settings (locks, inputs) and re-spreads are the
// tenant's own, never the template's: they are left out of the comparison
// and kept on upgrade.
func (s *Service) normalise(e entry, def map[string]any) map[string]any {
	d := cloneMap(def)
	d["key"] = e.key
	if e.kind.name == KindPlan {
		d = cloneMap(targets.Normalize(d))
		delete(d, "nodes")
		delete(d, "respread")
	}
	return d
}

func (s *Service) record(ctx context.Context, db store.DB, e entry, m Metadata, h string) error {
	id := e.kind.name + ":" + e.key
	doc := store.Doc{store.KeyID: id, "template": m.Name, "version": m.Version, "hash": h, "at": period.FormatInstant(s.now())}
	cur, err := db.Get(ctx, collApplied, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		_, err = db.Insert(ctx, collApplied, doc)
	case err == nil:
		_, err = db.Replace(ctx, collApplied, doc, store.Version(cur))
	}
	if err != nil {
		return fmt.Errorf("record template install of %s: %w", id, err)
	}
	return nil
}

func isNotFound(err error) bool {
	ae, ok := apperr.As(err)
	return ok && ae.Kind == apperr.KindNotFound
}

// validate applies the bundle to a scratch tenant with the real services,
// then drops it: every error is the one a real apply would meet, found
// before the real tenant is touched. Error pointers are into the bundle.
func (s *Service) validate(ctx context.Context, tenantName string, b *Bundle) error {
	src, err := s.Tenants.Get(ctx, tenantName)
	if err != nil {
		return err
	}
	name := "tplchk_" + strings.ToLower(ids.Secret(8))
	name = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			return r
		}
		return 'x'
	}, name)
	db, err := s.Tenants.Create(ctx, tenant.Tenant{Name: name, DisplayName: "template check", TimeZone: src.TimeZone, FiscalStartMonth: src.FiscalStartMonth})
	if err != nil {
		return fmt.Errorf("scratch tenant: %w", err)
	}
	defer func() { _ = s.Tenants.Drop(context.WithoutCancel(ctx), name) }()
	// The scratch starts as the tenant is (its objects, pipelines and
	// metrics), so the bundle is checked against what it will meet: a
	// metric of the bundle may count an object the tenant already has.
	if err := s.copyConfig(ctx, tenantName, name, db); err != nil {
		return fmt.Errorf("prepare the scratch tenant: %w", err)
	}
	es, err := s.entries(ctx, name, b)
	if err != nil {
		return err
	}
	var fe []apperr.FieldError
	for _, e := range es {
		err := e.kind.save(ctx, db, name, e.key, cloneMap(e.def))
		if err == nil && e.kind.name != KindPlan {
			err = e.kind.publish(ctx, db, name, e.key, "check")
		}
		if err == nil {
			continue
		}
		ae, ok := apperr.As(err)
		if !ok {
			return err
		}
		if len(ae.Fields) == 0 {
			fe = append(fe, apperr.FieldError{Pointer: e.ptr, Code: ae.Code, Message: ae.Message})
		}
		for _, f := range ae.Fields {
			f.Pointer = e.ptr + f.Pointer
			fe = append(fe, f)
		}
	}
	if len(fe) > 0 {
		return apperr.Invalid(fmt.Sprintf("the bundle has %d problem(s); nothing was applied", len(fe)), fe...)
	}
	return nil
}

// copyConfig saves and publishes the source tenant's objects, pipelines and
// metrics into the scratch database (target plans are not needed: nothing
// refers to them).
func (s *Service) copyConfig(ctx context.Context, from, to string, toDB store.DB) error {
	src, err := s.Tenants.DB(ctx, from)
	if err != nil {
		return err
	}
	for _, k := range s.kinds()[:kPlan] {
		keys, err := k.list(ctx, src)
		if err != nil {
			return err
		}
		sort.Strings(keys)
		// Derived metrics need their inputs published first, and keys do
		// not follow that order: retry what failed while anything succeeds.
		for len(keys) > 0 {
			var failed []string
			var last error
			for _, key := range keys {
				def, _, err := k.get(ctx, src, key)
				if err != nil {
					return err
				}
				if err := k.save(ctx, toDB, to, key, cloneMap(def)); err != nil {
					failed, last = append(failed, key), fmt.Errorf("%s %s: %w", k.name, key, err)
					continue
				}
				if err := k.publish(ctx, toDB, to, key, "copy"); err != nil {
					failed, last = append(failed, key), fmt.Errorf("%s %s: %w", k.name, key, err)
				}
			}
			if len(failed) == len(keys) {
				return last
			}
			keys = failed
		}
	}
	return nil
}

// Export writes a tenant's published configuration as a bundle: objects,
// pipelines, metrics, commission plans and scorecards as published, target
// plans as skeletons (no year, no node settings).
func (s *Service) Export(ctx context.Context, tenantName string, m Metadata) (*Bundle, error) {
	db, err := s.Tenants.DB(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	b := &Bundle{Bundle: Format, Metadata: m}
	if b.Metadata.Name == "" {
		b.Metadata.Name = tenantName
	}
	if b.Metadata.Version == "" {
		b.Metadata.Version = "1.0.0"
	}
	if len(b.Metadata.Label) == 0 {
		b.Metadata.Label = map[string]string{"zh-CN": tenantName, "en": tenantName}
	}
	t, err := s.Tenants.Get(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	var year int
	fmt.Sscan(t.Calendar().Of(s.now(), period.Year).Key, &year)
	for _, k := range s.kinds() {
		keys, err := k.list(ctx, db)
		if err != nil {
			return nil, err
		}
		sort.Strings(keys)
		for _, key := range keys {
			def, _, err := k.get(ctx, db, key)
			if err != nil {
				return nil, err
			}
			def = cloneMap(def)
			def["key"] = key
			switch k.name {
			case KindObject:
				b.Objects = append(b.Objects, def)
			case KindPipeline:
				b.Pipelines = append(b.Pipelines, def)
			case KindMetric:
				b.Metrics = append(b.Metrics, def)
			case KindCommission:
				b.CommissionPlans = append(b.CommissionPlans, def)
			case KindScorecard:
				b.Scorecards = append(b.Scorecards, def)
			case KindPlan:
				fy := int(asInt(def["fiscalYear"]))
				delete(def, "fiscalYear")
				delete(def, "nodes")
				delete(def, "respread")
				delete(def, "key")
				b.TargetPlans = append(b.TargetPlans, PlanSkeleton{Key: key, YearOffset: fy - year, Definition: def})
			}
		}
	}
	return b, nil
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case int:
		return int64(x)
	}
	return 0
}

// DiffEntry is one definition that differs between a bundle and a tenant.
type DiffEntry struct {
	Kind    string           `json:"kind"`
	Key     string           `json:"key"`
	Status  string           `json:"status"` // added (in the bundle only), removed (in the tenant only), changed
	Changes []targets.Change `json:"changes,omitempty"`
}

// Diff compares a bundle with a tenant's configuration, definition by
// definition, field by field (JSON Pointers).
func (s *Service) Diff(ctx context.Context, tenantName string, b *Bundle) ([]DiffEntry, error) {
	db, err := s.Tenants.DB(ctx, tenantName)
	if err != nil {
		return nil, err
	}
	es, err := s.entries(ctx, tenantName, b)
	if err != nil {
		return nil, err
	}
	out := []DiffEntry{}
	inBundle := map[string]bool{}
	for _, e := range es {
		inBundle[e.kind.name+":"+e.key] = true
		cur, _, err := e.kind.get(ctx, db, e.key)
		if isNotFound(err) {
			out = append(out, DiffEntry{Kind: e.kind.name, Key: e.key, Status: "added"})
			continue
		}
		if err != nil {
			return nil, err
		}
		want, have := s.normalise(e, e.def), s.normalise(e, cur)
		var ch []targets.Change
		targets.DiffValues("", have, want, &ch)
		if len(ch) > 0 {
			out = append(out, DiffEntry{Kind: e.kind.name, Key: e.key, Status: "changed", Changes: ch})
		}
	}
	for _, k := range s.kinds() {
		keys, err := k.list(ctx, db)
		if err != nil {
			return nil, err
		}
		sort.Strings(keys)
		for _, key := range keys {
			if !inBundle[k.name+":"+key] {
				out = append(out, DiffEntry{Kind: k.name, Key: key, Status: "removed"})
			}
		}
	}
	return out, nil
}

// Names lists the templates of an examples tree (directories holding a
// template.json), sorted.
func Names(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if _, err := fs.Stat(fsys, e.Name()+"/template.json"); e.IsDir() && err == nil {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// Summary counts what a bundle contains, by section, for a gallery preview.
func (b *Bundle) Summary() map[string]any {
	keys := func(defs []map[string]any) []string {
		out := []string{}
		for _, d := range defs {
			k, _ := d["key"].(string)
			out = append(out, k)
		}
		return out
	}
	plans := []string{}
	for _, p := range b.TargetPlans {
		plans = append(plans, p.Key)
	}
	return map[string]any{"objects": keys(b.Objects), "pipelines": keys(b.Pipelines), "metrics": keys(b.Metrics), "targetPlans": plans,
		"commissionPlans": keys(b.CommissionPlans), "scorecards": keys(b.Scorecards)}
}
