package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/records"
	"stride/engine/reports"
	"stride/engine/store"
)

// reportRoutes are the report configuration kind, its runs and exports,
// the built-in reports, period reviews (复盘) and record-list exports
// (engine/reports).
func (s *Server) reportRoutes() []route {
	base := "/api/v1/reports"
	runQ := []param{{"period", "period key, e.g. 2026-Q1 (default: every row; built-ins: this quarter)"},
		{"node", "company, team:<id> or user:<id> (default: everything the caller sees)"},
		{"format", "json (default), csv or xlsx: a streamed file with Chinese headers"}}
	rs := s.configRoutes(base, "reports", "report", "ReportDefinition", func() configService { return s.d.Reports }, nil)
	rs = append(rs,
		route{method: "GET", path: base + "/:key/run", tag: "reports",
			summary: "Run a published report (draft=true: the working copy, admins): columns with zh-CN/en labels and types, rows, totals, chart hint; or export it",
			access:  recordReader, resp: "ReportResult", status: 200, query: append(runQ, param{"draft", "true: run the working copy (admins)"}), handle: s.runReport},
		route{method: "POST", path: base + "/preview", tag: "reports", summary: "Run an unsaved report definition (the builder's live preview)",
			access: adminOnly, body: "ReportDefinition", resp: "ReportResult", status: 200, query: runQ[:2], handle: s.previewReport},
		route{method: "GET", path: base + "/builtin", tag: "reports", summary: "List the built-in reports",
			access: recordReader, resp: "ReportBuiltinList", status: 200, handle: s.listBuiltins},
		route{method: "GET", path: base + "/builtin/:name", tag: "reports",
			summary: "Run a built-in report: attainment, leaderboard, trend, funnel, velocity, winrate, coverage, commission (or export it)",
			access:  recordReader, resp: "ReportResult", status: 200, query: append(runQ,
				param{"metric", "metric key (attainment, leaderboard, trend, coverage)"}, param{"pipeline", "pipeline key (funnel, velocity, winrate)"},
				param{"grain", "trend points: day (default) or week"}, param{"by", "leaderboard order: actual (default) or attainment"},
				param{"limit", "leaderboard: at most this many rows"}), handle: s.runBuiltin},
		route{method: "POST", path: base + "/reviews", tag: "reports",
			summary: "Take a period review (复盘): plan vs actual with the gap by child node, dimension value and funnel stage, stored as a snapshot",
			access:  managerOrAdmin, body: "ReviewRequest", resp: "Review", status: 201, handle: s.createReview},
		route{method: "GET", path: base + "/reviews", tag: "reports", summary: "List the period reviews the caller may see, newest first",
			access: recordReader, resp: "ReviewList", status: 200, query: []param{{"metric", "metric key"}, {"period", "period key"}}, handle: s.listReviews},
		route{method: "GET", path: base + "/reviews/:id", tag: "reports", summary: "Get a period review as it was taken",
			access: recordReader, resp: "Review", status: 200, handle: s.getReview},
		route{method: "GET", path: "/api/v1/records/:object/export", tag: "records",
			summary: "Export the records the caller sees as CSV or XLSX (filters and sort as for a list; streamed; Chinese headers; money in 元)",
			access:  recordReader, status: 200, query: []param{{"format", "csv (default) or xlsx"},
				{"<field>", "equals; also <field>[ne|gt|gte|lt|lte|in]=…"}, {"sort", "field, -field for descending"}}, handle: s.exportRecords},
	)
	// Without a report service every report route is a 404.
	for i := range rs {
		h := rs[i].handle
		rs[i].handle = func(c *gin.Context, r *request) error {
			if s.d.Reports == nil {
				return apperr.NotFound("reports are not enabled on this server")
			}
			return h(c, r)
		}
	}
	return rs
}

// reportFormat reads ?format= (json by default).
func reportFormat(c *gin.Context, def string) (string, error) {
	f := strings.ToLower(c.DefaultQuery("format", def))
	if f != "json" && f != reports.FormatCSV && f != reports.FormatXLSX {
		return "", &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_format", Message: "format must be json, csv or xlsx",
			Fields: []apperr.FieldError{{Pointer: "/query/format", Code: "enum", Message: "json, csv or xlsx"}}}
	}
	return f, nil
}

// optionalPeriod parses ?period= when given.
func (s *Server) optionalPeriod(c *gin.Context, tenantName string) (*period.Period, error) {
	if c.Query("period") == "" {
		return nil, nil
	}
	p, err := s.periodParam(c, tenantName)
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// sendResult answers a result as JSON or as a file.
func sendResult(c *gin.Context, res *reports.Result, format, name string) error {
	if format == "json" {
		c.JSON(http.StatusOK, res)
		return nil
	}
	t, err := reports.NewTable(format, c.Writer, "报表")
	if err != nil {
		return err
	}
	if res.Period != nil {
		name += "-" + res.Period.Key
	}
	c.Header("Content-Type", reports.ContentType(format))
	c.Header("Content-Disposition", `attachment; filename="`+safeName(name)+"."+format+`"`)
	c.Status(http.StatusOK)
	return reports.WriteResult(t, res)
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func (s *Server) runReport(c *gin.Context, r *request) error {
	format, err := reportFormat(c, "json")
	if err != nil {
		return err
	}
	per, err := s.optionalPeriod(c, r.p.Tenant)
	if err != nil {
		return err
	}
	draft := c.Query("draft") == "true"
	if draft && !r.p.IsAdmin() {
		return apperr.Forbidden("only admins run a report's draft")
	}
	res, err := s.d.Reports.Run(c.Request.Context(), r.db, r.p.Tenant, r.p, c.Param("key"), reports.Query{Period: per, Node: c.Query("node"), Draft: draft})
	if err != nil {
		return err
	}
	return sendResult(c, res, format, "report-"+c.Param("key"))
}

func (s *Server) previewReport(c *gin.Context, r *request) error {
	var def map[string]any
	if err := decodeJSON(c, &def); err != nil {
		return err
	}
	if def == nil {
		return apperr.BadRequest("the body must be a report definition")
	}
	per, err := s.optionalPeriod(c, r.p.Tenant)
	if err != nil {
		return err
	}
	res, err := s.d.Reports.RunDefinition(c.Request.Context(), r.db, r.p.Tenant, r.p, def, reports.Query{Period: per, Node: c.Query("node")})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

func (s *Server) listBuiltins(c *gin.Context, _ *request) error {
	c.JSON(http.StatusOK, gin.H{"items": reports.Builtins})
	return nil
}

func (s *Server) runBuiltin(c *gin.Context, r *request) error {
	format, err := reportFormat(c, "json")
	if err != nil {
		return err
	}
	name := c.Param("name")
	if name == "commission" && !r.p.Integration && !(r.p.IsAdmin() || r.p.Has(auth.RoleManager) || r.p.Has(auth.RoleRep) || r.p.Has(auth.RoleFinance)) {
		return apperr.Forbidden("your role cannot see commission")
	}
	per, err := s.periodParam(c, r.p.Tenant)
	if err != nil {
		return err
	}
	limit := 0
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
			return &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_query", Message: "limit must be a number from 1 to 10000",
				Fields: []apperr.FieldError{{Pointer: "/query/limit", Code: "range", Message: "1–10000"}}}
		}
	}
	res, err := s.d.Reports.Builtin(c.Request.Context(), r.db, r.p.Tenant, r.p, name, reports.BuiltinQuery{
		Metric: c.Query("metric"), Pipeline: c.Query("pipeline"), Period: per, Node: c.Query("node"),
		Grain: c.Query("grain"), By: c.Query("by"), Limit: limit, Now: time.Now()})
	if err != nil {
		return err
	}
	return sendResult(c, res, format, name)
}

func (s *Server) createReview(c *gin.Context, r *request) error {
	var in reports.ReviewRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	rv, err := s.d.Reports.CreateReview(c.Request.Context(), r.db, r.p.Tenant, r.p, in)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/reports/reviews/"+rv.ID)
	c.JSON(http.StatusCreated, rv)
	return nil
}

func (s *Server) listReviews(c *gin.Context, r *request) error {
	items, err := s.d.Reports.Reviews(c.Request.Context(), r.db, r.p, c.Query("metric"), c.Query("period"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
	return nil
}

func (s *Server) getReview(c *gin.Context, r *request) error {
	rv, err := s.d.Reports.GetReview(c.Request.Context(), r.db, r.p, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, rv)
	return nil
}

func (s *Server) exportRecords(c *gin.Context, r *request) error {
	format := strings.ToLower(c.DefaultQuery("format", reports.FormatCSV))
	if format != reports.FormatCSV && format != reports.FormatXLSX {
		return &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_format", Message: "format must be csv or xlsx",
			Fields: []apperr.FieldError{{Pointer: "/query/format", Code: "enum", Message: "csv or xlsx"}}}
	}
	q := records.ListQuery{Sort: c.Query("sort")}
	for k, vs := range c.Request.URL.Query() {
		if k == "sort" || k == "format" {
			continue
		}
		field, op := k, store.Eq
		if i := strings.IndexByte(k, '['); i > 0 && strings.HasSuffix(k, "]") {
			field, op = k[:i], store.Op(k[i+1:len(k)-1])
		}
		for _, v := range vs {
			q.Filters = append(q.Filters, records.Filter{Field: field, Op: op, Value: v})
		}
	}
	object := c.Param("object")
	w := &lazyHeaders{c: c, format: format, name: safeName(object)}
	return s.d.Reports.ExportRecords(c.Request.Context(), r.db, r.p.Tenant, r.p, object, q, format, w)
}

// lazyHeaders sets the file headers on the first byte written, so an error
// found before anything is written is still a problem+json answer.
type lazyHeaders struct {
	c            *gin.Context
	format, name string
	started      bool
}

func (w *lazyHeaders) Write(b []byte) (int, error) {
	if !w.started {
		w.started = true
		w.c.Header("Content-Type", reports.ContentType(w.format))
		w.c.Header("Content-Disposition", `attachment; filename="`+w.name+"."+w.format+`"`)
		w.c.Status(http.StatusOK)
	}
	return w.c.Writer.Write(b)
}

// Flush passes flushes through to the response.
func (w *lazyHeaders) Flush() { w.c.Writer.Flush() }

// reportComponents are the OpenAPI schemas of the report routes.
func reportComponents(defs map[string]any) map[string]any {
	column := obj(map[string]any{"key": str, "label": i18n, "type": map[string]any{"type": "string",
		"enum": []string{"string", "integer", "number", "money", "percent", "date", "datetime", "boolean"}},
		"role": map[string]any{"type": "string", "enum": []string{"dimension", "measure"}}})
	result := obj(map[string]any{
		"report":  obj(map[string]any{"key": str, "label": i18n, "version": integer, "builtin": boolean, "draft": boolean}),
		"period":  obj(map[string]any{"key": str, "start": instant, "end": instant}),
		"node":    str,
		"columns": arr(column),
		"rows":    arr(anyObj),
		"totals":  anyObj,
		"chart":   obj(map[string]any{"type": str, "x": str, "y": arr(str), "series": str}),
		"scanned": integer, "groups": integer, "extra": anyObj,
	})
	review := obj(map[string]any{"id": str, "metric": str, "period": str, "node": str, "nodeName": str, "at": instant, "by": str,
		"closed": boolean, "result": anyObj})
	return map[string]any{
		"ReportDefinition":  schemaDoc("report.schema.json", "Report_", defs),
		"ReportResult":      result,
		"ReportBuiltinList": obj(map[string]any{"items": arr(obj(map[string]any{"name": str, "label": i18n, "params": arr(str), "chart": str}))}),
		"ReviewRequest":     obj(map[string]any{"metric": str, "period": str, "node": str}, "metric", "period"),
		"Review":            review,
		"ReviewList":        obj(map[string]any{"items": arr(review)}),
	}
}
