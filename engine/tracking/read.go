package tracking

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/records"
	"stride/engine/store"
)

// dayRange is an inclusive range of days "YYYY-MM-DD".
type dayRange struct{ from, to string }

func checkRange(from, to string) error {
	_, e1 := period.ParseDate(from)
	_, e2 := period.ParseDate(to)
	if e1 != nil || e2 != nil {
		return apperr.BadRequest("from and to must be dates like 2026-01-31")
	}
	return nil
}

// months lists the months "YYYY-MM" overlapping [from, to].
func months(from, to string) []string {
	f, _ := period.ParseDate(from)
	l, _ := period.ParseDate(to)
	var out []string
	for m := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(l); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// Actual sums a metric's rollups over the owners and the days from..to
// (inclusive, "YYYY-MM-DD"). Sum is in the metric's stored unit (see
// Metric.Unit and Scale). It reads one bucket per owner and month.
func (t *Tracker) Actual(ctx context.Context, db store.DB, tenant, metric string, owners []string, from, to string) (Cell, error) {
	ranges := map[string][]dayRange{}
	for _, o := range owners {
		ranges[o] = []dayRange{{from, to}}
	}
	return t.actual(ctx, db, tenant, metric, ranges, from, to)
}

func (t *Tracker) actual(ctx context.Context, db store.DB, tenant, metric string, ranges map[string][]dayRange, from, to string) (Cell, error) {
	if err := checkRange(from, to); err != nil {
		return Cell{}, err
	}
	if _, err := t.Metric(ctx, db, tenant, metric); err != nil {
		return Cell{}, err
	}
	if err := t.declare(ctx, db, tenant); err != nil {
		return Cell{}, err
	}
	var total Cell
	for owner, rs := range ranges {
		for _, month := range months(from, to) {
			d, err := db.Get(ctx, collRollup, bucketID(metric, owner, month))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return Cell{}, fmt.Errorf("read rollup: %w", err)
			}
			days, _ := d["days"].(map[string]any)
			for dd, v := range days {
				day := month + "-" + dd
				for _, r := range rs {
					if day >= r.from && day <= r.to && day >= from && day <= to {
						c := cellFrom(v)
						total.Sum += c.Sum
						total.Count += c.Count
						break
					}
				}
			}
		}
	}
	return total, nil
}

// TeamActual sums a metric over the members of a team's subtree, counting
// each member's days only while they were in a team of the subtree (credit
// follows the team the owner belonged to on the record's date). A member of
// several subtree teams at once is counted once.
func (t *Tracker) TeamActual(ctx context.Context, db store.DB, tenant, metric, teamID string, from, to string) (Cell, error) {
	ranges, err := teamRanges(ctx, db, teamID, from, to)
	if err != nil {
		return Cell{}, err
	}
	return t.actual(ctx, db, tenant, metric, ranges, from, to)
}

// teamRanges returns, per user, the merged inclusive day ranges within
// [from, to] in which they belonged to the team's subtree.
func teamRanges(ctx context.Context, db store.DB, teamID, from, to string) (map[string][]dayRange, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	teams, err := auth.ListTeams(ctx, db)
	if err != nil {
		return nil, err
	}
	found := false
	for _, tm := range teams {
		found = found || tm.ID == teamID
	}
	if !found {
		return nil, apperr.NotFound("team %q does not exist", teamID)
	}
	raw := map[string][]dayRange{}
	for _, id := range auth.Subtree(teams, []string{teamID}) {
		ms, err := auth.Members(ctx, db, id)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			lo, hi := max(m.From, from), to
			if m.To != "" {
				end, err := period.ParseDate(m.To)
				if err != nil {
					continue
				}
				hi = min(hi, period.FormatDate(end.AddDate(0, 0, -1))) // To is exclusive
			}
			if lo <= hi {
				raw[m.UserID] = append(raw[m.UserID], dayRange{lo, hi})
			}
		}
	}
	out := map[string][]dayRange{}
	for u, rs := range raw {
		sort.Slice(rs, func(i, j int) bool { return rs[i].from < rs[j].from })
		var merged []dayRange
		for _, r := range rs {
			if n := len(merged); n > 0 && r.from <= merged[n-1].to {
				merged[n-1].to = max(merged[n-1].to, r.to)
				continue
			}
			merged = append(merged, r)
		}
		out[u] = merged
	}
	return out, nil
}

// Share is one record's part of an actual.
type Share struct {
	Object   string `json:"object"`
	RecordID string `json:"recordId"`
	Owner    string `json:"owner"`
	Day      string `json:"day"`
	Sum      int64  `json:"sum"`
	Count    int64  `json:"count"`
	// Split reports whether the record's credit is split among users.
	Split bool `json:"split"`
}

// TeamRecords lists the records (and split shares) behind TeamActual: each
// member's, within the days they belonged to the team's subtree, so the
// shares sum exactly to the team's actual.
func (t *Tracker) TeamRecords(ctx context.Context, db store.DB, tenant, metric, teamID string, from, to string) ([]Share, error) {
	ranges, err := teamRanges(ctx, db, teamID, from, to)
	if err != nil {
		return nil, err
	}
	users := make([]string, 0, len(ranges))
	for u := range ranges {
		users = append(users, u)
	}
	sort.Strings(users)
	out := []Share{}
	for _, u := range users {
		for _, r := range ranges[u] {
			sh, err := t.Records(ctx, db, tenant, metric, []string{u}, r.from, r.to)
			if err != nil {
				return nil, err
			}
			out = append(out, sh...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Day != out[j].Day {
			return out[i].Day < out[j].Day
		}
		return out[i].RecordID < out[j].RecordID
	})
	return out, nil
}

// Records lists the records (and split shares) behind Actual for the owners
// and days from..to, by day then record. It scans the object's records.
// metric may be a dimension key (DimensionKey).
func (t *Tracker) Records(ctx context.Context, db store.DB, tenant, metric string, owners []string, from, to string) ([]Share, error) {
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	m, err := t.Metric(ctx, db, tenant, metric)
	if err != nil {
		return nil, err
	}
	obj, err := t.objects.Published(ctx, db, tenant, m.Object)
	if err != nil {
		return nil, err
	}
	tz, err := t.location(ctx, tenant)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, o := range owners {
		want[o] = true
	}
	out := []Share{}
	err = scanLive(ctx, db, m.Object, func(rec records.Record) error {
		cs, err := Contributions(m, obj, &rec, tz)
		if err != nil {
			return nil
		}
		n := 0 // shares of this metric key (a dimension adds its own)
		for _, c := range cs {
			if c.Metric == metric {
				n++
			}
		}
		for _, c := range cs {
			if c.Metric == metric && want[c.Owner] && c.Day >= from && c.Day <= to {
				out = append(out, Share{Object: m.Object, RecordID: rec.ID, Owner: c.Owner, Day: c.Day, Sum: c.Sum, Count: c.Count, Split: n > 1})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Day != out[j].Day {
			return out[i].Day < out[j].Day
		}
		if out[i].RecordID != out[j].RecordID {
			return out[i].RecordID < out[j].RecordID
		}
		return out[i].Owner < out[j].Owner
	})
	return out, nil
}

// scanLive streams an object's live records.
func scanLive(ctx context.Context, db store.DB, object string, fn func(records.Record) error) error {
	err := db.Scan(ctx, objects.RecordCollection(object), store.Query{Where: []store.Cond{{Field: "deleted", Op: store.Ne, Value: true}}}, func(d store.Doc) error {
		return fn(recordFrom(d))
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("scan %s records: %w", object, err)
	}
	return nil
}
