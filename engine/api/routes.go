package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/records"
	"stride/engine/store"
)

// table is every API route. Adding an endpoint means adding a row here: the
// router, authorization and the OpenAPI document all come from it.
func (s *Server) table() []route {
	var rs []route
	rs = append(rs, s.coreRoutes()...)
	rs = append(rs, s.configRoutes("/api/v1/objects", "objects", "object", "ObjectDefinition",
		func() configService { return s.d.Objects }, s.getObject)...)
	rs = append(rs, s.pipelineRoutes()...)
	rs = append(rs, s.trackingRoutes()...)
	rs = append(rs, s.targetRoutes()...)
	rs = append(rs, s.templateRoutes()...)
	rs = append(rs, s.jobRoutes()...)
	rs = append(rs, s.commissionRoutes()...)
	rs = append(rs, s.scorecardRoutes()...)
	rs = append(rs, s.reportRoutes()...)
	rs = append(rs, s.alertRoutes()...)
	rs = append(rs, s.pluginRoutes()...)
	return rs
}

func (s *Server) coreRoutes() []route {
	return []route{
		{method: "POST", path: "/api/v1/auth/login", tag: "auth", summary: "Log in and receive a bearer token",
			access: public, body: "LoginRequest", resp: "LoginResult", status: 200, handle: s.login},
		{method: "POST", path: "/api/v1/auth/logout", tag: "auth", summary: "Revoke the current token",
			access: anyone, status: 204, handle: s.logout},
		{method: "GET", path: "/api/v1/me", tag: "auth", summary: "The signed-in user",
			access: access{scope: "records:read"}, resp: "Me", status: 200, handle: s.me},

		{method: "GET", path: "/api/v1/users", tag: "users", summary: "List users",
			access: adminOnly, resp: "UserList", status: 200, handle: s.listUsers},
		{method: "POST", path: "/api/v1/users", tag: "users", summary: "Create a user",
			access: adminOnly, body: "UserInput", resp: "User", status: 201, handle: s.createUser},
		{method: "GET", path: "/api/v1/users/:id", tag: "users", summary: "Get a user",
			access: adminOnly, resp: "User", status: 200, handle: s.getUser},
		{method: "PATCH", path: "/api/v1/users/:id", tag: "users", summary: "Change a user (roles, password, disable)",
			access: adminOnly, body: "UserInput", resp: "User", status: 200, handle: s.updateUser},
		{method: "DELETE", path: "/api/v1/users/:id", tag: "users", summary: "Deactivate a user (their records keep their owner; sessions stop at once)",
			access: adminOnly, status: 204, handle: s.deleteUser},

		{method: "GET", path: "/api/v1/teams", tag: "org", summary: "List teams (the org tree)",
			access: anyone, resp: "TeamList", status: 200, handle: s.listTeams},
		{method: "POST", path: "/api/v1/teams", tag: "org", summary: "Create a team",
			access: adminOnly, body: "TeamInput", resp: "Team", status: 201, handle: s.createTeam},
		{method: "GET", path: "/api/v1/teams/:id", tag: "org", summary: "Get a team",
			access: anyone, resp: "Team", status: 200, handle: s.getTeam},
		{method: "PATCH", path: "/api/v1/teams/:id", tag: "org", summary: "Change a team (name, parent, managers)",
			access: adminOnly, body: "TeamInput", resp: "Team", status: 200, handle: s.updateTeam},
		{method: "DELETE", path: "/api/v1/teams/:id", tag: "org", summary: "Delete an empty team",
			access: adminOnly, status: 204, handle: s.deleteTeam},
		{method: "GET", path: "/api/v1/teams/:id/members", tag: "org", summary: "List a team's memberships (effective-dated)",
			access: anyone, resp: "MembershipList", status: 200, handle: s.listMembers},
		{method: "POST", path: "/api/v1/teams/:id/members", tag: "org", summary: "Add an effective-dated membership",
			access: adminOnly, body: "Membership", resp: "Membership", status: 201, handle: s.addMember},

		{method: "GET", path: "/api/v1/tokens", tag: "auth", summary: "List integration tokens",
			access: adminOnly, resp: "TokenList", status: 200, handle: s.listTokens},
		{method: "POST", path: "/api/v1/tokens", tag: "auth", summary: "Create an integration token (secret shown once)",
			access: adminOnly, body: "TokenInput", resp: "Token", status: 201, handle: s.createToken},
		{method: "DELETE", path: "/api/v1/tokens/:id", tag: "auth", summary: "Revoke an integration token",
			access: adminOnly, status: 204, handle: s.revokeToken},

		{method: "GET", path: "/api/v1/audit", tag: "audit", summary: "Audit log, newest first",
			access: adminOnly, resp: "AuditList", status: 200, query: []param{{"limit", "page size (default 50, max 500)"}, {"cursor", "from a previous page's next"}}, handle: s.listAudit},

		{method: "GET", path: "/api/v1/records/:object", tag: "records", summary: "List records (filters, sort, cursor)",
			access: recordReader, resp: "RecordList", status: 200, query: []param{
				{"<field>", "equals; also <field>[ne|gt|gte|lt|lte|in]=…"}, {"sort", "field, -field for descending"},
				{"limit", "page size (default 50, max 500)"}, {"cursor", "from a previous page's next"}}, handle: s.listRecords},
		{method: "POST", path: "/api/v1/records/:object", tag: "records", summary: "Create a record (Idempotency-Key supported)",
			access: recordWriter, body: "RecordInput", resp: "Record", status: 201, handle: s.createRecord},
		{method: "GET", path: "/api/v1/records/:object/:id", tag: "records", summary: "Get a record",
			access: recordReader, resp: "Record", status: 200, handle: s.getRecord},
		{method: "PATCH", path: "/api/v1/records/:object/:id", tag: "records", summary: "Change a record (JSON merge patch; If-Match)",
			access: recordWriter, body: "RecordInput", resp: "Record", status: 200, handle: s.patchRecord},
		{method: "DELETE", path: "/api/v1/records/:object/:id", tag: "records", summary: "Delete a record (soft)",
			access: recordWriter, status: 204, handle: s.deleteRecord},

		{method: "POST", path: "/api/v1/rules/check", tag: "rules", summary: "Type-check a formula and evaluate it on a sample",
			access: configReader, body: "RuleCheck", resp: "RuleCheckResult", status: 200, handle: s.checkRule},
	}
}

type loginRequest struct {
	Tenant   string `json:"tenant"`
	Username string `json:"username"`
	Password string `json:"password"`
}

func (s *Server) login(c *gin.Context, _ *request) error {
	var in loginRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	var fe []apperr.FieldError
	for _, f := range []struct{ ptr, v string }{{"/tenant", in.Tenant}, {"/username", in.Username}, {"/password", in.Password}} {
		if f.v == "" {
			fe = append(fe, apperr.FieldError{Pointer: f.ptr, Code: "required", Message: f.ptr[1:] + " is required"})
		}
	}
	if len(fe) > 0 {
		return apperr.Invalid("tenant, username and password are required", fe...)
	}
	res, err := s.d.Auth.Login(c.Request.Context(), in.Tenant, in.Username, in.Password, c.ClientIP())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

func (s *Server) logout(c *gin.Context, r *request) error {
	if err := s.d.Auth.Logout(c.Request.Context(), r.p); err != nil {
		return err
	}
	_ = audit.Append(c.Request.Context(), r.db, r.p.UserID, "auth.logout", "user:"+r.p.UserID, map[string]any{"ip": c.ClientIP()})
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) me(c *gin.Context, r *request) error {
	u, err := auth.GetUser(c.Request.Context(), r.db, r.p.UserID)
	if err != nil {
		return err
	}
	teams, err := auth.Memberships(c.Request.Context(), r.db, u.ID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"id": u.ID, "username": u.Username, "displayName": u.DisplayName, "roles": r.p.Roles,
		"tenant": r.p.Tenant, "memberships": teams, "integration": r.p.Integration, "scopes": r.p.Scopes})
	return nil
}

func (s *Server) listUsers(c *gin.Context, r *request) error {
	us, err := auth.ListUsers(c.Request.Context(), r.db)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": nonNil(us)})
	return nil
}

func (s *Server) createUser(c *gin.Context, r *request) error {
	var in auth.UserInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	u, err := auth.CreateUser(c.Request.Context(), r.db, r.p.UserID, in)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(u.Version))
	c.JSON(http.StatusCreated, u)
	return nil
}

func (s *Server) getUser(c *gin.Context, r *request) error {
	u, err := auth.GetUser(c.Request.Context(), r.db, c.Param("id"))
	if err != nil {
		return err
	}
	c.Header("ETag", etag(u.Version))
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) updateUser(c *gin.Context, r *request) error {
	var in auth.UserInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	u, err := auth.UpdateUser(c.Request.Context(), r.db, r.p.UserID, c.Param("id"), in, v)
	if err != nil {
		return err
	}
	if in.Password != nil || (in.Disabled != nil && *in.Disabled) {
		// A reset password or a deactivation ends the user's sessions.
		if _, err := s.d.Auth.EndSessions(c.Request.Context(), r.p.Tenant, u.ID); err != nil {
			return err
		}
	}
	c.Header("ETag", etag(u.Version))
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) deleteUser(c *gin.Context, r *request) error {
	if c.Param("id") == r.p.UserID {
		return apperr.Conflict("self_delete", "you cannot deactivate yourself")
	}
	disabled := true
	if _, err := auth.UpdateUser(c.Request.Context(), r.db, r.p.UserID, c.Param("id"), auth.UserInput{Disabled: &disabled}, 0); err != nil {
		return err
	}
	if _, err := s.d.Auth.EndSessions(c.Request.Context(), r.p.Tenant, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listTeams(c *gin.Context, r *request) error {
	ts, err := auth.ListTeams(c.Request.Context(), r.db)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": nonNil(ts)})
	return nil
}

func (s *Server) createTeam(c *gin.Context, r *request) error {
	var in auth.TeamInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	t, err := auth.SaveTeam(c.Request.Context(), r.db, r.p.UserID, "", in, 0)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, t)
	return nil
}

func (s *Server) getTeam(c *gin.Context, r *request) error {
	t, err := auth.GetTeam(c.Request.Context(), r.db, c.Param("id"))
	if err != nil {
		return err
	}
	c.Header("ETag", etag(t.Version))
	c.JSON(http.StatusOK, t)
	return nil
}

func (s *Server) updateTeam(c *gin.Context, r *request) error {
	var in auth.TeamInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	t, err := auth.SaveTeam(c.Request.Context(), r.db, r.p.UserID, c.Param("id"), in, v)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(t.Version))
	c.JSON(http.StatusOK, t)
	return nil
}

func (s *Server) deleteTeam(c *gin.Context, r *request) error {
	if err := auth.DeleteTeam(c.Request.Context(), r.db, r.p.UserID, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listMembers(c *gin.Context, r *request) error {
	if _, err := auth.GetTeam(c.Request.Context(), r.db, c.Param("id")); err != nil {
		return err
	}
	ms, err := auth.Members(c.Request.Context(), r.db, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ms})
	return nil
}

func (s *Server) addMember(c *gin.Context, r *request) error {
	var in auth.Membership
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	m, err := auth.AddMember(c.Request.Context(), r.db, r.p.UserID, c.Param("id"), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, m)
	return nil
}

func (s *Server) listTokens(c *gin.Context, r *request) error {
	ts, err := s.d.Auth.ListTokens(c.Request.Context(), r.p.Tenant)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ts})
	return nil
}

func (s *Server) createToken(c *gin.Context, r *request) error {
	var in auth.TokenInput
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.d.Auth.AllowTokenCreation(r.p, c.ClientIP()); err != nil {
		return err
	}
	t, err := s.d.Auth.CreateToken(c.Request.Context(), r.db, r.p, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, t)
	return nil
}

func (s *Server) revokeToken(c *gin.Context, r *request) error {
	if err := s.d.Auth.RevokeToken(c.Request.Context(), r.db, r.p, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listAudit(c *gin.Context, r *request) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	es, next, err := audit.List(c.Request.Context(), r.db, limit, c.Query("cursor"))
	if err != nil {
		return badCursor(err)
	}
	c.JSON(http.StatusOK, gin.H{"items": es, "next": next})
	return nil
}

func queryLimit(c *gin.Context) (int, error) {
	q := c.Query("limit")
	if q == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(q)
	if err != nil || n < 1 || n > 500 {
		return 0, &apperr.Error{Kind: apperr.KindBadRequest, Code: "bad_query", Message: "limit must be a number from 1 to 500",
			Fields: []apperr.FieldError{{Pointer: "/query/limit", Code: "range", Message: "1–500"}}}
	}
	return n, nil
}

func badCursor(err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return apperr.BadRequest("the cursor is invalid or belongs to another query")
	}
	return err
}

// Records

func (s *Server) listRecords(c *gin.Context, r *request) error {
	q := records.ListQuery{Sort: c.Query("sort"), Cursor: c.Query("cursor")}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	q.Limit = limit
	for k, vs := range c.Request.URL.Query() {
		if k == "sort" || k == "cursor" || k == "limit" {
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
	items, next, err := s.d.Records.List(c.Request.Context(), r.db, r.p, c.Param("object"), q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": nonNil(items), "next": next})
	return nil
}

func (s *Server) createRecord(c *gin.Context, r *request) error {
	var body map[string]any
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if body == nil {
		return apperr.BadRequest("the body must be a JSON object of the record's fields")
	}
	rec, replay, err := s.d.Records.Create(c.Request.Context(), r.db, r.p, c.Param("object"), body, c.GetHeader("Idempotency-Key"))
	if err != nil {
		return err
	}
	c.Header("ETag", etag(rec.Version))
	c.Header("Location", "/api/v1/records/"+rec.Object+"/"+rec.ID)
	status := http.StatusCreated
	if replay {
		c.Header("Idempotent-Replayed", "true")
		status = http.StatusOK
	}
	c.JSON(status, rec)
	return nil
}

func (s *Server) getRecord(c *gin.Context, r *request) error {
	rec, err := s.d.Records.Get(c.Request.Context(), r.db, r.p, c.Param("object"), c.Param("id"))
	if err != nil {
		return err
	}
	c.Header("ETag", etag(rec.Version))
	c.JSON(http.StatusOK, rec)
	return nil
}

func (s *Server) patchRecord(c *gin.Context, r *request) error {
	var body map[string]any
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if body == nil {
		return apperr.BadRequest("the body must be a JSON merge patch object")
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	rec, err := s.d.Records.Patch(c.Request.Context(), r.db, r.p, c.Param("object"), c.Param("id"), body, v)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(rec.Version))
	c.JSON(http.StatusOK, rec)
	return nil
}

func (s *Server) deleteRecord(c *gin.Context, r *request) error {
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	if err := s.d.Records.Delete(c.Request.Context(), r.db, r.p, c.Param("object"), c.Param("id"), v); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
