package tracking

import (
	"context"
	"fmt"
	"sort"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/store"
)

// A read of many nodes (progress for a company and its teams, a team and its
// members) costs one query for the buckets and one load of the org, then
// in-memory sums: its cost grows with the org's size and the period's days,
// not with the number of records (DESIGN.md §5).

// DayRange is an inclusive range of days "YYYY-MM-DD".
type DayRange struct{ From, To string }

// Ranges says which days of which owners count for a node: per owner, the
// inclusive day ranges (a team member's days while a member).
type Ranges map[string][]DayRange

// Rollups holds the cells of some metric keys for some owners over a range
// of days, read at once by ReadRollups.
type Rollups struct {
	from, to string
	cells    map[string]map[string][]dayCell // key → owner → cells by day
}

type dayCell struct {
	day string
	Cell
}

// ReadRollups reads the cells of the metric keys (metric, dimension or
// open-pipeline keys) for the owners (nil: every owner) over the days
// from..to (inclusive) in one query over the rollup index.
func (t *Tracker) ReadRollups(ctx context.Context, db store.DB, tenant string, keys, owners []string, from, to string) (*Rollups, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	if from > to {
		return nil, apperr.BadRequest("from must not be after to")
	}
	for _, k := range keys {
		if _, err := t.Metric(ctx, db, tenant, k); err != nil {
			return nil, err
		}
	}
	if err := t.declare(ctx, db, tenant); err != nil {
		return nil, err
	}
	r := &Rollups{from: from, to: to, cells: map[string]map[string][]dayCell{}}
	if len(keys) == 0 || (owners != nil && len(owners) == 0) {
		return r, nil
	}
	ks := make([]any, len(keys))
	for i, k := range keys {
		ks[i] = k
	}
	where := []store.Cond{{Field: "metric", Op: store.In, Value: ks},
		{Field: "month", Op: store.Gte, Value: from[:7]}, {Field: "month", Op: store.Lte, Value: to[:7]}}
	if owners != nil {
		os := make([]any, len(owners))
		for i, o := range owners {
			os[i] = o
		}
		where = append(where, store.Cond{Field: "owner", Op: store.In, Value: os})
	}
	err := db.Scan(ctx, collRollup, store.Query{Where: where}, func(d store.Doc) error {
		metric, _ := d["metric"].(string)
		owner, _ := d["owner"].(string)
		month, _ := d["month"].(string)
		days, _ := d["days"].(map[string]any)
		byOwner := r.cells[metric]
		if byOwner == nil {
			byOwner = map[string][]dayCell{}
			r.cells[metric] = byOwner
		}
		cs := byOwner[owner]
		for dd, v := range days {
			if day := month + "-" + dd; day >= from && day <= to {
				cs = append(cs, dayCell{day, cellFrom(v)})
			}
		}
		byOwner[owner] = cs
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read rollups: %w", err)
	}
	for _, byOwner := range r.cells {
		for _, cs := range byOwner {
			sort.Slice(cs, func(i, j int) bool { return cs[i].day < cs[j].day })
		}
	}
	return r, nil
}

// Sum adds up key's cells of the owners in ranges on the days of their
// ranges (clipped to what was read).
func (r *Rollups) Sum(key string, ranges Ranges) Cell {
	var total Cell
	byOwner := r.cells[key]
	for owner, rs := range ranges {
		cs := byOwner[owner]
		if len(cs) == 0 {
			continue
		}
		for _, dr := range rs {
			lo, hi := max(dr.From, r.from), min(dr.To, r.to)
			i := sort.Search(len(cs), func(i int) bool { return cs[i].day >= lo })
			for ; i < len(cs) && cs[i].day <= hi; i++ {
				total.Sum += cs[i].Sum
				total.Count += cs[i].Count
			}
		}
	}
	return total
}

// Org is the teams and their effective-dated memberships, read once and
// shared by the nodes of one request (memberships are loaded per team on
// first use). It is not safe for concurrent use.
type Org struct {
	Teams   []auth.Team
	members map[string][]auth.Membership
}

// LoadOrg reads the teams.
func LoadOrg(ctx context.Context, db store.DB) (*Org, error) {
	teams, err := auth.ListTeams(ctx, db)
	if err != nil {
		return nil, err
	}
	return NewOrg(teams), nil
}

// NewOrg is the org of teams already read (auth.ListTeams).
func NewOrg(teams []auth.Team) *Org {
	return &Org{Teams: teams, members: map[string][]auth.Membership{}}
}

// Members returns a team's memberships (every span, past and future).
func (o *Org) Members(ctx context.Context, db store.DB, teamID string) ([]auth.Membership, error) {
	if ms, ok := o.members[teamID]; ok {
		return ms, nil
	}
	ms, err := auth.Members(ctx, db, teamID)
	if err != nil {
		return nil, err
	}
	o.members[teamID] = ms
	return ms, nil
}

// Preload reads, in one query, the memberships of the teams in the subtrees
// of roots not read yet (a company's read preloads every team's).
func (o *Org) Preload(ctx context.Context, db store.DB, roots []string) error {
	var missing []string
	for _, id := range auth.Subtree(o.Teams, roots) {
		if _, ok := o.members[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	byTeam, err := auth.MembersOf(ctx, db, missing)
	if err != nil {
		return err
	}
	for id, ms := range byTeam {
		o.members[id] = ms
	}
	return nil
}

// TeamRanges returns, per user, the merged inclusive day ranges within
// [from, to] in which they belonged to the team's subtree: the credit of a
// team node (TeamActual).
func (o *Org) TeamRanges(ctx context.Context, db store.DB, teamID, from, to string) (Ranges, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	found := false
	for _, tm := range o.Teams {
		found = found || tm.ID == teamID
	}
	if !found {
		return nil, apperr.NotFound("team %q does not exist", teamID)
	}
	if err := o.Preload(ctx, db, []string{teamID}); err != nil {
		return nil, err
	}
	raw := Ranges{}
	for _, id := range auth.Subtree(o.Teams, []string{teamID}) {
		ms, err := o.Members(ctx, db, id)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if lo, hi, ok := Span(m, from, to); ok {
				raw[m.UserID] = append(raw[m.UserID], DayRange{lo, hi})
			}
		}
	}
	out := Ranges{}
	for u, rs := range raw {
		out[u] = Merge(rs)
	}
	return out, nil
}

// Span is the part of [from, to] a membership covers, as inclusive days (its
// To is exclusive); false when they do not overlap.
func Span(m auth.Membership, from, to string) (string, string, bool) {
	lo, hi := max(m.From, from), to
	if m.To != "" {
		end, err := period.ParseDate(m.To)
		if err != nil {
			return "", "", false
		}
		hi = min(hi, period.FormatDate(end.AddDate(0, 0, -1)))
	}
	return lo, hi, lo <= hi
}

// Merge sorts day ranges and merges the overlapping ones, so no day is
// counted twice.
func Merge(rs []DayRange) []DayRange {
	rs = append([]DayRange(nil), rs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].From < rs[j].From })
	var merged []DayRange
	for _, r := range rs {
		if n := len(merged); n > 0 && r.From <= merged[n-1].To {
			merged[n-1].To = max(merged[n-1].To, r.To)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}
