package api

import (
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/commission"
	"stride/engine/jobs"
)

// jobReader may look at jobs: everyone signed in sees their own; admins and
// finance everyone's (jobVisible).
var jobReader = access{roles: []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep, auth.RoleFinance, auth.RoleViewer}}

func (s *Server) jobRoutes() []route {
	return []route{
		{method: "GET", path: "/api/v1/jobs", tag: "jobs", summary: "List background jobs, newest first (your own; admins and finance see everyone's, and alone see commission runs)",
			access: jobReader, resp: "JobList", status: 200, query: []param{{"kind", "only jobs of this kind, e.g. commission_run"}, {"limit", "page size (default 50, max 500)"}},
			handle: s.listJobs},
		{method: "GET", path: "/api/v1/jobs/:id", tag: "jobs", summary: "A background job: status, progress (done/total, percent), result or error",
			access: jobReader, resp: "Job", status: 200, handle: s.getJob},
	}
}

// seesAllJobs reports whether p may see everyone's jobs.
func seesAllJobs(p *auth.Principal) bool {
	return !p.Integration && (p.Has(auth.RoleAdmin) || p.Has(auth.RoleFinance))
}

// allOnlyJobs are the job kinds whose results carry everyone's figures (a
// run's report names every rep): only admins and finance see them, even
// their creator once no longer one of those.
var allOnlyJobs = []string{commission.JobKind}

// jobVisible says whether p may see j: admins and finance every job, anyone
// else the jobs they started, except those of allOnlyJobs.
func jobVisible(p *auth.Principal, j jobs.Job) bool {
	return seesAllJobs(p) || (j.CreatedBy == p.UserID && !slices.Contains(allOnlyJobs, j.Kind))
}

// visibleJob loads a job p may see (jobVisible); else 404.
func (s *Server) visibleJob(c *gin.Context, r *request, kind string) (jobs.Job, error) {
	j, err := jobs.Get(c.Request.Context(), r.db, c.Param("id"))
	if err != nil {
		return j, err
	}
	if (kind != "" && j.Kind != kind) || !jobVisible(r.p, j) {
		return jobs.Job{}, apperr.NotFound("job %s not found", c.Param("id"))
	}
	return j, nil
}

func (s *Server) getJob(c *gin.Context, r *request) error {
	j, err := s.visibleJob(c, r, "")
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, j)
	return nil
}

func (s *Server) listJobs(c *gin.Context, r *request) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	q := jobs.Query{Kind: c.Query("kind"), Limit: limit}
	if !seesAllJobs(r.p) {
		q.CreatedBy = r.p.UserID
	}
	js, err := jobs.List(c.Request.Context(), r.db, q)
	if err != nil {
		return err
	}
	js = slices.DeleteFunc(js, func(j jobs.Job) bool { return !jobVisible(r.p, j) })
	c.JSON(http.StatusOK, gin.H{"items": nonNil(js)})
	return nil
}
