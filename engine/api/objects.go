package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/objects"
	"stride/engine/pipeline"
	"stride/engine/rules"
)

func (s *Server) getObject(c *gin.Context, r *request) error {
	key := c.Param("key")
	if c.Query("published") == "true" {
		comp, err := s.d.Objects.Published(c.Request.Context(), r.db, r.p.Tenant, key)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"key": key, "version": comp.Version, "status": objects.StatusPublished,
			"publishedVersion": comp.Version, "definition": comp.Definition})
		return nil
	}
	o, err := s.d.Objects.Get(c.Request.Context(), r.db, key)
	if err != nil {
		return err
	}
	c.Header("ETag", etag(o.Version))
	c.JSON(http.StatusOK, o)
	return nil
}

type ruleCheck struct {
	Kind       string         `json:"kind"`
	Expression string         `json:"expression"`
	Object     string         `json:"object"`
	Field      string         `json:"field"`
	Definition map[string]any `json:"definition"`
	Sample     map[string]any `json:"sample"`
}

var ruleKinds = map[string]rules.Result{"computed": rules.Any, "visibleIf": rules.Bool, "requiredIf": rules.Bool, "expression": rules.Any,
	"enterIf": rules.Bool, "match": rules.Bool}

// checkRule type-checks a formula against an object's environment (the
// unsaved definition given, else the object's working copy) and, with a
// sample record, evaluates it. A formula mistake is a 200 with ok=false:
// the check itself succeeded.
func (s *Server) checkRule(c *gin.Context, r *request) error {
	var in ruleCheck
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	want, ok := ruleKinds[in.Kind]
	var fe []apperr.FieldError
	if !ok {
		fe = append(fe, apperr.FieldError{Pointer: "/kind", Code: "enum", Message: "one of computed, visibleIf, requiredIf, expression, enterIf, match"})
	}
	if in.Expression == "" {
		fe = append(fe, apperr.FieldError{Pointer: "/expression", Code: "required", Message: "expression is required"})
	}
	if len(fe) > 0 {
		return apperr.Invalid("the check request is invalid", fe...)
	}
	def := in.Definition
	if def == nil && in.Object != "" {
		o, err := s.d.Objects.Get(c.Request.Context(), r.db, in.Object)
		if err != nil {
			return err
		}
		def = o.Definition
	}
	env, fields, schemaErrs := s.d.Objects.Env(def)
	if len(schemaErrs) > 0 {
		return apperr.Invalid("the object's schema is invalid, so formulas cannot be checked against it", schemaErrs...)
	}
	if in.Kind == "enterIf" {
		env = pipeline.GuardEnv(env) // + from, to, user, as when the pipeline is saved
	}
	if in.Kind == "computed" && in.Field != "" {
		if f, ok := fields[in.Field]; ok {
			want = objects.WantFor(f)
		}
	}
	prog, err := s.d.Objects.Rules().Check(in.Expression, env, want)
	if err != nil {
		c.JSON(http.StatusOK, gin.H{"ok": false, "errors": []apperr.FieldError{rules.Problem("/expression", err)}})
		return nil
	}
	out := gin.H{"ok": true, "type": prog.Type(), "reads": prog.Reads()}
	if in.Sample != nil {
		vars, sampleErrs := s.d.Objects.SampleEnv(def, in.Sample)
		if len(sampleErrs) > 0 {
			return apperr.Invalid("the sample does not fit the object's schema", prefix("/sample", sampleErrs)...)
		}
		v, reads, err := prog.Explain(vars)
		if err != nil {
			c.JSON(http.StatusOK, gin.H{"ok": false, "type": prog.Type(), "errors": []apperr.FieldError{rules.Problem("/expression", err)}})
			return nil
		}
		out["value"], out["reads"] = v, reads
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func prefix(p string, fe []apperr.FieldError) []apperr.FieldError {
	for i := range fe {
		fe[i].Pointer = p + fe[i].Pointer
	}
	return fe
}
