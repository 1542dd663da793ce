package tracking

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"stride/engine/apperr"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/records"
	"stride/engine/store"
)

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
// Metric.Unit and Scale). It reads the owners' buckets of the months in one
// query. metric may be a dimension or open-pipeline key.
func (t *Tracker) Actual(ctx context.Context, db store.DB, tenant, metric string, owners []string, from, to string) (Cell, error) {
	ranges := Ranges{}
	for _, o := range owners {
		ranges[o] = []DayRange{{from, to}}
	}
	return t.sum(ctx, db, tenant, metric, ranges, from, to)
}

// sum reads the buckets of the owners in ranges and sums their days within
// the ranges.
func (t *Tracker) sum(ctx context.Context, db store.DB, tenant, metric string, ranges Ranges, from, to string) (Cell, error) {
	owners := make([]string, 0, len(ranges))
	for o := range ranges {
		owners = append(owners, o)
	}
	r, err := t.ReadRollups(ctx, db, tenant, []string{metric}, owners, from, to)
	if err != nil {
		return Cell{}, err
	}
	return r.Sum(metric, ranges), nil
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
	return t.sum(ctx, db, tenant, metric, ranges, from, to)
}

// teamRanges returns, per user, the merged inclusive day ranges within
// [from, to] in which they belonged to the team's subtree.
func teamRanges(ctx context.Context, db store.DB, teamID, from, to string) (Ranges, error) {
	org, err := LoadOrg(ctx, db)
	if err != nil {
		return nil, err
	}
	return org.TeamRanges(ctx, db, teamID, from, to)
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
			sh, err := t.Records(ctx, db, tenant, metric, []string{u}, r.From, r.To)
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
