package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/period"
)

func (s *Server) pipelineRoutes() []route {
	rs := s.configRoutes("/api/v1/pipelines", "pipelines", "pipeline", "PipelineDefinition",
		func() configService { return s.d.Pipelines }, s.getPipeline)
	return append(rs,
		route{method: "POST", path: "/api/v1/records/:object/:id/transition", tag: "pipelines",
			summary: "Move a record to a stage of its pipeline (required fields and guard checked; If-Match)",
			access:  recordWriter, body: "TransitionRequest", resp: "Record", status: 200, handle: s.transition},
		route{method: "GET", path: "/api/v1/pipelines/:key/funnel", tag: "pipelines",
			summary: "Funnel of a pipeline over a period: records entering each stage, conversion, days in stage",
			access:  recordReader, resp: "Funnel", status: 200, query: []param{{"period", "period key, e.g. 2026-Q4 (default: this quarter)"}}, handle: s.funnel},
		route{method: "GET", path: "/api/v1/pipelines/:key/stuck", tag: "pipelines",
			summary: "Open records whose days in stage exceed the stage SLA, oldest first",
			access:  recordReader, resp: "StuckList", status: 200, handle: s.stuck},
	)
}

func (s *Server) getPipeline(c *gin.Context, r *request) error {
	key := c.Param("key")
	if c.Query("published") == "true" {
		comp, err := s.d.Pipelines.Published(c.Request.Context(), r.db, r.p.Tenant, key)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"key": key, "version": comp.Version, "status": "published",
			"publishedVersion": comp.Version, "definition": comp.Definition})
		return nil
	}
	o, err := s.d.Pipelines.Get(c.Request.Context(), r.db, key)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(o.Version))
	c.JSON(http.StatusOK, o)
	return nil
}

type transitionRequest struct {
	To   string `json:"to"`
	Note string `json:"note"`
}

func (s *Server) transition(c *gin.Context, r *request) error {
	var in transitionRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.To == "" {
		return apperr.Invalid("the target stage is required", apperr.FieldError{Pointer: "/to", Code: "required", Message: "to is required"})
	}
	if len([]rune(in.Note)) > 2000 {
		return apperr.Invalid("the note is too long", apperr.FieldError{Pointer: "/note", Code: "max_length", Message: "at most 2000 characters"})
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	rec, err := s.d.Pipelines.Transition(c.Request.Context(), r.db, r.p, c.Param("object"), c.Param("id"), in.To, in.Note, v)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(rec.Version))
	c.JSON(http.StatusOK, rec)
	return nil
}

// calendar returns the tenant's calendar (time zone and fiscal start month).
func (s *Server) calendar(c *gin.Context, tenantName string) (period.Calendar, error) {
	t, err := s.d.Tenants.Get(c.Request.Context(), tenantName)
	if err != nil {
		return period.Calendar{}, err
	}
	return t.Calendar(), nil
}

// periodParam parses ?period= in the tenant's calendar (default: the current quarter).
func (s *Server) periodParam(c *gin.Context, tenantName string) (period.Period, error) {
	cal, err := s.calendar(c, tenantName)
	if err != nil {
		return period.Period{}, err
	}
	key := c.Query("period")
	if key == "" {
		return cal.Of(time.Now(), period.Quarter), nil
	}
	p, err := cal.Parse(key)
	if err != nil {
		return period.Period{}, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_period",
			Message: "period must be a key like 2026, 2026-Q3, 2026-11, 2026-W47 or 2026-11-23",
			Fields:  []apperr.FieldError{{Pointer: "/query/period", Code: "format", Message: err.Error()}}}
	}
	return p, nil
}

func (s *Server) funnel(c *gin.Context, r *request) error {
	p, err := s.periodParam(c, r.p.Tenant)
	if err != nil {
		return err
	}
	vis, err := auth.VisibilityOf(c.Request.Context(), r.db, r.p)
	if err != nil {
		return err
	}
	f, err := s.d.Pipelines.Funnel(c.Request.Context(), r.db, r.p.Tenant, c.Param("key"), p.Start, p.End, vis)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"pipeline": f.Pipeline, "version": f.Version,
		"period": gin.H{"key": p.Key, "start": p.Start, "end": p.End}, "stages": f.Stages})
	return nil
}

func (s *Server) stuck(c *gin.Context, r *request) error {
	vis, err := auth.VisibilityOf(c.Request.Context(), r.db, r.p)
	if err != nil {
		return err
	}
	items, err := s.d.Pipelines.Stuck(c.Request.Context(), r.db, r.p.Tenant, c.Param("key"), time.Now(), vis)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": nonNil(items)})
	return nil
}
