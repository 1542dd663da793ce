package api

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/config"
	"stride/engine/progress"
	"stride/engine/store"
	"stride/engine/tracking"
)

// metricDocs adapts the tracker to the configuration routes: reads go to its
// definition store; saves and publishes go through the tracker, which
// validates and (on publish) rebuilds the metric's rollups.
type metricDocs struct{ t *tracking.Tracker }

func (m metricDocs) List(ctx context.Context, db store.DB) ([]config.Doc, error) {
	return m.t.Definitions().List(ctx, db)
}
func (m metricDocs) Get(ctx context.Context, db store.DB, key string) (config.Doc, error) {
	return m.t.Definitions().Get(ctx, db, key)
}
func (m metricDocs) Versions(ctx context.Context, db store.DB, key string) ([]config.VersionInfo, error) {
	return m.t.Definitions().Versions(ctx, db, key)
}
func (m metricDocs) Save(ctx context.Context, db store.DB, tenant, actor, key string, def map[string]any, ifVersion int64) (config.Doc, error) {
	return m.t.Save(ctx, db, tenant, actor, key, def, ifVersion)
}
func (m metricDocs) Publish(ctx context.Context, db store.DB, tenant, actor, key string) (config.Doc, error) {
	return m.t.Publish(ctx, db, tenant, actor, key)
}

var _ configService = metricDocs{}

func (s *Server) trackingRoutes() []route {
	rs := s.configRoutes("/api/v1/metrics", "metrics", "metric", "MetricDefinition",
		func() configService { return metricDocs{s.d.Tracker} }, nil)
	nodeQ := []param{{"metric", "metric key"}, {"period", "period key, e.g. 2026-Q4 (default: this quarter)"},
		{"node", "company, team:<id> or user:<id> (default: the caller's own)"},
		{"dim", "a value of the metric's dimension: answer for that value only (e.g. dim=channel_a)"}}
	progressQ := append(slices.Clone(nodeQ), param{"level", "target level: target (default), floor or stretch"})
	return append(rs,
		route{method: "GET", path: "/api/v1/progress", tag: "progress",
			summary: "Progress of a metric for an org node and its children: actual, forecast (targets once plans exist)",
			access:  recordReader, resp: "Progress", status: 200, query: progressQ, handle: s.progress},
		route{method: "GET", path: "/api/v1/progress/records", tag: "progress",
			summary: "The records (and split shares) behind a progress actual; for a derived metric, its formula's inputs",
			access:  recordReader, resp: "ShareList", status: 200, query: nodeQ, handle: s.progressRecords},
		route{method: "POST", path: "/api/v1/reconcile", tag: "progress",
			summary: "Recompute rollups from records and report drift (repair on request)",
			access:  adminOnly, body: "ReconcileRequest", resp: "ReconcileReport", status: 200, handle: s.reconcile},
	)
}

func (s *Server) metricParam(c *gin.Context) (string, error) {
	m := c.Query("metric")
	if m == "" {
		return "", &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_query", Message: "metric is required",
			Fields: []apperr.FieldError{{Pointer: "/query/metric", Code: "required", Message: "name a metric, e.g. metric=won_revenue"}}}
	}
	return m, nil
}

func (s *Server) progress(c *gin.Context, r *request) error {
	m, err := s.metricParam(c)
	if err != nil {
		return err
	}
	per, err := s.periodParam(c, r.p.Tenant)
	if err != nil {
		return err
	}
	res, err := s.d.Progress.Query(c.Request.Context(), r.db, r.p.Tenant, r.p, progress.Query{Metric: m, Period: per,
		Node: c.Query("node"), Dim: c.Query("dim"), Level: c.Query("level"), Now: time.Now()})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

func (s *Server) progressRecords(c *gin.Context, r *request) error {
	m, err := s.metricParam(c)
	if err != nil {
		return err
	}
	per, err := s.periodParam(c, r.p.Tenant)
	if err != nil {
		return err
	}
	d, err := s.d.Progress.Records(c.Request.Context(), r.db, r.p.Tenant, r.p, progress.Query{Metric: m, Period: per,
		Node: c.Query("node"), Dim: c.Query("dim")})
	if err != nil {
		return err
	}
	d.Items = nonNil(d.Items)
	c.JSON(http.StatusOK, d)
	return nil
}

type reconcileRequest struct {
	Repair bool `json:"repair"`
}

func (s *Server) reconcile(c *gin.Context, r *request) error {
	var in reconcileRequest
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	rep, err := s.d.Tracker.Reconcile(c.Request.Context(), r.db, r.p.Tenant, in.Repair)
	if err != nil {
		return err
	}
	if in.Repair {
		if err := audit.Append(c.Request.Context(), r.db, r.p.UserID, "tracking.reconcile_repair", "tenant:"+r.p.Tenant,
			map[string]any{"drift": len(rep.Drift)}); err != nil {
			return err
		}
	}
	rep.Drift = nonNil(rep.Drift)
	c.JSON(http.StatusOK, rep)
	return nil
}
