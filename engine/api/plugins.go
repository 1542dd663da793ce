package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/plugin"
)

// pluginRoutes are the plugin registry and each tenant's plugin
// configurations (engine/plugin): notifiers and connectors. Secrets are
// write-only: answers carry "********" in their place.
func (s *Server) pluginRoutes() []route {
	rs := []route{
		{method: "GET", path: "/api/v1/plugin-modules", tag: "plugins", summary: "Installed plugin modules with their configuration schemas (namespace=notify|connect)",
			access: adminOnly, resp: "PluginModuleList", status: 200, query: []param{{"namespace", "notify or connect"}}, handle: s.pluginModules},
		{method: "GET", path: "/api/v1/plugins", tag: "plugins", summary: "Configured plugins of the tenant (secrets masked)",
			access: adminOnly, resp: "PluginList", status: 200, handle: s.listPlugins},
		{method: "GET", path: "/api/v1/plugins/:id", tag: "plugins", summary: "A configured plugin (secrets masked)",
			access: adminOnly, resp: "Plugin", status: 200, handle: s.getPlugin},
		{method: "PUT", path: "/api/v1/plugins/:id", tag: "plugins", summary: "Configure a plugin: validated by the module's JSON Schema and its own checks; secrets sealed; a masked or empty secret keeps the stored one",
			access: adminOnly, body: "PluginInput", resp: "Plugin", status: 200, handle: s.putPlugin},
		{method: "DELETE", path: "/api/v1/plugins/:id", tag: "plugins", summary: "Remove a plugin configuration",
			access: adminOnly, status: 204, handle: s.deletePlugin},
		{method: "POST", path: "/api/v1/plugins/:id/test", tag: "plugins", summary: "Send a test message through a notifier now (the receiver's refusal is a 422 with its answer)",
			access: adminOnly, resp: "PluginTestResult", status: 200, handle: s.testPlugin},
	}
	for i := range rs {
		h := rs[i].handle
		rs[i].handle = func(c *gin.Context, r *request) error {
			if s.d.Alerts == nil || s.d.Alerts.Configs() == nil {
				return apperr.NotFound("plugins are not enabled on this server")
			}
			return h(c, r)
		}
	}
	return rs
}

func (s *Server) pluginModules(c *gin.Context, _ *request) error {
	items := []gin.H{}
	for _, m := range plugin.Modules(c.Query("namespace")) {
		secrets := m.Secrets
		if secrets == nil {
			secrets = []string{}
		}
		items = append(items, gin.H{"id": m.ID, "namespace": m.Namespace(), "label": m.Label, "schema": m.Schema, "secrets": secrets, "alwaysOn": m.AlwaysOn})
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
	return nil
}

func (s *Server) listPlugins(c *gin.Context, r *request) error {
	list, err := s.d.Alerts.Configs().List(c.Request.Context(), r.db)
	if err != nil {
		return err
	}
	if list == nil {
		list = []plugin.Instance{}
	}
	c.JSON(http.StatusOK, gin.H{"items": list})
	return nil
}

func (s *Server) getPlugin(c *gin.Context, r *request) error {
	in, err := s.d.Alerts.Configs().Get(c.Request.Context(), r.db, c.Param("id"))
	if err != nil {
		return err
	}
	c.Header("ETag", etag(in.Version))
	c.JSON(http.StatusOK, in)
	return nil
}

func (s *Server) putPlugin(c *gin.Context, r *request) error {
	var in plugin.Input
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	v, err := ifMatch(c)
	if err != nil {
		return err
	}
	out, err := s.d.Alerts.Configs().Save(c.Request.Context(), r.db, r.p.Tenant, r.p.UserID, c.Param("id"), in, v)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(out.Version))
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) deletePlugin(c *gin.Context, r *request) error {
	if err := s.d.Alerts.Configs().Delete(c.Request.Context(), r.db, r.p.UserID, c.Param("id")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) testPlugin(c *gin.Context, r *request) error {
	if err := s.d.Alerts.SendTest(c.Request.Context(), r.db, r.p.Tenant, r.p.UserID, c.Param("id")); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"ok": true, "at": time.Now().UTC()})
	return nil
}
