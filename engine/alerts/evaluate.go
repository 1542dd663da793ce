package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/pipeline"
	"stride/engine/progress"
	"stride/engine/records"
	"stride/engine/store"
)

// Hook returns the records.Hook that evaluates record rules on every write.
func (s *Service) Hook() records.Hook { return hook{s} }

type hook struct{ s *Service }

// BeforeWrite does nothing: alerts never refuse a write.
func (hook) BeforeWrite(context.Context, *records.Write) error { return nil }

// AfterWrite evaluates the record rules of the object. The write stands
// whatever happens here; a failure is logged.
func (h hook) AfterWrite(ctx context.Context, w *records.Write) {
	if w.Principal == nil || w.New == nil {
		return
	}
	if err := h.s.onWrite(ctx, w); err != nil {
		slog.Warn("alert evaluation failed", "tenant", w.Principal.Tenant, "object", w.Object.Key, "record", w.New.ID, "err", err)
	}
}

func (s *Service) onWrite(ctx context.Context, w *records.Write) error {
	tenant := w.Principal.Tenant
	all, err := s.published(ctx, w.DB, tenant)
	if err != nil {
		return err
	}
	var vars map[string]any
	for _, r := range all {
		if r.Def.Source != SourceRecord || r.Def.Object != w.Object.Key || !r.OnChange || !slices.Contains(r.Events, w.Via) {
			continue
		}
		if vars == nil {
			vars = s.recordVars(ctx, w.DB, tenant, w.Object, viewOf(w.New), viewOf(w.Old), w.Via)
		}
		if _, err := s.evalRecord(ctx, w.DB, tenant, r, w.Object, vars, w.New.Owner, w.New.ID); err != nil {
			return err
		}
	}
	return nil
}

// recordView is what record rules read of a record.
type recordView struct {
	id, owner string
	created   string
	data      map[string]any
	meta      map[string]any
}

func viewOf(r *records.Record) *recordView {
	if r == nil {
		return nil
	}
	return &recordView{id: r.ID, owner: r.Owner, created: r.CreatedAt, data: r.Data, meta: r.Meta}
}

func viewFromDoc(d store.Doc) *recordView {
	v := &recordView{id: store.ID(d), owner: str(d["owner"]), created: str(d["createdAt"])}
	v.data, _ = d["data"].(map[string]any)
	v.meta, _ = d["meta"].(map[string]any)
	return v
}

// recordVars builds a record rule's variables: the fields (as formulas see
// them) and the extras (stage timing from the pipeline's stage history).
func (s *Service) recordVars(ctx context.Context, db store.DB, tenant string, obj *objects.Compiled, rec, old *recordView, event string) map[string]any {
	vars := obj.Schema.ToEnv(rec.data)
	extras := map[string]any{"id": rec.id, "owner": rec.owner, "ownerName": rec.owner, "event": event,
		"stage": "", "prevStage": "", "daysInStage": 0.0, "stageSlaDays": 0.0, "hasSla": false, "ownerAvg": map[string]any{}}
	var c *pipeline.Compiled
	if s.pipes != nil {
		// ForRecord answers from the cached list of published pipelines; the
		// one the record's meta names is loaded only when it differs (a
		// record that stays with the pipeline it started in).
		c, _ = s.pipes.ForRecord(ctx, db, tenant, obj.Key, rec.data)
		if key := str(rec.meta[pipeline.MetaPipeline]); key != "" && (c == nil || c.Key != key) {
			if named, err := s.pipes.Published(ctx, db, tenant, key); err == nil {
				c = named
			}
		}
	}
	if c != nil {
		cur := str(rec.data[c.StageField])
		extras["stage"] = cur
		if old != nil {
			extras["prevStage"] = str(old.data[c.StageField])
		}
		if st, _, ok := c.Stage(cur); ok && st.HasSLA && st.Terminal == "" {
			extras["stageSlaDays"], extras["hasSla"] = float64(st.SLADays), true
		}
		var entered time.Time
		hist := pipeline.History(rec.meta)
		for i := len(hist) - 1; i >= 0; i-- {
			if hist[i].Stage == cur && hist[i].ExitedAt == nil {
				entered = hist[i].EnteredAt
				break
			}
		}
		if entered.IsZero() {
			entered, _ = period.ParseInstant(rec.created)
		}
		if !entered.IsZero() {
			extras["daysInStage"] = s.now().Sub(entered).Hours() / 24
		}
	} else if st, ok := rec.data["stage"].(string); ok {
		extras["stage"] = st
		if old != nil {
			extras["prevStage"] = str(old.data["stage"])
		}
	}
	for k, v := range extras {
		if _, isField := obj.Fields[k]; !isField {
			vars[k] = v
		}
	}
	return vars
}

// ownerAvgTTL bounds how stale a cached owner average may be: the averages
// are a baseline to compare against, not a figure anybody reads exactly.
const ownerAvgTTL = time.Minute

type avgKey struct {
	db          store.DB
	object, who string
	objectVer   int64
}

type avgEntry struct {
	at  time.Time
	avg map[string]any
}

// ownerAverages fills ownerAvg: the average of every number field over the
// owner's live records of the object (the last 1,000), cached for
// ownerAvgTTL so a burst of writes by one rep reads them once.
func (s *Service) ownerAverages(ctx context.Context, db store.DB, obj *objects.Compiled, owner, exclude string) map[string]any {
	k := avgKey{db, obj.Key, owner, obj.Version}
	if e, ok := s.avgs.Load(k); ok && time.Since(e.(avgEntry).at) < ownerAvgTTL {
		return e.(avgEntry).avg
	}
	avg := s.computeAverages(ctx, db, obj, owner, exclude)
	s.avgs.Store(k, avgEntry{at: time.Now(), avg: avg})
	return avg
}

func (s *Service) computeAverages(ctx context.Context, db store.DB, obj *objects.Compiled, owner, exclude string) map[string]any {
	sums, counts := map[string]float64{}, map[string]int{}
	page, err := db.Find(ctx, obj.Collection(), store.Query{Where: []store.Cond{
		{Field: "deleted", Op: store.Eq, Value: false}, {Field: "owner", Op: store.Eq, Value: owner}},
		Sort: []store.SortKey{{Field: "updatedAt", Desc: true}}, Limit: 1000})
	out := map[string]any{}
	if err != nil {
		return out
	}
	for _, d := range page.Docs {
		if store.ID(d) == exclude {
			continue
		}
		data, _ := d["data"].(map[string]any)
		for k, v := range obj.Schema.ToEnv(data) {
			if f, ok := v.(float64); ok {
				sums[k] += f
				counts[k]++
			} else if i, ok := v.(int); ok {
				sums[k] += float64(i)
				counts[k]++
			}
		}
	}
	for k, n := range counts {
		out[k] = sums[k] / float64(n)
	}
	return out
}

func (s *Service) evalRecord(ctx context.Context, db store.DB, tenant string, r *Rule, obj *objects.Compiled, vars map[string]any, owner, id string) (bool, error) {
	if r.ReadsOwner {
		if avg, _ := vars["ownerAvg"].(map[string]any); len(avg) == 0 && owner != "" {
			vars["ownerAvg"] = s.ownerAverages(ctx, db, obj, owner, id)
		}
	}
	ok, err := r.Condition.Run(vars)
	if err != nil {
		return false, fmt.Errorf("condition of %s: %w", r.Key, err)
	}
	if ok != true {
		return false, nil
	}
	if u, err := auth.GetUser(ctx, db, owner); err == nil {
		if _, isField := obj.Fields["ownerName"]; !isField {
			vars["ownerName"] = u.DisplayName
		}
	}
	return s.fire(ctx, db, tenant, r, vars, subject{owner: owner}, id)
}

// RunResult says what a run of a rule did.
type RunResult struct {
	Evaluated int `json:"evaluated"`
	Matched   int `json:"matched"`
	Fired     int `json:"fired"`
}

// RunNow evaluates a published rule over everything it watches (every live
// record of its object, or every node's progress row), as its schedule does.
func (s *Service) RunNow(ctx context.Context, db store.DB, tenant, key string) (RunResult, error) {
	if err := s.declare(ctx, db); err != nil {
		return RunResult{}, err
	}
	v, err := s.docs.PublishedVersion(ctx, db, key)
	if err != nil {
		return RunResult{}, err
	}
	r, err := s.Rule(ctx, db, tenant, key, v)
	if err != nil {
		return RunResult{}, err
	}
	return s.run(ctx, db, tenant, r)
}

func (s *Service) run(ctx context.Context, db store.DB, tenant string, r *Rule) (RunResult, error) {
	if r.Def.Source == SourceRecord {
		return s.runRecords(ctx, db, tenant, r)
	}
	return s.runProgress(ctx, db, tenant, r)
}

func (s *Service) runRecords(ctx context.Context, db store.DB, tenant string, r *Rule) (RunResult, error) {
	var res RunResult
	obj, err := s.objs.Published(ctx, db, tenant, r.Def.Object)
	if err != nil {
		return res, err
	}
	var docs []store.Doc
	err = db.Scan(ctx, obj.Collection(), store.Query{Where: []store.Cond{{Field: "deleted", Op: store.Eq, Value: false}}}, func(d store.Doc) error {
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		return res, err
	}
	for _, d := range docs {
		v := viewFromDoc(d)
		vars := s.recordVars(ctx, db, tenant, obj, v, nil, "schedule")
		res.Evaluated++
		ok, err := r.Condition.Run(vars)
		if r.ReadsOwner {
			vars["ownerAvg"] = s.ownerAverages(ctx, db, obj, v.owner, v.id)
			ok, err = r.Condition.Run(vars)
		}
		if err != nil || ok != true {
			continue
		}
		res.Matched++
		fired, err := s.evalRecord(ctx, db, tenant, r, obj, vars, v.owner, v.id)
		if err != nil {
			return res, err
		}
		if fired {
			res.Fired++
		}
	}
	return res, nil
}

var systemPrincipal = func(tenant string) *auth.Principal {
	return &auth.Principal{Tenant: tenant, UserID: "system", Username: "system", Roles: []auth.Role{auth.RoleAdmin}}
}

func (s *Service) runProgress(ctx context.Context, db store.DB, tenant string, r *Rule) (RunResult, error) {
	var res RunResult
	if s.prog == nil || s.tenants == nil {
		return res, apperr.New(apperr.KindUnavailable, "progress_unavailable", "progress is not available on this server")
	}
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return res, err
	}
	grain := period.Grain(r.Def.Grain)
	if grain == "" {
		grain = "month"
	}
	now := s.now()
	per := t.Calendar().Of(now, grain)
	p := systemPrincipal(tenant)
	teams, err := auth.ListTeams(ctx, db)
	if err != nil {
		return res, err
	}
	type nodeRow struct {
		row   progress.Row
		res   *progress.Result
		teams []string
	}
	var rows []nodeRow
	query := func(node string) (*progress.Result, error) {
		return s.prog.Query(ctx, db, tenant, p, progress.Query{Metric: r.Def.Metric, Period: per, Node: node, Now: now})
	}
	switch r.Def.Nodes {
	case "company":
		out, err := query("company")
		if err != nil {
			return res, err
		}
		rows = append(rows, nodeRow{row: out.Node, res: out})
	case "users":
		seen := map[string]bool{}
		for _, tm := range teams {
			out, err := query("team:" + tm.ID)
			if err != nil {
				return res, err
			}
			for _, c := range out.Children {
				if c.Node.Kind == "user" && !seen[c.Node.ID] {
					seen[c.Node.ID] = true
					rows = append(rows, nodeRow{row: c, res: out})
				}
			}
		}
	default:
		for _, tm := range teams {
			out, err := query("team:" + tm.ID)
			if err != nil {
				return res, err
			}
			rows = append(rows, nodeRow{row: out.Node, res: out, teams: []string{tm.ID}})
		}
	}
	var stuck []pipeline.StuckRecord
	if r.Def.Pipeline != "" && s.pipes != nil {
		if stuck, err = s.pipes.Stuck(ctx, db, tenant, r.Def.Pipeline, now, auth.Visibility{All: true}); err != nil {
			return res, err
		}
	}
	for _, nr := range rows {
		scale := float64(nr.res.Metric.Scale)
		if scale == 0 {
			scale = 1
		}
		num := func(p *int64) float64 {
			if p == nil {
				return 0
			}
			return float64(*p) / scale
		}
		ratio := func(p *float64) float64 {
			if p == nil {
				return 0
			}
			return *p
		}
		row := nr.row
		vars := map[string]any{"node": row.Node.Name, "nodeKind": row.Node.Kind, "nodeId": row.Node.ID, "period": per.Key, "metric": r.Def.Metric,
			"hasTarget": row.Target != nil && *row.Target > 0, "target": num(row.Target), "actual": num(row.Actual), "expected": num(row.Expected),
			"forecast": num(row.Forecast.Weighted), "gap": num(row.Gap), "attainment": ratio(row.Attainment), "pacing": ratio(row.Pacing),
			"elapsed": nr.res.Period.Elapsed, "stuckCount": 0.0, "stuckList": ""}
		if stuck != nil {
			members := s.nodeMembers(ctx, db, teams, row.Node, now)
			var lines []string
			for _, st := range stuck {
				if members != nil && !members[st.Owner] {
					continue
				}
				if len(lines) < 20 {
					title := st.Title
					if title == "" {
						title = st.ID
					}
					lines = append(lines, fmt.Sprintf("- %s(%s,%s 天 / SLA %d 天)", title, st.Stage, formatNumber(st.Days), st.SLADays))
				}
				vars["stuckCount"] = vars["stuckCount"].(float64) + 1
			}
			vars["stuckList"] = strings.Join(lines, "\n")
		}
		res.Evaluated++
		ok, err := r.Condition.Run(vars)
		if err != nil || ok != true {
			continue
		}
		res.Matched++
		sub := subject{teams: nr.teams}
		if row.Node.Kind == "user" {
			sub.owner = row.Node.ID
		}
		fired, err := s.fire(ctx, db, tenant, r, vars, sub, row.Node.Kind+":"+row.Node.ID+":"+per.Key)
		if err != nil {
			return res, err
		}
		if fired {
			res.Fired++
		}
	}
	return res, nil
}

// nodeMembers returns the users of a node today (nil: everybody).
func (s *Service) nodeMembers(ctx context.Context, db store.DB, teams []auth.Team, n progress.Node, now time.Time) map[string]bool {
	switch n.Kind {
	case "user":
		return map[string]bool{n.ID: true}
	case "team":
		ids := auth.Subtree(teams, []string{n.ID})
		ms, err := auth.MembersOf(ctx, db, ids)
		out := map[string]bool{}
		if err != nil {
			return out
		}
		day := now.Format("2006-01-02")
		for _, list := range ms {
			for _, m := range list {
				if m.From <= day && (m.To == "" || day < m.To) {
					out[m.UserID] = true
				}
			}
		}
		return out
	}
	return nil
}

// Tick runs the scheduled rules of a tenant that are due. Each due run is
// claimed by moving its next time forward with a version check, and a lease
// (holder, until) covers the evaluation: exactly one instance runs it.
func (s *Service) Tick(ctx context.Context, db store.DB, tenant string) error {
	all, err := s.published(ctx, db, tenant)
	if err != nil {
		return err
	}
	loc := time.UTC
	if s.tenants != nil {
		if t, err := s.tenants.Get(ctx, tenant); err == nil && t.TimeZone != "" {
			if l, err := time.LoadLocation(t.TimeZone); err == nil {
				loc = l
			}
		}
	}
	now := s.now()
	for _, r := range all {
		if r.Cron == nil {
			continue
		}
		d, err := db.Get(ctx, collSched, r.Key)
		if errors.Is(err, store.ErrNotFound) {
			next := r.Cron.Next(now.In(loc)).UTC()
			_, err = db.Insert(ctx, collSched, store.Doc{store.KeyID: r.Key, "cron": r.Def.Schedule, "next": period.FormatInstant(next), "holder": "", "until": ""})
			if err != nil && !errors.Is(err, store.ErrDuplicate) {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if str(d["cron"]) != r.Def.Schedule { // the schedule changed: start over from now
			d["cron"], d["next"] = r.Def.Schedule, period.FormatInstant(r.Cron.Next(now.In(loc)).UTC())
			_, _ = db.Replace(ctx, collSched, d, store.Version(d))
			continue
		}
		next, _ := time.Parse(time.RFC3339Nano, str(d["next"]))
		if now.Before(next) {
			continue
		}
		if until, err := time.Parse(time.RFC3339Nano, str(d["until"])); err == nil && until.After(now) && str(d["holder"]) != s.Instance {
			continue
		}
		d["next"] = period.FormatInstant(r.Cron.Next(now.In(loc)).UTC())
		d["holder"], d["until"] = s.Instance, period.FormatInstant(now.Add(10*time.Minute))
		v, err := db.Replace(ctx, collSched, d, store.Version(d))
		if errors.Is(err, store.ErrConflict) {
			continue // another instance claimed this run
		}
		if err != nil {
			return err
		}
		res, runErr := s.run(ctx, db, tenant, r)
		d["holder"], d["until"], d["lastRun"] = "", "", period.FormatInstant(now)
		d["lastResult"] = map[string]any{"evaluated": res.Evaluated, "matched": res.Matched, "fired": res.Fired}
		if runErr != nil {
			d["lastError"] = runErr.Error()
		} else {
			d["lastError"] = ""
		}
		_, _ = db.Replace(ctx, collSched, d, v)
		if runErr != nil {
			slog.Warn("scheduled alert failed", "tenant", tenant, "alert", r.Key, "err", runErr)
		}
	}
	return nil
}
