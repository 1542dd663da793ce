// Package reports is the "report" configuration kind (报表) and what it
// drives (DESIGN.md §3, §5, issue 7): configurable reports over an object's
// records, a metric's rollups, a pipeline's stage history or commission
// statement lines; the built-in reports every tenant has without
// configuration (attainment, leaderboard, trend, funnel, velocity, win rate,
// coverage, commission summary); period reviews (复盘) kept as snapshots;
// and streamed CSV/XLSX exports of reports and record lists.
//
// # How a report runs
//
// Filters on stored fields, the caller's visibility and the period are
// pushed down to the store as conditions (engine/store's AND-ed eq, in and
// range conditions, served by declared indexes: records declare
// (deleted, owner); a report whose period is a record field declares
// (deleted, data.<field>) on first run). The matching rows then stream
// through Go: each row updates the state of its group — counts, exact int64
// sums of money in minor units, float sums, min, max, distinct sets — and is
// dropped, so memory grows with the number of groups, never with the number
// of rows. The same code runs over every store, so both answer the same.
//
// # Visibility
//
// Every source is filtered by the caller's org visibility (engine/auth):
// a rep sees rows they own, a manager the rows of their subtrees, admins and
// finance everything. A node parameter (team:<id>, user:<id>) narrows the
// rows to the node's members on each row's date, the way progress credits
// them. Statements are not visible to integration tokens.
package reports

import (
	"context"
	"fmt"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/commission"
	"stride/engine/config"
	"stride/engine/objects"
	"stride/engine/pipeline"
	"stride/engine/progress"
	"stride/engine/records"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// Collections of a tenant database (besides the config kind's).
const (
	collReviews = "rp_reviews" // {_id, metric, period, node, at, by, result}
	// Collections of other packages a report reads (streamed directly: the
	// owning packages expose no streaming read). Keep in step with them.
	collRollups    = "trk_rollup"
	collStatements = "cm_statements"
)

// Service manages report definitions, runs them and the built-ins, keeps
// period reviews and writes exports.
type Service struct {
	objs     *objects.Service
	recs     *records.Service
	tracker  *tracking.Tracker
	progress *progress.Service
	pipes    *pipeline.Service
	targets  progress.Targets
	comm     *commission.Service
	tenants  *tenant.Registry
	rules    *rules.Engine
	docs     *config.Store
	// Now is the clock of reviews and expected-to-date.
	Now func() time.Time

	declared sync.Map // store.DB → true
	indexed  sync.Map // db|collection|field → true
	cache    sync.Map // cacheKey → *compiled
}

type cacheKey struct {
	tenant, key string
	version     int64
}

// Deps are the services reports read through.
type Deps struct {
	Objects  *objects.Service
	Records  *records.Service
	Tracker  *tracking.Tracker
	Progress *progress.Service
	// Pipelines, Targets and Commission may be nil (their sources and
	// built-ins then answer 404).
	Pipelines  *pipeline.Service
	Targets    progress.Targets
	Commission *commission.Service
	Tenants    *tenant.Registry
}

// New returns the report service.
func New(d Deps) *Service {
	s := &Service{objs: d.Objects, recs: d.Records, tracker: d.Tracker, progress: d.Progress, pipes: d.Pipelines, targets: d.Targets,
		comm: d.Commission, tenants: d.Tenants, rules: d.Objects.Rules(), Now: time.Now}
	s.docs = config.New(config.Kind{Name: "report", Validate: func(ctx context.Context, db store.DB, tenant, key string, def map[string]any) []apperr.FieldError {
		_, fe := s.compile(ctx, db, tenant, key, 0, def)
		return fe
	}})
	return s
}

// Collections are the tenant collections this package owns.
func (s *Service) Collections() []store.Collection {
	return append(s.docs.Collections(), store.Collection{Name: collReviews,
		Indexes: []store.Index{{Name: "metric_period", Fields: []string{"metric", "period"}}}})
}

func (s *Service) declare(ctx context.Context, db store.DB) error {
	if _, ok := s.declared.Load(db); ok {
		return nil
	}
	for _, c := range s.Collections() {
		if err := db.Declare(ctx, c); err != nil {
			return fmt.Errorf("declare %s: %w", c.Name, err)
		}
	}
	s.declared.Store(db, true)
	return nil
}

// List returns every report's working copy, by key.
func (s *Service) List(ctx context.Context, db store.DB) ([]config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	return s.docs.List(ctx, db)
}

// Get returns a report's working copy.
func (s *Service) Get(ctx context.Context, db store.DB, key string) (config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return config.Doc{}, err
	}
	return s.docs.Get(ctx, db, key)
}

// Save validates def in full (source, fields, types, formulas) and stores
// it as the draft.
func (s *Service) Save(ctx context.Context, db store.DB, tenant, actor, key string, def map[string]any, ifVersion int64) (config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return config.Doc{}, err
	}
	return s.docs.Save(ctx, db, tenant, actor, key, def, ifVersion)
}

// Publish turns the draft into the next immutable version.
func (s *Service) Publish(ctx context.Context, db store.DB, tenant, actor, key string) (config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return config.Doc{}, err
	}
	return s.docs.Publish(ctx, db, tenant, actor, key)
}

// Versions lists published versions, oldest first.
func (s *Service) Versions(ctx context.Context, db store.DB, key string) ([]config.VersionInfo, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	return s.docs.Versions(ctx, db, key)
}

// Check validates a definition without saving it.
func (s *Service) Check(ctx context.Context, db store.DB, tenant string, def map[string]any) []apperr.FieldError {
	_, fe := s.compile(ctx, db, tenant, "check", 0, def)
	return fe
}

// published returns the compiled version in force. Versions are compiled
// once and cached; one whose object was republished since is compiled again.
func (s *Service) published(ctx context.Context, db store.DB, tenant, key string) (*compiled, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	v, err := s.docs.PublishedVersion(ctx, db, key)
	if err != nil {
		return nil, err
	}
	ck := cacheKey{tenant, key, v}
	if c, ok := s.cache.Load(ck); ok {
		cc := c.(*compiled)
		if cc.obj == nil {
			return cc, nil
		}
		if o, err := s.objs.Published(ctx, db, tenant, cc.obj.Key); err == nil && o.Version == cc.obj.Version {
			return cc, nil
		}
	}
	def, err := s.docs.Version(ctx, db, key, v)
	if err != nil {
		return nil, err
	}
	c, fe := s.compile(ctx, db, tenant, key, v, def)
	if len(fe) > 0 {
		return nil, apperr.New(apperr.KindInvalid, "report_broken",
			"published report %s v%d no longer fits what it reads (%s: %s); fix and republish it", key, v, fe[0].Pointer, fe[0].Message)
	}
	s.cache.Store(ck, c)
	return c, nil
}

// draft compiles a report's working copy (for previews while editing).
func (s *Service) draft(ctx context.Context, db store.DB, tenant, key string) (*compiled, error) {
	d, err := s.Get(ctx, db, key)
	if err != nil {
		return nil, err
	}
	c, fe := s.compile(ctx, db, tenant, key, 0, d.Definition)
	if len(fe) > 0 {
		return nil, apperr.Invalid("the draft is invalid", fe...)
	}
	return c, nil
}
