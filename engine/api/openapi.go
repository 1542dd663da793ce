package api

import (
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/schemas"
)

var ginParam = regexp.MustCompile(`:([A-Za-z]+)`)

// openAPIPath converts gin's :param syntax to OpenAPI's {param}.
func openAPIPath(p string) string { return ginParam.ReplaceAllString(p, "{$1}") }

func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
func arr(item any) map[string]any    { return map[string]any{"type": "array", "items": item} }
func listOf(name string) map[string]any {
	return obj(map[string]any{"items": arr(ref(name)), "next": map[string]any{"type": "string"}}, "items")
}

var (
	str     = map[string]any{"type": "string"}
	integer = map[string]any{"type": "integer", "format": "int64"}
	boolean = map[string]any{"type": "boolean"}
	i18n    = map[string]any{"type": "object", "additionalProperties": str, "example": map[string]any{"zh-CN": "商机", "en": "Deal"}}
	anyObj  = map[string]any{"type": "object", "additionalProperties": true}
	instant = map[string]any{"type": "string", "format": "date-time"}
)

// schemaDoc embeds one of the configuration JSON Schemas as a component.
// Its $defs become components of their own (named prefix+def) and its
// "#/$defs/…" references are rewritten to point at them, so every $ref in
// the OpenAPI document resolves.
func schemaDoc(name, prefix string, into map[string]any) any {
	b, err := fs.ReadFile(schemas.FS, name)
	if err != nil {
		return anyObj
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return anyObj
	}
	delete(m, "$schema")
	delete(m, "$id")
	defs, _ := m["$defs"].(map[string]any)
	delete(m, "$defs")
	var rewrite func(v any)
	rewrite = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok && strings.HasPrefix(r, "#/$defs/") {
				x["$ref"] = "#/components/schemas/" + prefix + strings.TrimPrefix(r, "#/$defs/")
			}
			for _, e := range x {
				rewrite(e)
			}
		case []any:
			for _, e := range x {
				rewrite(e)
			}
		}
	}
	rewrite(m)
	for k, d := range defs {
		rewrite(d)
		into[prefix+k] = d
	}
	return m
}

// components are the named schemas the route table refers to.
func components() map[string]any {
	defs := map[string]any{}
	objectDef := schemaDoc("object.schema.json", "Object_", defs)
	pipelineDef := schemaDoc("pipeline.schema.json", "Pipeline_", defs)
	metricDef := schemaDoc("metric.schema.json", "Metric_", defs)
	planDef := schemaDoc("target_plan.schema.json", "TargetPlan_", defs)
	bundleDef := schemaDoc("template.schema.json", "Template_", defs)
	num := map[string]any{"type": "number"}
	nullable := func(t string) map[string]any { return map[string]any{"type": []string{t, "null"}} }
	row := obj(map[string]any{"node": obj(map[string]any{"kind": map[string]any{"type": "string", "enum": []string{"company", "team", "user"}}, "id": str, "name": str}),
		"target": nullable("integer"), "actual": nullable("integer"), "reason": str, "count": integer, "attainment": nullable("number"), "expected": nullable("integer"),
		"pacing": nullable("number"), "forecast": obj(map[string]any{"runRate": nullable("integer"), "weighted": nullable("integer")}), "gap": nullable("integer"),
		"plan": obj(map[string]any{"key": str, "version": integer})})
	cell := obj(map[string]any{"sum": integer, "count": integer})
	fieldErr := obj(map[string]any{"pointer": str, "code": str, "message": str, "line": integer, "column": integer, "snippet": str, "hint": str}, "pointer", "code", "message")
	user := obj(map[string]any{"id": str, "username": str, "displayName": str, "roles": arr(str), "disabled": boolean, "createdAt": instant, "updatedAt": instant, "version": integer})
	team := obj(map[string]any{"id": str, "name": str, "parentId": str, "managers": arr(str), "version": integer})
	out := map[string]any{
		"Problem": obj(map[string]any{"type": str, "title": str, "status": integer, "detail": str, "instance": str, "code": str,
			"errors": arr(fieldErr), "requestId": str}, "type", "title", "status", "code"),
		"FieldError":       fieldErr,
		"LoginRequest":     obj(map[string]any{"tenant": str, "username": str, "password": str}, "tenant", "username", "password"),
		"LoginResult":      obj(map[string]any{"token": str, "expiresAt": instant, "user": ref("User")}),
		"Me":               obj(map[string]any{"id": str, "username": str, "displayName": str, "roles": arr(str), "tenant": str, "memberships": arr(ref("Membership")), "integration": boolean, "scopes": arr(str)}),
		"User":             user,
		"UserList":         listOf("User"),
		"UserInput":        obj(map[string]any{"username": str, "displayName": str, "roles": arr(map[string]any{"type": "string", "enum": []string{"admin", "manager", "rep", "finance", "viewer"}}), "password": map[string]any{"type": "string", "writeOnly": true, "minLength": 8}, "disabled": boolean}),
		"Team":             team,
		"TeamList":         listOf("Team"),
		"TeamInput":        obj(map[string]any{"name": str, "parentId": str, "managers": arr(str)}),
		"Membership":       obj(map[string]any{"id": str, "userId": str, "teamId": str, "from": map[string]any{"type": "string", "format": "date"}, "to": map[string]any{"type": "string", "format": "date"}}, "userId", "from"),
		"MembershipList":   listOf("Membership"),
		"Token":            obj(map[string]any{"id": str, "name": str, "scopes": arr(str), "createdBy": str, "createdAt": instant, "expiresAt": instant, "token": map[string]any{"type": "string", "description": "the secret, returned once on creation"}}),
		"TokenList":        listOf("Token"),
		"TokenInput":       obj(map[string]any{"name": str, "scopes": arr(map[string]any{"type": "string", "enum": []string{"records:read", "records:write", "config:read"}}), "expiresAt": instant}, "name", "scopes"),
		"AuditEntry":       obj(map[string]any{"id": str, "at": instant, "actor": str, "action": str, "target": str, "detail": anyObj}),
		"AuditList":        listOf("AuditEntry"),
		"ObjectDefinition": objectDef,
		"Object": obj(map[string]any{"key": str, "label": i18n, "version": integer, "status": map[string]any{"type": "string", "enum": []string{"draft", "published"}},
			"publishedVersion": integer, "definition": ref("ObjectDefinition"), "updatedAt": instant, "updatedBy": str}),
		"PipelineDefinition": pipelineDef,
		"MetricDefinition":   metricDef,
		"ProgressRow":        row,
		"Progress": obj(map[string]any{"metric": obj(map[string]any{"key": str, "label": i18n, "unit": str, "scale": integer,
			"dim": str, "level": str, "derived": boolean, "formula": str}),
			"period": obj(map[string]any{"key": str, "start": instant, "end": instant, "elapsed": num}),
			"node":   ref("ProgressRow"), "children": arr(ref("ProgressRow"))}),
		"ShareList": obj(map[string]any{"items": arr(obj(map[string]any{"object": str, "recordId": str, "owner": str, "day": str,
			"sum": integer, "count": integer, "split": boolean})),
			"derived": obj(map[string]any{"formula": str, "value": nullable("integer"), "float": nullable("number"), "reason": str,
				"inputs": arr(obj(map[string]any{"name": str, "metric": str, "period": str, "unit": str,
					"value": nullable("number"), "stored": nullable("integer"), "reason": str}))})}),
		"ReconcileRequest": obj(map[string]any{"repair": boolean}),
		"ReconcileReport": obj(map[string]any{"metrics": integer, "records": integer, "buckets": integer, "repaired": boolean,
			"drift": arr(obj(map[string]any{"metric": str, "owner": str, "day": str, "stored": cell, "expected": cell}))}),
		"TransitionRequest": obj(map[string]any{"to": str, "note": str}, "to"),
		"Funnel": obj(map[string]any{"pipeline": str, "version": integer, "period": obj(map[string]any{"key": str, "start": instant, "end": instant}),
			"stages": arr(obj(map[string]any{"stage": str, "label": i18n, "terminal": str, "entered": integer, "converted": integer,
				"conversion": map[string]any{"type": []string{"number", "null"}}, "exited": integer,
				"avgDays": map[string]any{"type": []string{"number", "null"}}, "medianDays": map[string]any{"type": []string{"number", "null"}}}))}),
		"StuckList": obj(map[string]any{"items": arr(obj(map[string]any{"id": str, "title": str, "owner": str, "stage": str,
			"enteredAt": instant, "days": map[string]any{"type": "number"}, "slaDays": integer}))}),
		"ConfigDoc": obj(map[string]any{"key": str, "label": i18n, "version": integer, "status": map[string]any{"type": "string", "enum": []string{"draft", "published"}},
			"publishedVersion": integer, "definition": anyObj, "updatedAt": instant, "updatedBy": str}),
		"ConfigList":  obj(map[string]any{"items": arr(obj(map[string]any{"key": str, "label": i18n, "status": str, "version": integer, "publishedVersion": integer, "updatedAt": instant}))}),
		"VersionList": obj(map[string]any{"items": arr(obj(map[string]any{"key": str, "version": integer, "publishedAt": instant, "publishedBy": str}))}),
		"RecordInput": map[string]any{"type": "object", "additionalProperties": true, "description": "the record's fields as its object's schema defines them, plus optional owner (user id)"},
		"Record": obj(map[string]any{"id": str, "object": str, "version": integer, "objectVersion": integer, "owner": str,
			"createdAt": instant, "updatedAt": instant, "createdBy": str, "updatedBy": str, "data": anyObj}),
		"RecordList": listOf("Record"),
		"RuleCheck": obj(map[string]any{"kind": map[string]any{"type": "string", "enum": []string{"computed", "visibleIf", "requiredIf", "expression", "enterIf", "match"}},
			"expression": str, "object": str, "field": str, "definition": ref("ObjectDefinition"), "sample": anyObj}, "kind", "expression"),
		"TargetPlanDefinition": planDef,
		"TargetPlan": obj(map[string]any{"key": str, "label": i18n, "version": integer, "status": map[string]any{"type": "string", "enum": []string{"draft", "published"}},
			"publishedVersion": integer, "definition": ref("TargetPlanDefinition"), "updatedAt": instant, "updatedBy": str}),
		"TargetPlanList":        listOf("TargetPlan"),
		"TargetAllocateRequest": obj(map[string]any{"reason": str, "definition": ref("TargetPlanDefinition")}),
		"TargetExplanation": obj(map[string]any{"rule": map[string]any{"type": "string", "enum": []string{"root", "formula", "equal", "locked", "floor", "cap", "frozen"}},
			"formula": str, "inputs": map[string]any{"type": "object", "additionalProperties": obj(map[string]any{"value": num, "share": num})},
			"weight": num, "share": num, "raw": num, "rounded": integer}),
		"TargetTreeRow": obj(map[string]any{"key": str, "name": str, "kind": str, "depth": integer, "parent": str, "amount": integer, "annual": integer,
			"months": arr(integer), "explain": ref("TargetExplanation"), "lock": integer, "floor": integer, "cap": integer,
			"inputs": map[string]any{"type": "object", "additionalProperties": num}, "dims": arr(obj(map[string]any{"key": str, "amount": integer})),
			"proposal": ref("TargetProposal"), "actual": integer, "attainment": num, "hasChildren": boolean}),
		"TargetTree": obj(map[string]any{"plan": str, "version": integer, "level": str, "levels": arr(str), "metric": str, "unit": str, "scale": integer,
			"period": obj(map[string]any{"key": str, "start": instant, "end": instant}), "node": ref("TargetTreeRow"), "children": arr(ref("TargetTreeRow")),
			"path": arr(obj(map[string]any{"key": str, "name": str}))}),
		"TargetHistory": obj(map[string]any{"items": arr(obj(map[string]any{"plan": str, "version": integer, "author": str, "at": instant, "reason": str,
			"totals": map[string]any{"type": "object", "additionalProperties": integer}}))}),
		"TargetNodeChange": obj(map[string]any{"key": str, "name": str, "old": integer, "new": integer, "delta": integer}),
		"TargetDiff": obj(map[string]any{"from": anyObj, "to": anyObj, "definition": arr(obj(map[string]any{"path": str, "old": map[string]any{}, "new": map[string]any{}})),
			"nodes": map[string]any{"type": "object", "additionalProperties": arr(ref("TargetNodeChange"))}}),
		"TargetLockInput": obj(map[string]any{"node": str, "level": str, "amount": nullable("integer"), "reason": str, "dryRun": boolean}, "node", "amount"),
		"TargetOutcome": obj(map[string]any{"dryRun": boolean, "plan": ref("TargetPlan"),
			"changes": map[string]any{"type": "object", "additionalProperties": arr(ref("TargetNodeChange"))},
			"totals":  map[string]any{"type": "object", "additionalProperties": integer}}),
		"TargetProposalInput": obj(map[string]any{"node": str, "amounts": map[string]any{"type": "object", "additionalProperties": integer}, "note": str}, "node", "amounts"),
		"TargetProposal": obj(map[string]any{"node": str, "amounts": map[string]any{"type": "object", "additionalProperties": integer}, "by": str, "at": str, "note": str,
			"status": str, "allocated": map[string]any{"type": "object", "additionalProperties": integer}, "gap": map[string]any{"type": "object", "additionalProperties": integer}}),
		"TargetProposalList":  listOf("TargetProposal"),
		"TargetAcceptInput":   obj(map[string]any{"nodes": arr(str), "reason": str, "dryRun": boolean}, "nodes"),
		"TargetRespreadInput": obj(map[string]any{"fromMonth": str, "reason": str, "dryRun": boolean}, "fromMonth"),
		"TargetSuggestion": obj(map[string]any{"metric": str, "fiscalYear": integer, "history": arr(obj(map[string]any{"fiscalYear": integer, "actual": integer, "months": arr(integer)})),
			"trendGrowth": nullable("number"), "marketGrowth": nullable("number"), "growth": num, "suggested": integer, "seasonality": arr(num),
			"reasoning": arr(obj(map[string]any{"zh-CN": str, "en": str})), "granularity": integer, "hasHistory": boolean, "lastYearTotal": integer}),
		"TemplateBundle":       bundleDef,
		"TemplateApplyRequest": obj(map[string]any{"name": str, "bundle": anyObj, "dryRun": boolean, "force": boolean, "publishPlans": boolean}),
		"TemplateReport": obj(map[string]any{"template": str, "version": str, "tenant": str, "dryRun": boolean, "conflicts": integer,
			"changes": arr(obj(map[string]any{"kind": str, "key": str, "action": map[string]any{"type": "string", "enum": []string{"create", "upgrade", "unchanged", "conflict", "overwrite"}}, "reason": str}))}),
		"TemplateDiff": obj(map[string]any{"items": arr(obj(map[string]any{"kind": str, "key": str, "status": map[string]any{"type": "string", "enum": []string{"added", "removed", "changed"}},
			"changes": arr(obj(map[string]any{"path": str, "old": map[string]any{}, "new": map[string]any{}}))}))}),
		"TemplateList":    obj(map[string]any{"items": arr(obj(map[string]any{"name": str, "metadata": anyObj, "contains": anyObj}))}),
		"RuleCheckResult": obj(map[string]any{"ok": boolean, "type": str, "value": map[string]any{}, "reads": map[string]any{}, "errors": arr(fieldErr)}),
	}
	for k, v := range scorecardComponents(defs) {
		out[k] = v
	}
	for k, v := range reportComponents(defs) {
		out[k] = v
	}
	for k, v := range alertComponents(defs) {
		out[k] = v
	}
	for k, v := range defs {
		out[k] = v
	}
	for k, v := range commissionComponents() {
		out[k] = v
	}
	return out
}

// Spec builds the OpenAPI 3.1 document from the route table.
func (s *Server) Spec() map[string]any {
	paths := map[string]any{}
	for _, r := range s.routes {
		p := openAPIPath(r.path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		op := map[string]any{"tags": []string{r.tag}, "summary": r.summary, "operationId": operationID(r)}
		var params []any
		for _, m := range ginParam.FindAllStringSubmatch(r.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": str})
		}
		for _, q := range r.query {
			params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.desc, "schema": str})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": ref(r.body)}}}
		}
		ok := map[string]any{"description": http.StatusText(r.status)}
		if r.resp != "" {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(r.resp)}}
		}
		problem := map[string]any{"description": "problem details (RFC 9457)", "content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
		op["responses"] = map[string]any{itoa(r.status): ok, "default": problem}
		if r.access.public {
			op["security"] = []any{}
		}
		desc := []string{}
		if len(r.access.roles) > 0 {
			rs := make([]string, len(r.access.roles))
			for i, x := range r.access.roles {
				rs[i] = string(x)
			}
			desc = append(desc, "Roles: "+strings.Join(rs, ", ")+".")
		}
		if r.access.scope != "" {
			desc = append(desc, "Integration tokens need scope `"+r.access.scope+"`.")
		}
		if len(desc) > 0 {
			op["description"] = strings.Join(desc, " ")
		}
		item[strings.ToLower(r.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Stride API", "version": s.d.Version,
			"description": "Sales target management (销售目标管理). Errors are application/problem+json (RFC 9457) with errors[].pointer."},
		"servers":    []any{map[string]any{"url": "/"}},
		"paths":      paths,
		"security":   []any{map[string]any{"bearer": []any{}}},
		"components": map[string]any{"schemas": components(), "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
}

func operationID(r route) string {
	parts := []string{strings.ToLower(r.method)}
	for _, seg := range strings.Split(strings.TrimPrefix(r.path, "/api/v1/"), "/") {
		if strings.HasPrefix(seg, ":") {
			seg = "by_" + seg[1:]
		}
		parts = append(parts, seg)
	}
	return strings.Join(parts, "_")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func (s *Server) openapi(c *gin.Context) { c.JSON(http.StatusOK, s.Spec()) }

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stride API</title>
<style>
body{font:14px/1.5 -apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1f1f1f;background:#f5f7fa}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:24px}h2{margin-top:32px;border-bottom:1px solid #e5e5e5;text-transform:capitalize}
.op{background:#fff;border:1px solid #e5e5e5;border-radius:6px;margin:8px 0;padding:10px 14px}
.m{display:inline-block;min-width:60px;font-weight:600;font-family:monospace}
.GET{color:#1677ff}.POST{color:#389e0d}.PUT{color:#d48806}.PATCH{color:#d46b08}.DELETE{color:#cf1322}
code{font-family:ui-monospace,monospace}.d{color:#666;margin-top:4px}
</style></head><body><main>
<h1>Stride API <small>{{.Version}}</small></h1>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>. Send <code>Authorization: Bearer &lt;token&gt;</code> from <code>POST /api/v1/auth/login</code>. Errors are <code>application/problem+json</code> (RFC 9457) with <code>errors[].pointer</code>.</p>
{{range .Groups}}<h2>{{.Tag}}</h2>{{range .Ops}}<div class="op"><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code>
<div class="d">{{.Summary}}{{if .Body}} · body: <code>{{.Body}}</code>{{end}}{{if .Resp}} · returns: <code>{{.Resp}}</code>{{end}}{{if .Access}} · {{.Access}}{{end}}</div></div>{{end}}{{end}}
</main></body></html>`))

type docOp struct{ Method, Path, Summary, Body, Resp, Access string }
type docGroup struct {
	Tag string
	Ops []docOp
}

// docs renders the route table as a readable page (no external assets, so
// it works on an offline intranet).
func (s *Server) docs(c *gin.Context) {
	byTag := map[string][]docOp{}
	var tags []string
	for _, r := range s.routes {
		if _, ok := byTag[r.tag]; !ok {
			tags = append(tags, r.tag)
		}
		acc := "any signed-in user"
		switch {
		case r.access.public:
			acc = "public"
		case len(r.access.roles) > 0:
			names := make([]string, len(r.access.roles))
			for i, x := range r.access.roles {
				names[i] = string(x)
			}
			acc = "roles: " + strings.Join(names, ", ")
		}
		if r.access.scope != "" {
			acc += "; token scope " + r.access.scope
		}
		byTag[r.tag] = append(byTag[r.tag], docOp{r.method, openAPIPath(r.path), r.summary, r.body, r.resp, acc})
	}
	sort.Strings(tags)
	var groups []docGroup
	for _, t := range tags {
		groups = append(groups, docGroup{t, byTag[t]})
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	_ = docsPage.Execute(c.Writer, map[string]any{"Version": s.d.Version, "Groups": groups})
}

// noRoute serves the web app for non-API paths (with SPA fallback to
// index.html) and a problem+json 404 for unknown API paths.
func (s *Server) noRoute(c *gin.Context) {
	p := c.Request.URL.Path
	if strings.HasPrefix(p, "/api/") || c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		writeError(c, apperr.NotFound("no such endpoint: %s %s", c.Request.Method, p))
		return
	}
	if s.d.UI == nil {
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(noUIPage))
		return
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name != "" {
		if st, err := fs.Stat(s.d.UI, name); err == nil && !st.IsDir() {
			if strings.HasPrefix(name, "assets/") {
				// Vite names assets by content hash: cache them for good.
				c.Header("Cache-Control", "public, max-age=31536000, immutable")
			}
			c.FileFromFS(name, http.FS(s.d.UI))
			return
		}
	}
	index, err := fs.ReadFile(s.d.UI, "index.html")
	if err != nil {
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(noUIPage))
		return
	}
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "text/html; charset=utf-8", index)
}

const noUIPage = `<!doctype html><meta charset="utf-8"><title>Stride</title>
<p>Stride is running, but this binary was built without the web UI. Run <code>make run</code> (it builds the UI), or use the API: <a href="/docs">/docs</a>.</p>`
