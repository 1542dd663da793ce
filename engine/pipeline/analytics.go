package pipeline

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/rules"
	"stride/engine/store"
)

// FunnelStage is one stage of a funnel.
//
//   - Entered counts the records that entered the stage in [from, to), each
//     once however often it re-entered.
//   - Converted counts those that, after that entry, entered a later stage
//     of the pipeline other than a lost one (skipping stages counts; the
//     move may happen after to — a cohort measure). Conversion is
//     Converted/Entered, null for terminal stages and when nothing entered.
//   - AvgDays and MedianDays are over the visits to the stage that began in
//     [from, to) and have ended (Exited of them), in days of 24 hours,
//     rounded to 2 decimals; null when none has ended (always for terminal
//     stages). Visits still open are left out, so a stage where records get
//     stuck is better read from Stuck.
type FunnelStage struct {
	Stage      string            `json:"stage"`
	Label      map[string]string `json:"label"`
	Terminal   string            `json:"terminal,omitempty"`
	Entered    int               `json:"entered"`
	Converted  int               `json:"converted"`
	Conversion *float64          `json:"conversion"`
	Exited     int               `json:"exited"`
	AvgDays    *float64          `json:"avgDays"`
	MedianDays *float64          `json:"medianDays"`
}

// Funnel is the funnel of a pipeline over a time window.
type Funnel struct {
	Pipeline string        `json:"pipeline"`
	Version  int64         `json:"version"`
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Stages   []FunnelStage `json:"stages"`
}

// StuckRecord is an open record that has stayed in its stage longer than
// the stage's SLA.
type StuckRecord struct {
	ID        string    `json:"id"`
	Title     string    `json:"title,omitempty"`
	Owner     string    `json:"owner"`
	Stage     string    `json:"stage"`
	EnteredAt time.Time `json:"enteredAt"`
	// Days in the stage (24-hour days, rounded down to 2 decimals) and the SLA.
	Days    float64 `json:"days"`
	SLADays int     `json:"slaDays"`
}

// scan streams the live records governed by pipeline c that vis allows:
// those whose meta names it, and those created before any pipeline was
// published and never moved since (no pipeline in their meta) that c would
// govern now. The latter get a one-entry history — their current stage,
// entered at creation — so the funnel counts them and stuck-deal detection
// times them, as Transition will when they first move.
func (s *Service) scan(ctx context.Context, db store.DB, tenant string, c *Compiled, vis auth.Visibility, fn func(store.Doc) error) error {
	where := []store.Cond{{Field: "deleted", Op: store.Eq, Value: false}}
	if !vis.All {
		owners := make([]any, len(vis.Owners))
		for i, o := range vis.Owners {
			owners[i] = o
		}
		where = append(where, store.Cond{Field: "owner", Op: store.In, Value: owners})
	}
	err := db.Scan(ctx, objects.RecordCollection(c.Object), store.Query{Where: where}, func(d store.Doc) error {
		if owner, _ := d["owner"].(string); !vis.Allows(owner) {
			return nil
		}
		meta, _ := d["meta"].(map[string]any)
		switch key, _ := meta[MetaPipeline].(string); {
		case key == c.Key:
			return fn(d)
		case key != "":
			return nil // another pipeline's
		}
		data, _ := d["data"].(map[string]any)
		gov, err := s.ForRecord(ctx, db, tenant, c.Object, data)
		if err != nil || gov == nil || gov.Key != c.Key {
			return nil
		}
		stage, _ := data[c.StageField].(string)
		created, _ := d["createdAt"].(string)
		owner, _ := d["owner"].(string)
		if stage == "" || created == "" {
			return nil
		}
		implicit := maps.Clone(d)
		m := maps.Clone(meta)
		if m == nil {
			m = map[string]any{}
		}
		m[MetaPipeline] = c.Key
		m[MetaHistory] = []any{map[string]any{"stage": stage, "enteredAt": created, "exitedAt": nil, "by": owner}}
		implicit["meta"] = m
		return fn(implicit)
	})
	if err != nil {
		return fmt.Errorf("scan %s records: %w", c.Object, err)
	}
	return nil
}

// Funnel computes the funnel of the published pipeline key over records
// entering stages in [from, to), counting only records vis allows. It
// streams the object's records; what it keeps grows with the number of
// stage visits in the window (for the medians), never with a per-record map.
func (s *Service) Funnel(ctx context.Context, db store.DB, tenant, key string, from, to time.Time, vis auth.Visibility) (*Funnel, error) {
	if !from.Before(to) {
		return nil, apperr.Invalid("the window is empty", apperr.FieldError{Pointer: "/to", Code: "empty_window", Message: "to must be after from"})
	}
	c, err := s.Published(ctx, db, tenant, key)
	if err != nil {
		return nil, err
	}
	n := len(c.Stages)
	entered, converted := make([]int, n), make([]int, n)
	days := make([][]float64, n)
	in := func(t time.Time) bool { return !t.Before(from) && t.Before(to) }
	err = s.scan(ctx, db, tenant, c, vis, func(d store.Doc) error {
		meta, _ := d["meta"].(map[string]any)
		hist := History(meta)
		for i, st := range c.Stages {
			first := slices.IndexFunc(hist, func(e Entry) bool { return e.Stage == st.Key && in(e.EnteredAt) })
			if first < 0 {
				continue
			}
			entered[i]++
			if st.Terminal != "" {
				continue
			}
			for _, e := range hist[first+1:] {
				if later, j, ok := c.Stage(e.Stage); ok && j > i && later.Terminal != TerminalLost {
					converted[i]++
					break
				}
			}
		}
		for _, e := range hist {
			if _, i, ok := c.Stage(e.Stage); ok && e.ExitedAt != nil && in(e.EnteredAt) {
				days[i] = append(days[i], e.ExitedAt.Sub(e.EnteredAt).Hours()/24)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := &Funnel{Pipeline: c.Key, Version: c.Version, From: from.UTC(), To: to.UTC(), Stages: make([]FunnelStage, n)}
	for i, st := range c.Stages {
		fs := FunnelStage{Stage: st.Key, Label: st.Label, Terminal: st.Terminal, Entered: entered[i], Converted: converted[i], Exited: len(days[i])}
		if st.Terminal == "" && entered[i] > 0 {
			fs.Conversion = ptr(round2(float64(converted[i]) / float64(entered[i])))
		}
		if ds := days[i]; len(ds) > 0 {
			sum := 0.0
			for _, x := range ds {
				sum += x
			}
			sort.Float64s(ds)
			med := ds[len(ds)/2]
			if len(ds)%2 == 0 {
				med = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
			}
			fs.AvgDays, fs.MedianDays = ptr(round2(sum/float64(len(ds)))), ptr(round2(med))
		}
		out.Stages[i] = fs
	}
	return out, nil
}

// Stuck lists the open records of the published pipeline key, among those
// vis allows, that have been in their current stage longer than its SLA at
// now (days of 24 hours, strictly more than slaDays), oldest first (ties by
// id). Stages without an SLA and terminal stages never count.
func (s *Service) Stuck(ctx context.Context, db store.DB, tenant, key string, now time.Time, vis auth.Visibility) ([]StuckRecord, error) {
	c, err := s.Published(ctx, db, tenant, key)
	if err != nil {
		return nil, err
	}
	obj, err := s.objs.Published(ctx, db, tenant, c.Object)
	if err != nil {
		return nil, err
	}
	out := []StuckRecord{}
	err = s.scan(ctx, db, tenant, c, vis, func(d store.Doc) error {
		data, _ := d["data"].(map[string]any)
		cur, _ := data[c.StageField].(string)
		st, _, ok := c.Stage(cur)
		if !ok || st.Terminal != "" || !st.HasSLA {
			return nil
		}
		meta, _ := d["meta"].(map[string]any)
		hist := History(meta)
		var entered time.Time
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].Stage == cur && hist[i].ExitedAt == nil {
				entered = hist[i].EnteredAt
				break
			}
		}
		if entered.IsZero() {
			created, _ := d["createdAt"].(string)
			if entered, err = period.ParseInstant(created); err != nil {
				return nil
			}
		}
		days := now.Sub(entered).Hours() / 24
		if days <= float64(st.SLADays) {
			return nil
		}
		r := StuckRecord{ID: store.ID(d), Stage: cur, EnteredAt: entered, Days: math.Floor(days*100) / 100, SLADays: st.SLADays}
		r.Owner, _ = d["owner"].(string)
		if obj.TitleField != "" {
			r.Title, _ = data[obj.TitleField].(string)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].EnteredAt.Equal(out[j].EnteredAt) {
			return out[i].EnteredAt.Before(out[j].EnteredAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

func ptr(f float64) *float64 { return &f }

func round2(x float64) float64 { return rules.RoundHalfEven(x, 2) }
