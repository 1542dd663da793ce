// Package api is the HTTP edge of Stride: a Gin router built from one route
// table that also generates the OpenAPI document and drives authorization,
// problem+json errors, and the embedded UI (DESIGN.md §8).
package api

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"stride/engine/alerts"
	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/commission"
	"stride/engine/ids"
	"stride/engine/objects"
	"stride/engine/pipeline"
	"stride/engine/progress"
	"stride/engine/records"
	"stride/engine/reports"
	"stride/engine/scorecard"
	"stride/engine/store"
	"stride/engine/targets"
	"stride/engine/templates"
	"stride/engine/tenant"
	"stride/engine/tracking"
)

// MaxBody is the largest request body accepted (413 above it).
const MaxBody = 1 << 20

// Deps are the services the API serves.
type Deps struct {
	Store   store.Store
	Tenants *tenant.Registry
	Auth    *auth.Service
	Objects *objects.Service
	Records *records.Service
	// Pipelines may be nil (then pipeline routes answer 404 for every key).
	Pipelines *pipeline.Service
	Tracker   *tracking.Tracker
	Progress  *progress.Service
	// Targets may be nil (then target plan routes answer 404).
	Targets *targets.Service
	// Templates may be nil (then template routes answer 404); Examples
	// holds the built-in templates (<name>/template.json), may be nil.
	Templates *templates.Service
	Examples  fs.FS
	// Commission may be nil (then commission routes answer 404). Its job
	// service serves the job routes.
	Commission *commission.Service
	// Scorecards may be nil (then scorecard routes answer 404).
	Scorecards *scorecard.Service
	// Reports may be nil (then report routes answer 404).
	Reports *reports.Service
	// Alerts may be nil (then alert, inbox, plugin and hook routes answer
	// 404). Its plugin configurations serve the plugin routes.
	Alerts *alerts.Service
	// UI is the built web app (nil or empty: a placeholder page is served).
	UI fs.FS
	// Version is the build's version string.
	Version string
	// TrustedProxies are the addresses (IPs or CIDRs) of reverse proxies
	// whose X-Forwarded-For / X-Real-IP name the client. Empty: none — the
	// client is the peer address, so nobody can pick the address that login
	// rate limits and audit entries key on.
	TrustedProxies []string
	// RequestTimeout bounds every API handler's context (default
	// DefaultRequestTimeout; writes that may rebuild, such as a publish or
	// a template apply, get LongRequestTimeout).
	RequestTimeout, LongRequestTimeout time.Duration
}

// Request deadlines: under the http.Server's WriteTimeout (cmd/stride), so a
// slow handler ends with a 503 problem, not a cut connection.
const (
	DefaultRequestTimeout = 60 * time.Second
	LongRequestTimeout    = 110 * time.Second
)

// Server is the HTTP API.
type Server struct {
	d       Deps
	routes  []route
	engine  *gin.Engine
	metrics *metrics
}

// access says who may call a route.
type access struct {
	public bool        // no token needed
	roles  []auth.Role // any of these (empty: any signed-in person)
	scope  string      // integration tokens need this scope ("" = not for tokens)
}

// route is one endpoint: the single source for the router, authorization
// and the OpenAPI document.
type route struct {
	method, path string // gin path syntax (:param)
	tag, summary string
	access       access
	body         string // OpenAPI schema name of the request body, "" if none
	resp         string // OpenAPI schema name of the 2xx response, "" if none
	status       int    // success status
	query        []param
	handle       func(*gin.Context, *request) error
}

// param documents a query parameter.
type param struct{ name, desc string }

// request is what handlers get besides the gin context.
type request struct {
	p  *auth.Principal
	db store.DB
}

var (
	anyone       = access{}
	adminOnly    = access{roles: []auth.Role{auth.RoleAdmin}}
	recordReader = access{scope: "records:read"}
	recordWriter = access{roles: []auth.Role{auth.RoleAdmin, auth.RoleManager, auth.RoleRep}, scope: "records:write"}
	configReader = access{scope: "config:read"}
	public       = access{public: true}
)

const (
	ctxRequestID = "stride.request_id"
	ctxPrincipal = "stride.principal"
)

// New builds the server and its routes.
func New(d Deps) *Server {
	gin.SetMode(gin.ReleaseMode)
	s := &Server{d: d, metrics: newMetrics()}
	s.routes = s.table()
	e := gin.New()
	// Never believe forwarding headers from arbitrary peers (gin trusts
	// every proxy by default): see Deps.TrustedProxies.
	if err := e.SetTrustedProxies(d.TrustedProxies); err != nil {
		slog.Error("ignoring invalid trusted proxies", "err", err)
		_ = e.SetTrustedProxies(nil)
	}
	if d.RequestTimeout <= 0 {
		s.d.RequestTimeout = DefaultRequestTimeout
	}
	if d.LongRequestTimeout <= 0 {
		s.d.LongRequestTimeout = LongRequestTimeout
	}
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(s.recover, s.requestID, s.logRequests, s.metrics.observe, securityHeaders, limitBody)
	for _, r := range s.routes {
		e.Handle(r.method, r.path, s.wrap(r))
	}
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/api/v1/openapi.json", s.openapi)
	e.GET("/docs", s.docs)
	e.GET("/metrics", s.metrics.handler())
	e.NoMethod(func(c *gin.Context) {
		writeError(c, apperr.New(apperr.KindBadRequest, "method_not_allowed", "%s is not allowed on %s", c.Request.Method, c.Request.URL.Path))
	})
	e.NoRoute(s.noRoute)
	s.engine = e
	return s
}

// Handler returns the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.engine }

// wrap adds authentication, authorization and error mapping to a handler.
func (s *Server) wrap(r route) gin.HandlerFunc {
	timeout := s.d.RequestTimeout
	if r.method == http.MethodPost || r.method == http.MethodPut {
		timeout = s.d.LongRequestTimeout
	}
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), timeout)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		req := &request{}
		if !r.access.public {
			p, err := s.authenticate(c)
			if err != nil {
				writeError(c, err)
				return
			}
			if err := r.access.allow(p); err != nil {
				writeError(c, err)
				return
			}
			db, err := s.d.Tenants.DB(c.Request.Context(), p.Tenant)
			if err != nil {
				writeError(c, err)
				return
			}
			req.p, req.db = p, db
			c.Set(ctxPrincipal, p)
		}
		if err := r.handle(c, req); err != nil {
			writeError(c, err)
		}
	}
}

func (a access) allow(p *auth.Principal) error {
	if p.Integration {
		if a.scope == "" || !p.HasScope(a.scope) {
			return apperr.Forbidden("this integration token lacks the scope for this endpoint (needs %q)", a.scope)
		}
		return nil
	}
	if len(a.roles) == 0 || slices.ContainsFunc(a.roles, p.Has) {
		return nil
	}
	return apperr.Forbidden("your role cannot do this")
}

func (s *Server) authenticate(c *gin.Context) (*auth.Principal, error) {
	h := c.GetHeader("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, apperr.Unauthorized("sign in first: send Authorization: Bearer <token>")
	}
	return s.d.Auth.Authenticate(c.Request.Context(), strings.TrimSpace(tok))
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			slog.Error("panic in handler", "path", c.Request.URL.Path, "panic", v)
			writeError(c, &apperr.Error{Kind: apperr.KindInternal, Code: "internal", Message: "an internal error occurred; it has been logged"})
		}
	}()
	c.Next()
}

func (s *Server) requestID(c *gin.Context) {
	rid := c.GetHeader("X-Request-ID")
	if rid == "" || len(rid) > 64 {
		rid = ids.New("req")
	}
	c.Set(ctxRequestID, rid)
	c.Header("X-Request-ID", rid)
	c.Next()
}

func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	if strings.HasPrefix(c.Request.URL.Path, "/assets/") {
		return
	}
	lvl := slog.LevelInfo
	if c.Writer.Status() >= 500 {
		lvl = slog.LevelError
	}
	attrs := []any{"method", c.Request.Method, "path", c.Request.URL.Path, "status", c.Writer.Status(),
		"duration_ms", float64(time.Since(start).Microseconds()) / 1000, "request_id", c.GetString(ctxRequestID)}
	if p, ok := c.Get(ctxPrincipal); ok {
		pr := p.(*auth.Principal)
		attrs = append(attrs, "tenant", pr.Tenant, "user", pr.UserID)
	}
	slog.Log(c.Request.Context(), lvl, "http", attrs...)
}

// ContentSecurityPolicy is the policy of the web app and the other HTML
// pages (/docs). The built UI is Vite output: module scripts and styles
// from /assets, no inline scripts; ECharts and React set style attributes,
// hence 'unsafe-inline' for styles only (no script can be injected through
// it); charts export to data: URLs. Nothing is loaded from another origin.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// apiContentSecurityPolicy is for JSON: nothing may run or be framed.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; sandbox"

func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
	if c.Request.TLS != nil || c.GetHeader("X-Forwarded-Proto") == "https" {
		// Only meaningful (and only honoured by browsers) over HTTPS.
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		h.Set("Content-Security-Policy", apiContentSecurityPolicy)
		// Pay and target data must not linger in shared or browser caches.
		h.Set("Cache-Control", "no-store")
	} else {
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
	}
	c.Next()
}

func limitBody(c *gin.Context) {
	if c.Request.ContentLength > MaxBody {
		writeError(c, apperr.New(apperr.KindTooLarge, "body_too_large", "the request body is larger than %d bytes", MaxBody))
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxBody)
	c.Next()
}

func (s *Server) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok", "version": s.d.Version})
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.d.Store.Ping(ctx); err != nil {
		c.Header("Retry-After", "2")
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "store": s.d.Store.Backend(), "error": err.Error()})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "store": s.d.Store.Backend()})
}

// RouteInfo is a served route's method and gin path.
type RouteInfo struct{ Method, Path string }

// Routes lists every route the router serves (for tests and tooling).
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, r := range s.engine.Routes() {
		out = append(out, RouteInfo{r.Method, r.Path})
	}
	return out
}
