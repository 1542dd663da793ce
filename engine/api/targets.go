package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/targets"
)

// managerOrAdmin may adjust targets (the service checks which nodes).
var managerOrAdmin = access{roles: []auth.Role{auth.RoleAdmin, auth.RoleManager}}

func (s *Server) targetRoutes() []route {
	treeQ := []param{{"version", "a published version (default: the one in force)"}, {"level", "floor, target (default) or stretch"},
		{"period", "a year, quarter, month or week of the plan year (default: the year)"}, {"node", "company, team:<id> or user:<id> (default: the root)"},
		{"actuals", "true adds each node's actual and attainment"}}
	base := "/api/v1/target-plans"
	rs := []route{
		{method: "GET", path: base, tag: "targets", summary: "List target plans",
			access: recordReader, resp: "TargetPlanList", status: 200, handle: s.listPlans},
		{method: "GET", path: "/api/v1/target-suggestion", tag: "targets",
			summary: "Suggest a root target from the metric's history and the expected market growth, with the reasoning (科学设定)",
			access:  adminOnly, resp: "TargetSuggestion", status: 200,
			query:  []param{{"metric", "metric key"}, {"fiscalYear", "the year to plan"}, {"marketGrowth", "expected market growth, e.g. 0.12"}, {"granularity", "round to this (stored units)"}},
			handle: s.suggestTarget},
		{method: "GET", path: base + "/:key", tag: "targets", summary: "Get a target plan's working copy",
			access: recordReader, resp: "TargetPlan", status: 200, handle: s.getPlan},
		{method: "PUT", path: base + "/:key", tag: "targets", summary: "Save a target plan as a draft (validated, formulas type-checked, allocation must succeed; If-Match)",
			access: adminOnly, body: "TargetPlanDefinition", resp: "TargetPlan", status: 200, handle: s.savePlan},
		{method: "POST", path: base + "/:key/allocate", tag: "targets",
			summary: "Allocate the draft: with dryRun=true a preview tree (nothing saved), else publish it as a new version with a reason",
			access:  adminOnly, body: "TargetAllocateRequest", resp: "TargetTree", status: 200,
			query: append([]param{{"dryRun", "true: preview only"}}, treeQ[1:]...), handle: s.allocatePlan},
		{method: "GET", path: base + "/:key/tree", tag: "targets",
			summary: "A node of the plan with its children: amounts for the period, each with its explanation",
			access:  recordReader, resp: "TargetTree", status: 200, query: treeQ, handle: s.planTree},
		{method: "GET", path: base + "/:key/history", tag: "targets", summary: "Published versions with author, time, reason and totals",
			access: recordReader, resp: "TargetHistory", status: 200, handle: s.planHistory},
		{method: "GET", path: base + "/:key/diff", tag: "targets", summary: "What changed between two versions: definition and node amounts",
			access: recordReader, resp: "TargetDiff", status: 200, query: []param{{"from", "version"}, {"to", "version"}}, handle: s.planDiff},
		{method: "POST", path: base + "/:key/locks", tag: "targets",
			summary: "Lock (or unlock, amount null) a node's amount; siblings re-spread; dryRun shows the re-spread before saving",
			access:  managerOrAdmin, body: "TargetLockInput", resp: "TargetOutcome", status: 200, handle: s.lockTarget},
		{method: "GET", path: base + "/:key/proposals", tag: "targets", summary: "Open bottom-up proposals with the allocated amounts and gaps",
			access: recordReader, resp: "TargetProposalList", status: 200, handle: s.listProposals},
		{method: "POST", path: base + "/:key/proposals", tag: "targets", summary: "Propose amounts for a node (自下而上)",
			access: managerOrAdmin, body: "TargetProposalInput", resp: "TargetProposal", status: 200, handle: s.proposeTarget},
		{method: "POST", path: base + "/:key/proposals/accept", tag: "targets", summary: "Accept proposals: each becomes a lock, in one new version",
			access: adminOnly, body: "TargetAcceptInput", resp: "TargetOutcome", status: 200, handle: s.acceptProposals},
		{method: "POST", path: base + "/:key/respread", tag: "targets",
			summary: "Re-spread the unmet remainder over the remaining months by seasonality, as a new version (dryRun to preview)",
			access:  adminOnly, body: "TargetRespreadInput", resp: "TargetOutcome", status: 200, handle: s.respreadTarget},
	}
	// Without a targets service (a server wired without it) every target
	// route is a 404, like an unknown plan.
	for i := range rs {
		h := rs[i].handle
		rs[i].handle = func(c *gin.Context, r *request) error {
			if s.d.Targets == nil {
				return apperr.NotFound("target plans are not enabled on this server")
			}
			return h(c, r)
		}
	}
	return rs
}

func (s *Server) listPlans(c *gin.Context, r *request) error {
	ps, err := s.d.Targets.List(c.Request.Context(), r.db)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ps})
	return nil
}

func (s *Server) getPlan(c *gin.Context, r *request) error {
	p, err := s.d.Targets.Get(c.Request.Context(), r.db, c.Param("key"))
	if err != nil {
		return err
	}
	see, err := s.d.Targets.Visible(c.Request.Context(), r.db, r.p)
	if err != nil {
		return err
	}
	// Per-node settings (inputs, locks) of nodes the caller may not see stay hidden.
	if ns, ok := p.Definition["nodes"].(map[string]any); ok {
		def := make(map[string]any, len(p.Definition))
		for k, v := range p.Definition {
			def[k] = v
		}
		mine := map[string]any{}
		for k, v := range ns {
			if see(k) {
				mine[k] = v
			}
		}
		def["nodes"], p.Definition = mine, def
	}
	c.Header("ETag", etag(p.Version))
	c.JSON(http.StatusOK, p)
	return nil
}

func (s *Server) savePlan(c *gin.Context, r *request) error {
	var def map[string]any
	if err := decodeJSON(c, &def); err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	p, err := s.d.Targets.Save(c.Request.Context(), r.db, r.p.Tenant, r.p.UserID, c.Param("key"), def, v)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(p.Version))
	c.JSON(http.StatusOK, p)
	return nil
}

type allocateRequest struct {
	Reason     string         `json:"reason"`
	Definition map[string]any `json:"definition"`
}

func (s *Server) allocatePlan(c *gin.Context, r *request) error {
	var in allocateRequest
	if c.Request.ContentLength != 0 {
		if err := decodeJSON(c, &in); err != nil {
			return err
		}
	}
	key := c.Param("key")
	ctx := c.Request.Context()
	if c.Query("dryRun") == "true" {
		q, err := treeQuery(c)
		if err != nil {
			return err
		}
		t, err := s.d.Targets.Preview(ctx, r.db, r.p.Tenant, r.p, key, in.Definition, q)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, t)
		return nil
	}
	if in.Definition != nil {
		return apperr.Invalid("save the definition first", apperr.FieldError{Pointer: "/definition", Code: "not_allowed",
			Message: "publishing allocates the saved draft; PUT the definition, then allocate"})
	}
	if _, err := s.d.Targets.Publish(ctx, r.db, r.p.Tenant, r.p.UserID, key, in.Reason); err != nil {
		return err
	}
	t, err := s.d.Targets.Tree(ctx, r.db, r.p.Tenant, r.p, key, targets.TreeQuery{})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, t)
	return nil
}

func treeQuery(c *gin.Context) (targets.TreeQuery, error) {
	q := targets.TreeQuery{Level: c.Query("level"), Period: c.Query("period"), Node: c.Query("node"), Actuals: c.Query("actuals") == "true"}
	if v := c.Query("version"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return q, apperr.Invalid("bad version", apperr.FieldError{Pointer: "/query/version", Code: "type", Message: "a version number ≥ 1"})
		}
		q.Version = n
	}
	return q, nil
}

func (s *Server) planTree(c *gin.Context, r *request) error {
	q, err := treeQuery(c)
	if err != nil {
		return err
	}
	t, err := s.d.Targets.Tree(c.Request.Context(), r.db, r.p.Tenant, r.p, c.Param("key"), q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, t)
	return nil
}

func (s *Server) planHistory(c *gin.Context, r *request) error {
	h, err := s.d.Targets.History(c.Request.Context(), r.db, c.Param("key"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": h})
	return nil
}

func (s *Server) planDiff(c *gin.Context, r *request) error {
	var vs [2]int64
	for i, name := range []string{"from", "to"} {
		n, err := strconv.ParseInt(c.Query(name), 10, 64)
		if err != nil || n < 1 {
			return apperr.Invalid("bad version", apperr.FieldError{Pointer: "/query/" + name, Code: "type", Message: "a version number ≥ 1"})
		}
		vs[i] = n
	}
	d, err := s.d.Targets.Diff(c.Request.Context(), r.db, r.p.Tenant, c.Param("key"), vs[0], vs[1])
	if err != nil {
		return err
	}
	see, err := s.d.Targets.Visible(c.Request.Context(), r.db, r.p)
	if err != nil {
		return err
	}
	// Only the nodes the caller may see: their amounts and their settings.
	for level, cs := range d.Nodes {
		d.Nodes[level] = slices.DeleteFunc(cs, func(ch targets.NodeChange) bool { return !see(ch.Key) })
	}
	d.Definition = slices.DeleteFunc(d.Definition, func(ch targets.Change) bool {
		node, ok := strings.CutPrefix(ch.Path, "/nodes/")
		if !ok {
			return false
		}
		node, _, _ = strings.Cut(node, "/")
		return !see(strings.NewReplacer("~1", "/", "~0", "~").Replace(node))
	})
	c.JSON(http.StatusOK, d)
	return nil
}

func (s *Server) lockTarget(c *gin.Context, r *request) error {
	var in targets.LockInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.d.Targets.Lock(c.Request.Context(), r.db, r.p.Tenant, r.p, c.Param("key"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) listProposals(c *gin.Context, r *request) error {
	ps, err := s.d.Targets.Proposals(c.Request.Context(), r.db, c.Param("key"))
	if err != nil {
		return err
	}
	see, err := s.d.Targets.Visible(c.Request.Context(), r.db, r.p)
	if err != nil {
		return err
	}
	ps = slices.DeleteFunc(ps, func(p *targets.Proposal) bool { return !see(p.Node) })
	c.JSON(http.StatusOK, gin.H{"items": ps})
	return nil
}

func (s *Server) proposeTarget(c *gin.Context, r *request) error {
	var in targets.ProposalInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := s.d.Targets.Propose(c.Request.Context(), r.db, r.p.Tenant, r.p, c.Param("key"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

func (s *Server) acceptProposals(c *gin.Context, r *request) error {
	var in targets.AcceptInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.d.Targets.Accept(c.Request.Context(), r.db, r.p.Tenant, r.p, c.Param("key"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) respreadTarget(c *gin.Context, r *request) error {
	var in targets.RespreadInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	out, err := s.d.Targets.Respread(c.Request.Context(), r.db, r.p.Tenant, r.p, c.Param("key"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) suggestTarget(c *gin.Context, r *request) error {
	m, err := s.metricParam(c)
	if err != nil {
		return err
	}
	fy, err := strconv.Atoi(c.Query("fiscalYear"))
	if err != nil || fy < 2000 || fy > 2100 {
		return apperr.Invalid("bad fiscal year", apperr.FieldError{Pointer: "/query/fiscalYear", Code: "type", Message: "a year such as 2027"})
	}
	var market *float64
	if v := c.Query("marketGrowth"); v != "" {
		g, err := strconv.ParseFloat(v, 64)
		if err != nil || g < -1 || g > 10 {
			return apperr.Invalid("bad market growth", apperr.FieldError{Pointer: "/query/marketGrowth", Code: "type", Message: "a fraction such as 0.12 for 12%"})
		}
		market = &g
	}
	var gran int64 = 1
	if v := c.Query("granularity"); v != "" {
		g, err := strconv.ParseInt(v, 10, 64)
		if err != nil || g < 1 {
			return apperr.Invalid("bad granularity", apperr.FieldError{Pointer: "/query/granularity", Code: "type", Message: "a whole number ≥ 1"})
		}
		gran = g
	}
	sg, err := s.d.Targets.Suggest(c.Request.Context(), r.db, r.p.Tenant, m, fy, market, gran)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, sg)
	return nil
}
