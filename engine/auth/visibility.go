package auth

import (
	"context"
	"fmt"
	"slices"
	"time"

	"stride/engine/period"
	"stride/engine/store"
)

// Visibility is the set of record owners a principal may read. All means no
// restriction; otherwise only records owned by Owners are visible.
type Visibility struct {
	All    bool
	Owners []string
}

// Allows reports whether a record owned by owner is visible.
func (v Visibility) Allows(owner string) bool {
	return v.All || slices.Contains(v.Owners, owner)
}

// VisibilityOf computes what p may read, following the org tree on today's
// date: admins, finance and integration tokens see everything; a manager
// sees everyone in the subtrees of the teams they manage (and themself); a
// viewer sees the subtrees of the teams they belong to; a rep sees their own.
func VisibilityOf(ctx context.Context, db store.DB, p *Principal) (Visibility, error) {
	if p.Integration || p.Has(RoleAdmin) || p.Has(RoleFinance) {
		return Visibility{All: true}, nil
	}
	owners := []string{p.UserID}
	var roots []string
	if p.Has(RoleManager) || p.Has(RoleViewer) {
		teams, err := ListTeams(ctx, db)
		if err != nil {
			return Visibility{}, err
		}
		today := period.FormatDate(time.Now())
		if p.Has(RoleManager) {
			for _, t := range teams {
				if slices.Contains(t.Managers, p.UserID) {
					roots = append(roots, t.ID)
				}
			}
		}
		if p.Has(RoleViewer) {
			mine, err := TeamOn(ctx, db, p.UserID, today)
			if err != nil {
				return Visibility{}, err
			}
			roots = append(roots, mine...)
		}
		for _, team := range Subtree(teams, roots) {
			ms, err := Members(ctx, db, team)
			if err != nil {
				return Visibility{}, fmt.Errorf("visibility of %s: %w", p.UserID, err)
			}
			for _, m := range ms {
				if m.activeOn(today) && !slices.Contains(owners, m.UserID) {
					owners = append(owners, m.UserID)
				}
			}
		}
	}
	return Visibility{Owners: owners}, nil
}

// Subtree returns the ids of roots and every team below them, each once.
func Subtree(teams []Team, roots []string) []string {
	children := map[string][]string{}
	for _, t := range teams {
		children[t.ParentID] = append(children[t.ParentID], t.ID)
	}
	seen := map[string]bool{}
	var out []string
	var walk func(string)
	walk = func(id string) {
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, id)
		for _, c := range children[id] {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}
