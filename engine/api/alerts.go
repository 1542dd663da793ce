package api

import (
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"stride/engine/alerts"
	"stride/engine/apperr"
)

// alertRoutes are the alert configuration kind, its templates, runs and
// deliveries, the inbox, and the inbound webhooks of connectors
// (engine/alerts).
func (s *Server) alertRoutes() []route {
	base := "/api/v1/alerts"
	rs := s.configRoutes(base, "alerts", "alert", "AlertDefinition", func() configService { return s.d.Alerts }, nil)
	rs = append(rs,
		route{method: "GET", path: "/api/v1/alert-templates", tag: "alerts", summary: "Built-in alert rules to start from (stuck deal, behind pace, large deal lost, unusual amount, weekly digest)",
			access: configReader, resp: "AlertTemplateList", status: 200, handle: s.alertTemplates},
		route{method: "POST", path: "/api/v1/alert-check", tag: "alerts", summary: "Type-check an alert definition without saving it (problems with pointers, line and column)",
			access: configReader, body: "AlertDefinition", resp: "AlertCheckResult", status: 200, handle: s.checkAlert},
		route{method: "POST", path: base + "/:key/run", tag: "alerts", summary: "Evaluate a published rule now over everything it watches (as its schedule does); cooldowns apply",
			access: adminOnly, resp: "AlertRunResult", status: 200, handle: s.runAlert},
		route{method: "GET", path: "/api/v1/alert-deliveries", tag: "alerts", summary: "Deliveries of fired alerts, newest first (status=dead: the dead-letter list)",
			access: adminOnly, resp: "DeliveryList", status: 200, query: []param{{"status", "pending, sent or dead"}, {"limit", "page size (default 100, max 500)"}}, handle: s.listDeliveries},
		route{method: "POST", path: "/api/v1/alert-deliveries/:id/retry", tag: "alerts", summary: "Send a dead-lettered delivery again",
			access: adminOnly, resp: "Delivery", status: 200, handle: s.retryDelivery},
		route{method: "GET", path: "/api/v1/inbox", tag: "inbox", summary: "The caller's in-app messages, newest first, with the unread count",
			access: anyone, resp: "Inbox", status: 200, query: []param{{"unread", "true: unread only"}, {"limit", "page size (default 50, max 200)"}, {"cursor", "from a previous page's next"}}, handle: s.inbox},
		route{method: "POST", path: "/api/v1/inbox/:id/read", tag: "inbox", summary: "Mark one of the caller's messages read",
			access: anyone, resp: "InboxItem", status: 200, handle: s.markRead},
		route{method: "POST", path: "/api/v1/inbox-read-all", tag: "inbox", summary: "Mark all the caller's messages read",
			access: anyone, resp: "Count", status: 200, handle: s.markAllRead},
		route{method: "POST", path: "/api/v1/hooks/:connector", tag: "plugins",
			summary: "Inbound signed webhook of a connector plugin: X-Stride-Timestamp, X-Stride-Delivery, X-Stride-Signature: sha256=HMAC(secret, timestamp.body); tenant in X-Stride-Tenant (or ?tenant=, or the only tenant). Forged → 401, replayed delivery → 409",
			access:  public, resp: "InboundResult", status: 201, query: []param{{"tenant", "the tenant (or header X-Stride-Tenant)"}}, handle: s.inboundHook},
	)
	for i := range rs {
		h := rs[i].handle
		rs[i].handle = func(c *gin.Context, r *request) error {
			if s.d.Alerts == nil {
				return apperr.NotFound("alerts are not enabled on this server")
			}
			return h(c, r)
		}
	}
	return rs
}

func (s *Server) alertTemplates(c *gin.Context, _ *request) error {
	c.JSON(http.StatusOK, gin.H{"items": alerts.Templates()})
	return nil
}

func (s *Server) checkAlert(c *gin.Context, r *request) error {
	var def map[string]any
	if err := decodeJSON(c, &def); err != nil {
		return err
	}
	if def == nil {
		return apperr.BadRequest("the body must be an alert definition")
	}
	fe := s.d.Alerts.Check(c.Request.Context(), r.db, r.p.Tenant, def)
	if fe == nil {
		fe = []apperr.FieldError{}
	}
	c.JSON(http.StatusOK, gin.H{"ok": len(fe) == 0, "errors": fe})
	return nil
}

func (s *Server) runAlert(c *gin.Context, r *request) error {
	res, err := s.d.Alerts.RunNow(c.Request.Context(), r.db, r.p.Tenant, c.Param("key"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

func (s *Server) listDeliveries(c *gin.Context, r *request) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	ds, err := s.d.Alerts.Deliveries(c.Request.Context(), r.db, c.Query("status"), limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ds})
	return nil
}

func (s *Server) retryDelivery(c *gin.Context, r *request) error {
	d, err := s.d.Alerts.Retry(c.Request.Context(), r.db, r.p.Tenant, r.p.UserID, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, d)
	return nil
}

func (s *Server) inbox(c *gin.Context, r *request) error {
	limit, _ := strconv.Atoi(c.Query("limit"))
	in, err := s.d.Alerts.ListInbox(c.Request.Context(), r.db, r.p.UserID, c.Query("unread") == "true", limit, c.Query("cursor"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, in)
	return nil
}

func (s *Server) markRead(c *gin.Context, r *request) error {
	it, err := s.d.Alerts.MarkRead(c.Request.Context(), r.db, r.p.UserID, c.Param("id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, it)
	return nil
}

func (s *Server) markAllRead(c *gin.Context, r *request) error {
	n, err := s.d.Alerts.MarkAllRead(c.Request.Context(), r.db, r.p.UserID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

// inboundHook receives a connector's signed webhook. The route is public:
// the signature is the credential, checked before anything is written.
func (s *Server) inboundHook(c *gin.Context, _ *request) error {
	ctx := c.Request.Context()
	name := c.GetHeader("X-Stride-Tenant")
	if name == "" {
		name = c.Query("tenant")
	}
	if name == "" {
		names, err := s.d.Tenants.List(ctx)
		if err != nil {
			return err
		}
		if len(names) != 1 {
			return apperr.BadRequest("name the tenant in the X-Stride-Tenant header")
		}
		name = names[0]
	}
	if _, err := s.d.Tenants.Get(ctx, name); err != nil {
		return apperr.NotFound("no connector %q", c.Param("connector"))
	}
	db, err := s.d.Tenants.DB(ctx, name)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		return apperr.New(apperr.KindTooLarge, "body_too_large", "the request body is too large")
	}
	res, err := s.d.Alerts.Inbound(ctx, db, name, c.Param("connector"), c.Request.Header, body)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	c.JSON(status, res)
	return nil
}

// alertComponents are the OpenAPI schemas of the alert, inbox and plugin routes.
func alertComponents(defs map[string]any) map[string]any {
	text := obj(map[string]any{"title": str, "body": str})
	delivery := obj(map[string]any{"id": str, "event": str, "alert": str, "channel": str, "module": str, "recipient": str,
		"status": map[string]any{"type": "string", "enum": []string{"pending", "sent", "dead"}}, "attempts": integer, "nextAt": str,
		"lastError": str, "title": str, "createdAt": instant, "sentAt": str})
	item := obj(map[string]any{"id": str, "title": str, "body": str, "texts": map[string]any{"type": "object", "additionalProperties": text},
		"severity": str, "link": str, "alert": str, "read": boolean, "createdAt": instant})
	plugin := obj(map[string]any{"id": str, "module": str, "label": str, "enabled": boolean, "config": anyObj, "secretsSet": arr(str),
		"alwaysOn": boolean, "version": integer, "updatedAt": instant, "updatedBy": str})
	return map[string]any{
		"AlertDefinition":   schemaDoc("alert.schema.json", "Alert_", defs),
		"AlertTemplateList": obj(map[string]any{"items": arr(anyObj)}),
		"AlertCheckResult":  obj(map[string]any{"ok": boolean, "errors": arr(anyObj)}),
		"AlertRunResult":    obj(map[string]any{"evaluated": integer, "matched": integer, "fired": integer}),
		"Delivery":          delivery,
		"DeliveryList":      obj(map[string]any{"items": arr(delivery)}),
		"InboxItem":         item,
		"Inbox":             obj(map[string]any{"items": arr(item), "unread": integer, "next": str}),
		"Count":             obj(map[string]any{"count": integer}),
		"InboundResult":     obj(map[string]any{"record": ref("Record"), "replayed": boolean, "delivery": str}),
		"Plugin":            plugin,
		"PluginList":        obj(map[string]any{"items": arr(plugin)}),
		"PluginInput":       obj(map[string]any{"module": str, "label": str, "enabled": boolean, "config": anyObj}, "module"),
		"PluginModuleList": obj(map[string]any{"items": arr(obj(map[string]any{"id": str, "namespace": str, "label": i18n,
			"schema": anyObj, "secrets": arr(str), "alwaysOn": boolean}))}),
		"PluginTestResult": obj(map[string]any{"ok": boolean, "at": instant}),
	}
}
