package scorecard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/store"
	"stride/engine/tracking"
)

// Award is the recognition of one scorecard period: who won which title,
// as it stood when the period was awarded. It never changes afterwards.
type Award struct {
	Scorecard string    `json:"scorecard"`
	Version   int64     `json:"version"`
	Period    string    `json:"period"`
	At        time.Time `json:"at"`
	By        string    `json:"by"`
	// Titles are the scorecard's titles as defined then.
	Titles  []Title  `json:"titles"`
	Winners []Winner `json:"winners"`
}

// Winner is a member who received at least one title.
type Winner struct {
	User   UserRef    `json:"user"`
	Rank   int        `json:"rank"`
	Score  float64    `json:"score"`
	Grade  *string    `json:"grade"`
	Titles []TitleRef `json:"titles"`
}

func awardID(key, periodKey string) string { return key + "|" + periodKey }

// awardOf returns the stored award of a period, nil when there is none.
func (s *Service) awardOf(ctx context.Context, db store.DB, key, periodKey string) (*Award, error) {
	d, err := db.Get(ctx, collAwards, awardID(key, periodKey))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load award %s %s: %w", key, periodKey, err)
	}
	return awardFrom(d)
}

func awardFrom(d store.Doc) (*Award, error) {
	delete(d, store.KeyID)
	delete(d, store.KeyVersion)
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	var a Award
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("stored award: %w", err)
	}
	return &a, nil
}

func (a *Award) doc() (store.Doc, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	var d store.Doc
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	d[store.KeyID] = awardID(a.Scorecard, a.Period)
	return d, nil
}

// AwardPeriod awards the titles of a closed period: it ranks the whole
// population with the version in force and stores the winners once. Asking
// again returns the stored award unchanged (created false): recognition,
// once given, is not silently taken back by later data. A period that has
// not ended is a 409.
func (s *Service) AwardPeriod(ctx context.Context, db store.DB, tenant string, p *auth.Principal, key, periodKey string) (*Award, bool, error) {
	c, err := s.Published(ctx, db, tenant, key)
	if err != nil {
		return nil, false, err
	}
	if periodKey == "" {
		return nil, false, apperr.Invalid("period is required",
			apperr.FieldError{Pointer: "/period", Code: "required", Message: "the period to award, e.g. 2026-03"})
	}
	now := s.Now()
	per, err := s.period(ctx, tenant, c, periodKey, now, "/period")
	if err != nil {
		return nil, false, err
	}
	from, to := period.FormatDate(per.Start), tracking.LastDay(per)
	o, err := s.loadOrg(ctx, db)
	if err != nil {
		return nil, false, err
	}
	pop := o.population(c.Definition, from, to)
	if err := mayAward(p, o, pop, from, to); err != nil {
		return nil, false, err
	}
	if a, err := s.awardOf(ctx, db, key, per.Key); err != nil || a != nil {
		return a, false, err
	}
	if now.Before(per.End) {
		return nil, false, apperr.Conflict("period_open", "period %s has not ended yet (it ends %s); titles are awarded once it is closed",
			per.Key, per.End.Format("2006-01-02 15:04 MST"))
	}
	if len(c.Definition.Recognition) == 0 {
		return nil, false, apperr.Invalid("scorecard "+key+" awards no titles",
			apperr.FieldError{Pointer: "/recognition", Code: "no_recognition", Message: "define recognition titles in the scorecard first"})
	}
	if s.tracker != nil {
		if err := s.tracker.Sync(ctx, db, tenant); err != nil {
			return nil, false, err
		}
	}
	members, err := s.load(ctx, db, tenant, c, per, pop, o, now)
	if err != nil {
		return nil, false, err
	}
	a := &Award{Scorecard: key, Version: c.Version, Period: per.Key, At: now.UTC(), By: p.UserID, Titles: c.Definition.Recognition, Winners: []Winner{}}
	for _, r := range Score(c, members) {
		if len(r.Titles) == 0 {
			continue
		}
		a.Winners = append(a.Winners, Winner{User: r.User, Rank: *r.Rank, Score: *r.Score, Grade: r.Grade, Titles: r.Titles})
	}
	d, err := a.doc()
	if err != nil {
		return nil, false, err
	}
	d["scorecard"], d["period"] = key, per.Key
	if _, err := db.Insert(ctx, collAwards, d); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			// Awarded concurrently: the first one stands.
			a, err := s.awardOf(ctx, db, key, per.Key)
			return a, false, err
		}
		return nil, false, fmt.Errorf("store award %s %s: %w", key, per.Key, err)
	}
	if err := audit.Append(ctx, db, p.UserID, "scorecard.award", "scorecard:"+key, map[string]any{"period": per.Key, "winners": len(a.Winners)}); err != nil {
		return nil, false, err
	}
	if s.announcer != nil {
		if err := s.announcer.Announce(ctx, tenant, a); err != nil {
			slog.Warn("announce scorecard award", "tenant", tenant, "scorecard", key, "period", per.Key, "err", err)
		}
	}
	return a, true, nil
}

// mayAward says whether p may award titles to the population: an admin
// may; a manager only when every member of it was in the teams they manage
// (subtrees included) during the period — titles given to people outside
// their subtree are not theirs to give (DESIGN.md §8).
func mayAward(p *auth.Principal, o *org, pop []string, from, to string) error {
	if p.Has(auth.RoleAdmin) {
		return nil
	}
	var roots []string
	for _, t := range o.teams {
		if slices.Contains(t.Managers, p.UserID) {
			roots = append(roots, t.ID)
		}
	}
	mine := map[string]bool{}
	if len(roots) > 0 {
		mine = o.inTeams(roots, from, to)
	}
	for _, id := range pop {
		if !mine[id] {
			return apperr.Forbidden("this scorecard ranks people outside the teams you manage: an admin awards its titles")
		}
	}
	return nil
}

// Awards lists a scorecard's awards, newest period first.
func (s *Service) Awards(ctx context.Context, db store.DB, key string) ([]Award, error) {
	if _, err := s.Get(ctx, db, key); err != nil {
		return nil, err
	}
	out := []Award{}
	err := db.Scan(ctx, collAwards, store.Query{Where: []store.Cond{{Field: "scorecard", Op: store.Eq, Value: key}},
		Sort: []store.SortKey{{Field: "period", Desc: true}}}, func(d store.Doc) error {
		a, err := awardFrom(d)
		if err != nil {
			return err
		}
		out = append(out, *a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list awards of %s: %w", key, err)
	}
	return out, nil
}
