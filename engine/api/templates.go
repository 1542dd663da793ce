package api

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/templates"
)

func (s *Server) templateRoutes() []route {
	rs := []route{
		{method: "GET", path: "/api/v1/templates", tag: "templates", summary: "The built-in industry templates (gallery): metadata and what each contains",
			access: configReader, resp: "TemplateList", status: 200, handle: s.listTemplates},
		{method: "GET", path: "/api/v1/templates/:name", tag: "templates", summary: "One built-in template bundle",
			access: configReader, resp: "TemplateBundle", status: 200, handle: s.getTemplate},
		{method: "POST", path: "/api/v1/templates/apply", tag: "templates",
			summary: "Install a bundle (or a built-in template by name) into the caller's tenant: validated in full first; unchanged definitions untouched; local edits reported as conflicts",
			access:  adminOnly, body: "TemplateApplyRequest", resp: "TemplateReport", status: 200, handle: s.applyTemplate},
		{method: "POST", path: "/api/v1/templates/diff", tag: "templates", summary: "Compare a bundle (or a built-in template) with the tenant's configuration",
			access: adminOnly, body: "TemplateApplyRequest", resp: "TemplateDiff", status: 200, handle: s.diffTemplate},
		{method: "GET", path: "/api/v1/templates-export", tag: "templates", summary: "The tenant's configuration as a template bundle",
			access: adminOnly, resp: "TemplateBundle", status: 200, handle: s.exportTemplate},
	}
	for i := range rs {
		h := rs[i].handle
		rs[i].handle = func(c *gin.Context, r *request) error {
			if s.d.Templates == nil {
				return apperr.NotFound("templates are not enabled on this server")
			}
			return h(c, r)
		}
	}
	return rs
}

type templateRequest struct {
	Name         string          `json:"name"`
	Bundle       json.RawMessage `json:"bundle"`
	DryRun       bool            `json:"dryRun"`
	Force        bool            `json:"force"`
	PublishPlans bool            `json:"publishPlans"`
}

// bundleOf reads the bundle a request names or carries.
func (s *Server) bundleOf(in templateRequest) (*templates.Bundle, error) {
	switch {
	case len(in.Bundle) > 0 && in.Name != "":
		return nil, apperr.Invalid("send a bundle or a name, not both", apperr.FieldError{Pointer: "/name", Code: "not_allowed", Message: "leave name out when sending a bundle"})
	case len(in.Bundle) > 0:
		b, err := templates.Parse(in.Bundle)
		if ae, ok := apperr.As(err); ok {
			for i := range ae.Fields {
				ae.Fields[i].Pointer = "/bundle" + ae.Fields[i].Pointer
			}
		}
		return b, err
	case in.Name != "":
		if s.d.Examples == nil {
			return nil, apperr.NotFound("no built-in templates on this server")
		}
		return templates.LoadFS(s.d.Examples, in.Name)
	}
	return nil, apperr.Invalid("nothing to apply", apperr.FieldError{Pointer: "/bundle", Code: "required", Message: "send a bundle, or the name of a built-in template"})
}

func (s *Server) applyTemplate(c *gin.Context, r *request) error {
	var in templateRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	b, err := s.bundleOf(in)
	if err != nil {
		return err
	}
	rep, err := s.d.Templates.Apply(c.Request.Context(), r.p.Tenant, b, templates.Options{DryRun: in.DryRun, Force: in.Force, PublishPlans: in.PublishPlans})
	if ae, ok := apperr.As(err); ok && len(in.Bundle) > 0 {
		// Pointers are into the bundle, which is the request's /bundle.
		for i := range ae.Fields {
			ae.Fields[i].Pointer = "/bundle" + ae.Fields[i].Pointer
		}
	}
	if err != nil {
		return err
	}
	if !in.DryRun {
		// The definitions it changed are audited as the "template" actor;
		// this entry says which admin applied what.
		if err := audit.Append(c.Request.Context(), r.db, r.p.UserID, "template.apply", "template:"+b.Metadata.Name,
			map[string]any{"version": b.Metadata.Version, "force": in.Force, "publishPlans": in.PublishPlans}); err != nil {
			return err
		}
	}
	c.JSON(http.StatusOK, rep)
	return nil
}

func (s *Server) diffTemplate(c *gin.Context, r *request) error {
	var in templateRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	b, err := s.bundleOf(in)
	if err != nil {
		return err
	}
	d, err := s.d.Templates.Diff(c.Request.Context(), r.p.Tenant, b)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": d})
	return nil
}

func (s *Server) exportTemplate(c *gin.Context, r *request) error {
	b, err := s.d.Templates.Export(c.Request.Context(), r.p.Tenant, templates.Metadata{Name: c.Query("name"), Version: c.Query("version")})
	if err != nil {
		return err
	}
	c.Header("Content-Disposition", `attachment; filename="`+b.Metadata.Name+`.template.json"`)
	c.JSON(http.StatusOK, b)
	return nil
}

func (s *Server) listTemplates(c *gin.Context, r *request) error {
	items := []gin.H{}
	if s.d.Examples != nil {
		names, err := templates.Names(s.d.Examples)
		if err != nil {
			return err
		}
		for _, n := range names {
			b, err := templates.LoadFS(s.d.Examples, n)
			if err != nil {
				return err
			}
			items = append(items, gin.H{"name": n, "metadata": b.Metadata, "contains": b.Summary()})
		}
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
	return nil
}

func (s *Server) getTemplate(c *gin.Context, r *request) error {
	if s.d.Examples == nil {
		return apperr.NotFound("no built-in templates on this server")
	}
	b, err := templates.LoadFS(s.d.Examples, c.Param("name"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, b)
	return nil
}
