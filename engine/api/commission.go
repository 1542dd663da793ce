package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/commission"
	"stride/engine/jobs"
)

// Who may do what with commission (DESIGN.md §7, §8).
var (
	// commissionAdmin runs plans and simulates them: admins and finance.
	commissionAdmin = access{roles: []auth.Role{auth.RoleAdmin, auth.RoleFinance}}
	// statementReader reads statements (row visibility applies).
	statementReader = access{roles: []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep, auth.RoleFinance}}
	// statementApprover approves (the service checks the rep's subtree and
	// refuses the rep themself) and resolves disputes.
	statementApprover = access{roles: []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleFinance}}
	// disputeRaiser may flag a line of a statement of their own (the
	// service refuses anyone but the statement's rep; a manager may be paid
	// by a plan too).
	disputeRaiser = access{roles: []auth.Role{auth.RoleRep, auth.RoleManager}}
)

func (s *Server) commissionRoutes() []route {
	rs := s.configRoutes("/api/v1/commission-plans", "commission", "commission plan", "CommissionPlanDefinition",
		func() configService { return s.d.Commission }, nil)
	stmtQ := []param{{"user", "a rep's user id"}, {"period", "period key, e.g. 2026-03"}, {"plan", "plan key"},
		{"status", "draft, approved or paid"}, {"limit", "page size (default 50, max 500)"}, {"cursor", "from a previous page's next"}}
	rs = append(rs,
		route{method: "POST", path: "/api/v1/commission-plans/:key/check", tag: "commission",
			summary: "Check a plan definition without saving it (the editor's live check): 200 with ok and the errors a save would answer 422 with",
			access:  adminOnly, body: "CommissionPlanDefinition", resp: "CommissionPlanCheck", status: 200, handle: s.checkPlan},
		route{method: "POST", path: "/api/v1/commission-plans/:key/simulate", tag: "commission",
			summary: "What-if: run the plan's draft over a period beside the version in force; per rep old/new/delta and totals (writes nothing)",
			access:  commissionAdmin, body: "SimulateRequest", resp: "Simulation", status: 200, handle: s.simulate},
		route{method: "POST", path: "/api/v1/commission-runs", tag: "commission",
			summary: "Run a plan for a period as a job (202): every assigned rep's statement is computed; drafts rewritten, locked periods adjusted",
			access:  commissionAdmin, body: "CommissionRunRequest", resp: "Job", status: 202, handle: s.startRun},
		route{method: "GET", path: "/api/v1/commission-runs/:id", tag: "commission", summary: "A commission run: its job (status, percent) and report (per-rep errors)",
			access: commissionAdmin, resp: "CommissionRun", status: 200, handle: s.getRun},
		route{method: "GET", path: "/api/v1/statements", tag: "commission", summary: "Commission statements with their lines (reps see their own, managers their subtree)",
			access: statementReader, resp: "StatementList", status: 200, query: stmtQ, handle: s.listStatements},
		route{method: "GET", path: "/api/v1/statements/export", tag: "commission", summary: "Export statements as CSV or XLSX, one row per line (visibility applies)",
			access: statementReader, status: 200, query: append([]param{{"format", "csv (default) or xlsx"}}, stmtQ[:4]...), handle: s.exportStatements},
		route{method: "GET", path: "/api/v1/statements/:id", tag: "commission", summary: "A statement with every line explained (text in zh-CN and en)",
			access: statementReader, resp: "Statement", status: 200, handle: s.getStatement},
		route{method: "GET", path: "/api/v1/statements/:id/export", tag: "commission", summary: "Export one statement as CSV or XLSX",
			access: statementReader, status: 200, query: []param{{"format", "csv (default) or xlsx"}}, handle: s.exportStatement},
		route{method: "POST", path: "/api/v1/statements/:id/approve", tag: "commission", summary: "Approve a draft statement (the rep's manager, finance or an admin; never the rep; If-Match)",
			access: statementApprover, body: "StatementAction", resp: "Statement", status: 200, handle: s.statementAction("approve")},
		route{method: "POST", path: "/api/v1/statements/:id/pay", tag: "commission", summary: "Mark an approved statement paid (locked for good)",
			access: commissionAdmin, body: "StatementAction", resp: "Statement", status: 200, handle: s.statementAction("pay")},
		route{method: "POST", path: "/api/v1/statements/:id/reopen", tag: "commission", summary: "Reopen an approved (unpaid) statement as a draft",
			access: commissionAdmin, body: "StatementAction", resp: "Statement", status: 200, handle: s.statementAction("reopen")},
		route{method: "POST", path: "/api/v1/statements/:id/lines/:lineId/disputes", tag: "commission", summary: "Dispute a line of your own statement with a comment (the statement's rep only)",
			access: disputeRaiser, body: "DisputeInput", resp: "Dispute", status: 201, handle: s.raiseDispute},
		route{method: "GET", path: "/api/v1/disputes", tag: "commission", summary: "Disputes, newest first (visibility as for statements)",
			access: statementReader, resp: "DisputeList", status: 200, query: []param{{"status", "open, accepted or rejected"}, {"user", "a rep's user id"}, {"statement", "a statement id"}},
			handle: s.listDisputes},
		route{method: "POST", path: "/api/v1/disputes/:id/resolve", tag: "commission",
			summary: "Resolve a dispute: accept with an amount (an adjustment line) or reject with a reason",
			access:  statementApprover, body: "DisputeResolve", resp: "Dispute", status: 200, handle: s.resolveDispute},
	)
	// Without a commission service every commission route is a 404.
	for i := range rs {
		h := rs[i].handle
		rs[i].handle = func(c *gin.Context, r *request) error {
			if s.d.Commission == nil {
				return apperr.NotFound("commission is not enabled on this server")
			}
			return h(c, r)
		}
	}
	return rs
}

// checkPlan validates a definition as a save would (schema, formulas,
// tables, the credited object and the quota metric) and writes nothing.
func (s *Server) checkPlan(c *gin.Context, r *request) error {
	var def map[string]any
	if err := decodeJSON(c, &def); err != nil {
		return err
	}
	if def == nil {
		return apperr.BadRequest("the body must be a commission plan definition")
	}
	fe := s.d.Commission.Check(c.Request.Context(), r.db, r.p.Tenant, def)
	c.JSON(http.StatusOK, gin.H{"ok": len(fe) == 0, "errors": nonNil(fe)})
	return nil
}

type simulateRequest struct {
	Period string `json:"period"`
}

func (s *Server) simulate(c *gin.Context, r *request) error {
	var in simulateRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Period == "" {
		return apperr.Invalid("the period is required", apperr.FieldError{Pointer: "/period", Code: "required", Message: "a period key such as 2026-03"})
	}
	sim, err := s.d.Commission.Simulate(c.Request.Context(), r.db, r.p.Tenant, c.Param("key"), in.Period)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, sim)
	return nil
}

type runRequest struct {
	Plan   string `json:"plan"`
	Period string `json:"period"`
}

func (s *Server) startRun(c *gin.Context, r *request) error {
	var in runRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var fe []apperr.FieldError
	if in.Plan == "" {
		fe = append(fe, apperr.FieldError{Pointer: "/plan", Code: "required", Message: "the commission plan's key"})
	}
	if in.Period == "" {
		fe = append(fe, apperr.FieldError{Pointer: "/period", Code: "required", Message: "a period key such as 2026-03"})
	}
	if len(fe) > 0 {
		return apperr.Invalid("plan and period are required", fe...)
	}
	j, err := s.d.Commission.Run(c.Request.Context(), r.db, r.p.Tenant, r.p.UserID, in.Plan, in.Period)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/commission-runs/"+j.ID)
	c.JSON(http.StatusAccepted, j)
	return nil
}

// commissionRun is a run's job with its report.
type commissionRun struct {
	jobs.Job
	Report any `json:"report"`
}

func (s *Server) getRun(c *gin.Context, r *request) error {
	j, err := s.visibleJob(c, r, commission.JobKind)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, commissionRun{Job: j, Report: j.Result})
	return nil
}

func (s *Server) listStatements(c *gin.Context, r *request) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	q := commission.ListQuery{Plan: c.Query("plan"), Period: c.Query("period"), Rep: c.Query("user"), Status: c.Query("status"),
		Limit: limit, Cursor: c.Query("cursor")}
	sts, next, err := s.d.Commission.Statements(c.Request.Context(), r.db, r.p, q)
	if err != nil {
		return badCursor(err)
	}
	c.JSON(http.StatusOK, gin.H{"items": nonNil(sts), "next": next})
	return nil
}

func (s *Server) getStatement(c *gin.Context, r *request) error {
	st, err := s.d.Commission.Statement(c.Request.Context(), r.db, r.p, c.Param("id"))
	if err != nil {
		return err
	}
	c.Header("ETag", etag(st.Version))
	c.JSON(http.StatusOK, st)
	return nil
}

// exportFormat reads ?format= (csv by default).
func exportFormat(c *gin.Context) (string, error) {
	f := strings.ToLower(c.DefaultQuery("format", commission.FormatCSV))
	if f != commission.FormatCSV && f != commission.FormatXLSX {
		return "", &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_format", Message: "format must be csv or xlsx",
			Fields: []apperr.FieldError{{Pointer: "/query/format", Code: "enum", Message: "csv or xlsx"}}}
	}
	return f, nil
}

func (s *Server) exportStatements(c *gin.Context, r *request) error {
	f, err := exportFormat(c)
	if err != nil {
		return err
	}
	name := "statements"
	for _, k := range []string{"plan", "period"} {
		if v := c.Query(k); v != "" && configKey.MatchString(strings.ReplaceAll(strings.ToLower(v), "-", "_")) {
			name += "-" + v
		}
	}
	q := commission.ExportQuery{Plan: c.Query("plan"), Period: c.Query("period"), Rep: c.Query("user"), Status: c.Query("status")}
	return s.export(c, r, q, f, name)
}

func (s *Server) exportStatement(c *gin.Context, r *request) error {
	f, err := exportFormat(c)
	if err != nil {
		return err
	}
	// Look first, so an invisible statement is a 404 before anything is sent.
	st, err := s.d.Commission.Statement(c.Request.Context(), r.db, r.p, c.Param("id"))
	if err != nil {
		return err
	}
	return s.export(c, r, commission.ExportQuery{ID: st.ID}, f, "statement-"+st.Plan+"-"+st.Period)
}

func (s *Server) export(c *gin.Context, r *request, q commission.ExportQuery, format, name string) error {
	ct := "text/csv; charset=utf-8"
	if format == commission.FormatXLSX {
		ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	c.Header("Content-Type", ct)
	c.Header("Content-Disposition", `attachment; filename="`+name+"."+format+`"`)
	c.Status(http.StatusOK)
	return s.d.Commission.Export(c.Request.Context(), r.db, r.p, q, format, c.Writer)
}

type statementAction struct {
	Note string `json:"note"`
}

func (s *Server) statementAction(action string) func(*gin.Context, *request) error {
	return func(c *gin.Context, r *request) error {
		var in statementAction
		if c.Request.ContentLength != 0 {
			if err := decodeJSON(c, &in); err != nil {
				return err
			}
		}
		if len([]rune(in.Note)) > 2000 {
			return apperr.Invalid("the note is too long", apperr.FieldError{Pointer: "/note", Code: "max_length", Message: "at most 2000 characters"})
		}
		v, err := ifMatch(c)
		if err != nil {
			return err
		}
		st, err := s.d.Commission.Transition(c.Request.Context(), r.db, r.p, c.Param("id"), action, in.Note, v)
		if err != nil {
			return err
		}
		c.Header("ETag", etag(st.Version))
		c.JSON(http.StatusOK, st)
		return nil
	}
}

func (s *Server) raiseDispute(c *gin.Context, r *request) error {
	var in commission.RaiseInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	x, err := s.d.Commission.Raise(c.Request.Context(), r.db, r.p, c.Param("id"), c.Param("lineId"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, x)
	return nil
}

func (s *Server) listDisputes(c *gin.Context, r *request) error {
	xs, err := s.d.Commission.Disputes(c.Request.Context(), r.db, r.p, commission.DisputeQuery{Status: c.Query("status"), Rep: c.Query("user"), Statement: c.Query("statement")})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": nonNil(xs)})
	return nil
}

func (s *Server) resolveDispute(c *gin.Context, r *request) error {
	var in commission.ResolveInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	x, err := s.d.Commission.Resolve(c.Request.Context(), r.db, r.p.Tenant, r.p, c.Param("id"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, x)
	return nil
}

// commissionComponents are the OpenAPI schemas of the commission and job routes.
func commissionComponents() map[string]any {
	out := map[string]any{}
	defs := map[string]any{}
	out["CommissionPlanDefinition"] = schemaDoc("commission_plan.schema.json", "CommissionPlan_", defs)
	for k, v := range defs {
		out[k] = v
	}
	num := map[string]any{"type": "number"}
	nullable := func(t string) map[string]any { return map[string]any{"type": []string{t, "null"}} }
	job := obj(map[string]any{"id": str, "kind": str, "subject": str, "status": map[string]any{"type": "string", "enum": []string{"queued", "running", "done", "failed"}},
		"done": integer, "total": integer, "percent": num, "result": map[string]any{}, "error": obj(map[string]any{"code": str, "message": str}),
		"createdBy": str, "createdAt": instant, "updatedAt": instant, "startedAt": instant, "finishedAt": instant})
	repErr := obj(map[string]any{"rep": str, "code": str, "message": str})
	line := obj(map[string]any{"id": str, "rule": str, "kind": map[string]any{"type": "string",
		"enum": []string{"rate", "cap_line", "cap_period", "spif", "quota_bonus", "team_bonus", "clawback", "adjustment"}},
		"record": str, "object": str, "creditDate": str, "base": integer, "rate": num,
		"band":   obj(map[string]any{"index": integer, "threshold": num, "from": integer, "to": integer}),
		"amount": integer, "explanation": anyObj, "text": i18n,
		"source": obj(map[string]any{"period": str, "rule": str, "record": str, "dispute": str})})
	event := obj(map[string]any{"at": instant, "by": str, "action": str, "from": str, "to": str, "note": str})
	out["Job"] = job
	out["JobList"] = listOf("Job")
	out["CommissionRunRequest"] = obj(map[string]any{"plan": str, "period": str}, "plan", "period")
	out["CommissionRun"] = obj(map[string]any{"id": str, "kind": str, "status": str, "done": integer, "total": integer, "percent": num,
		"error": obj(map[string]any{"code": str, "message": str}), "createdBy": str, "createdAt": instant,
		"report": obj(map[string]any{"plan": str, "version": integer, "period": str, "reps": integer, "records": integer, "written": integer,
			"unchanged": integer, "locked": integer, "adjusted": integer, "total": integer, "errors": arr(repErr)})})
	out["StatementLine"] = line
	out["Statement"] = obj(map[string]any{"id": str, "plan": str, "planVersion": integer, "period": str, "periodStart": instant, "periodEnd": instant,
		"rep": str, "repName": str, "status": map[string]any{"type": "string", "enum": []string{"draft", "approved", "paid"}}, "currency": str,
		"lines": arr(ref("StatementLine")), "total": integer, "attainment": nullable("number"), "target": nullable("integer"),
		"history": arr(event), "fingerprint": str, "computedAt": instant, "computed": boolean, "version": integer})
	out["StatementList"] = listOf("Statement")
	out["StatementAction"] = obj(map[string]any{"note": str})
	out["CommissionPlanCheck"] = obj(map[string]any{"ok": boolean, "errors": arr(obj(map[string]any{"pointer": str, "code": str, "message": str,
		"line": integer, "column": integer, "snippet": str, "hint": str}))})
	out["SimulateRequest"] = obj(map[string]any{"period": str}, "period")
	out["Simulation"] = obj(map[string]any{"plan": str, "period": str, "publishedVersion": integer, "old": integer, "new": integer, "delta": integer,
		"reps":   arr(obj(map[string]any{"rep": str, "name": str, "old": integer, "new": integer, "delta": integer, "lines": integer})),
		"errors": arr(obj(map[string]any{"version": str, "rep": str, "code": str, "message": str}))})
	out["DisputeInput"] = obj(map[string]any{"comment": str}, "comment")
	out["DisputeResolve"] = obj(map[string]any{"decision": map[string]any{"type": "string", "enum": []string{"accept", "reject"}},
		"amount": integer, "reason": str}, "decision")
	out["Dispute"] = obj(map[string]any{"id": str, "statement": str, "line": str, "plan": str, "period": str, "rep": str, "record": str,
		"lineAmount": integer, "status": map[string]any{"type": "string", "enum": []string{"open", "accepted", "rejected"}}, "comment": str,
		"decision": str, "amount": integer, "reason": str, "adjustment": obj(map[string]any{"statement": str, "line": str}),
		"history":   arr(obj(map[string]any{"at": instant, "by": str, "action": str, "note": str, "amount": integer})),
		"createdBy": str, "createdAt": instant, "version": integer})
	out["DisputeList"] = listOf("Dispute")
	return out
}
