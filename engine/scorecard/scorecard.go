// Package scorecard is the "scorecard" configuration kind (考核方案) and what it
// drives (DESIGN.md §7): weighted, capped items combined into a score per
// member and period, graded, ranked on a leaderboard (排行榜), and the top
// ranks recognised with titles (月度之星) that are kept per period once the
// period is closed.
//
// # Items
//
// An item's score comes from one of three sources:
//
//   - attainment: the member's attainment of a metric × 100, where
//     attainment = actual ÷ target exactly as progress computes it: the
//     actual from the tracker's rollups (a derived metric evaluated from its
//     inputs' rollups), the target from the published target plan through
//     progress.Targets, for the node user:<id> and the item's level;
//   - rating: the average of a number field over the records of an object
//     naming the member (userField) and the period key (periodField) — a
//     manager's rating form such as kpi_rating {user, period, attitude 1–5} —
//     mapped linearly from scale.min → 0 to scale.max → 100;
//   - expr: a number formula over the items listed before it:
//     score.<key>, attainment.<key> (a ratio) and rating.<key> (the average).
//
// Every item score is limited to 0 … cap and rounded half-even to 2
// decimals.
//
// # Missing values
//
// An item without a value — no target for the member (or a target of 0), no
// rating entered, a derived metric without a value, an expr item reading an
// item without one or failing at run time — has a null score with a reason,
// and is left out of the weighting: the weights of the items that do have a
// score are re-normalised. A new rep without a target is then scored on what
// can be measured, instead of being pushed to the bottom by a 0 nobody set.
// A member with no scored item (or only weight-0 ones) has no score, no grade
// and no rank; they are listed after the ranked members.
//
// # Score, grade, rank
//
// score = Σ weightᵢ × scoreᵢ ÷ Σ weightᵢ over the scored items, rounded
// half-even to 2 decimals (computed from the rounded item scores, so the
// breakdown reproduces it). The grade is the first threshold (listed from the
// highest down) whose min the score reaches, else the fallback grade.
//
// Ranking is competition ranking ("1224"): equal scores share a rank and the
// next rank skips, as in sports and most sales leaderboards, so "top 3" never
// silently means more than three distinct places. Rows are ordered by score
// (descending), then display name, then user id, so ties list
// deterministically.
//
// # Recognition
//
// A title goes to every member of the scorecard's whole population ranked
// 1 … top (ties at the boundary all receive it) whose score reaches the
// title's minScore. Until a period is awarded, titles on a leaderboard are
// provisional (computed live); Award stores the winners of a closed period
// once (idempotent) and from then on the leaderboard shows the stored ones.
// An Announcer, when set, is told about each new award — the hook the
// alerts/notifier work implements.
//
// # Who sees what
//
// A leaderboard is public within the team it ranks: any member of a team
// (during the period, or today) may open the leaderboard of that team and of
// the teams above it, with everyone's rank, name, score, grade and titles.
// The breakdown of a score (each item's inputs: actual, target, ratings) is
// shown only for the members the caller may see records of (auth
// visibility: themself for a rep, their subtrees for a manager, everyone for
// admins and finance). The company-wide leaderboard is for admins, finance
// and integrations; managers open the teams they manage.
package scorecard

import (
	"context"
	"fmt"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/config"
	"stride/engine/objects"
	"stride/engine/progress"
	"stride/engine/rules"
	"stride/engine/store"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// Collections of a tenant database (besides the config kind's).
const (
	collAwards = "sc_awards" // {_id: key|period, scorecard, period, version, at, by, titles, winners}
)

// Announcer announces recognition once a period's titles are awarded. The
// notifier plugins (WeCom, DingTalk, Feishu, webhooks) implement it when they
// exist; until then no announcement is made. Announce runs after the award
// is stored; its error is reported but does not undo the award.
type Announcer interface {
	Announce(ctx context.Context, tenant string, a *Award) error
}

// Service manages scorecards, computes leaderboards and keeps awards.
type Service struct {
	objs    *objects.Service
	tracker *tracking.Tracker
	tenants *tenant.Registry
	rules   *rules.Engine
	targets progress.Targets
	docs    *config.Store
	// Now is the clock of awards (is the period closed?) and expected-to-date.
	Now func() time.Time

	announcer Announcer
	declared  sync.Map // store.DB → true once the collections are declared
	cards     sync.Map // cardKey → *Card
}

type cardKey struct {
	tenant, key string
	version     int64
}

// New returns the scorecard service. Attainment reads the tracker's
// rollups; targets come from SetTargets (target plans).
func New(objs *objects.Service, tr *tracking.Tracker, tenants *tenant.Registry) *Service {
	s := &Service{objs: objs, tracker: tr, tenants: tenants, rules: objs.Rules(), Now: time.Now}
	s.docs = config.New(config.Kind{Name: "scorecard", Validate: func(ctx context.Context, db store.DB, tenant, key string, def map[string]any) []apperr.FieldError {
		_, fe := s.compile(ctx, db, tenant, key, 0, def)
		return fe
	}})
	return s
}

// SetTargets sets where attainment items take targets from — the same
// progress.Targets progress uses (the target plan service). Without one,
// every attainment item has no target. Call it before serving.
func (s *Service) SetTargets(t progress.Targets) { s.targets = t }

// SetAnnouncer sets who announces new awards (nil: nobody). Call it before
// serving.
func (s *Service) SetAnnouncer(a Announcer) { s.announcer = a }

// Collections are the tenant collections this package owns. The service
// also declares them itself on first use in each database, so it works in
// a tenant opened before it was wired.
func (s *Service) Collections() []store.Collection {
	return append(s.docs.Collections(), store.Collection{Name: collAwards,
		Indexes: []store.Index{{Name: "scorecard_period", Fields: []string{"scorecard", "period"}, Unique: true}}})
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

// List returns every scorecard's working copy, by key.
func (s *Service) List(ctx context.Context, db store.DB) ([]config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	return s.docs.List(ctx, db)
}

// Get returns a scorecard's working copy.
func (s *Service) Get(ctx context.Context, db store.DB, key string) (config.Doc, error) {
	if err := s.declare(ctx, db); err != nil {
		return config.Doc{}, err
	}
	return s.docs.Get(ctx, db, key)
}

// Save validates def in full (metrics, objects, fields, teams, grades and
// every formula) and stores it as the draft.
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
	key, _ := def["key"].(string)
	_, fe := s.compile(ctx, db, tenant, key, 0, def)
	return fe
}

// Published returns the compiled version in force (a 422 if the scorecard
// was never published). Versions are compiled once and cached; a rating
// object republished since is compiled against again.
func (s *Service) Published(ctx context.Context, db store.DB, tenant, key string) (*Card, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	v, err := s.docs.PublishedVersion(ctx, db, key)
	if err != nil {
		return nil, err
	}
	ck := cardKey{tenant, key, v}
	if c, ok := s.cards.Load(ck); ok {
		card := c.(*Card)
		if s.objectsCurrent(ctx, db, tenant, card) {
			return card, nil
		}
	}
	def, err := s.docs.Version(ctx, db, key, v)
	if err != nil {
		return nil, err
	}
	card, fe := s.compile(ctx, db, tenant, key, v, def)
	if len(fe) > 0 {
		return nil, apperr.New(apperr.KindInvalid, "scorecard_broken",
			"published scorecard %s v%d no longer fits what it refers to (%s: %s); fix and republish it", key, v, fe[0].Pointer, fe[0].Message)
	}
	s.cards.Store(ck, card)
	return card, nil
}

// objectsCurrent reports whether the rating objects a card was compiled
// against are still the versions in force.
func (s *Service) objectsCurrent(ctx context.Context, db store.DB, tenant string, c *Card) bool {
	for obj, v := range c.ObjectVersions {
		o, err := s.objs.Published(ctx, db, tenant, obj)
		if err != nil || o.Version != v {
			return false
		}
	}
	return true
}
