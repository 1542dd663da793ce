package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/expr-lang/expr/types"
	"github.com/robfig/cron/v3"

	"stride/engine/apperr"
	"stride/engine/forms"
	"stride/engine/rules"
	"stride/engine/store"
)

// Sources.
const (
	SourceRecord   = "record"
	SourceProgress = "progress"
)

// DefaultCooldownMinutes is a rule's cooldown when it sets none: a day.
const DefaultCooldownMinutes = 1440

// Definition is an alert rule (schemas/alert.schema.json).
type Definition struct {
	Key             string            `json:"key,omitempty"`
	Label           map[string]string `json:"label"`
	Description     map[string]string `json:"description,omitempty"`
	Template        string            `json:"template,omitempty"`
	Source          string            `json:"source"`
	Object          string            `json:"object,omitempty"`
	OnChange        *bool             `json:"onChange,omitempty"`
	Events          []string          `json:"events,omitempty"`
	Schedule        string            `json:"schedule,omitempty"`
	Metric          string            `json:"metric,omitempty"`
	Grain           string            `json:"grain,omitempty"`
	Nodes           string            `json:"nodes,omitempty"`
	Pipeline        string            `json:"pipeline,omitempty"`
	Condition       string            `json:"condition"`
	Title           map[string]string `json:"title"`
	Message         map[string]string `json:"message"`
	Severity        string            `json:"severity,omitempty"`
	Recipients      Recipients        `json:"recipients"`
	Channels        []string          `json:"channels,omitempty"`
	DedupeKey       string            `json:"dedupeKey,omitempty"`
	CooldownMinutes *int              `json:"cooldownMinutes,omitempty"`
	Link            string            `json:"link,omitempty"`
}

// Recipients chooses who is told.
type Recipients struct {
	Owner    bool     `json:"owner,omitempty"`
	Managers bool     `json:"managers,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Users    []string `json:"users,omitempty"`
}

// Rule is a compiled alert version.
type Rule struct {
	Key        string
	Version    int64
	Def        *Definition
	Condition  *rules.Program
	Dedupe     *rules.Program // nil: the default key
	Title      map[string]*Template
	Message    map[string]*Template
	Link       *Template
	Cron       cron.Schedule // nil without a schedule
	Cooldown   int           // minutes
	Events     []string
	OnChange   bool
	ReadsOwner bool // the condition or a template reads ownerAvg
}

// Severity returns the rule's severity (warning by default).
func (r *Rule) Severity() string {
	if r.Def.Severity == "" {
		return "warning"
	}
	return r.Def.Severity
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a cron expression as rules use it.
func ParseSchedule(s string) (cron.Schedule, error) { return cronParser.Parse(s) }

func decode(def map[string]any) (*Definition, []apperr.FieldError) {
	if fe := forms.Problems(forms.ValidateConfig("alert", def)); len(fe) > 0 {
		return nil, fe
	}
	b, err := json.Marshal(def)
	if err != nil {
		return nil, []apperr.FieldError{{Code: "invalid", Message: err.Error()}}
	}
	var d Definition
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, []apperr.FieldError{{Code: "invalid", Message: err.Error()}}
	}
	return &d, nil
}

// envFor returns the formula environment of a rule (source record: the
// object's fields plus the record extras; source progress: the row).
func (s *Service) envFor(ctx context.Context, db store.DB, tenant string, d *Definition) (types.Map, []apperr.FieldError) {
	switch d.Source {
	case SourceRecord:
		if d.Object == "" {
			return nil, []apperr.FieldError{{Pointer: "/object", Code: "required", Message: "a record rule names the object it watches"}}
		}
		obj, err := s.objs.Published(ctx, db, tenant, d.Object)
		if err != nil {
			return nil, []apperr.FieldError{{Pointer: "/object", Code: "unknown_object", Message: fmt.Sprintf("%q is not a published object", d.Object)}}
		}
		return recordEnv(obj.Env), nil
	default:
		var fe []apperr.FieldError
		if d.Metric == "" {
			fe = append(fe, apperr.FieldError{Pointer: "/metric", Code: "required", Message: "a progress rule names its metric"})
		} else if s.tracker != nil {
			if _, err := s.tracker.Metric(ctx, db, tenant, d.Metric); err != nil {
				fe = append(fe, apperr.FieldError{Pointer: "/metric", Code: "unknown_metric", Message: fmt.Sprintf("%q is not a published metric", d.Metric)})
			}
		}
		if d.Schedule == "" {
			fe = append(fe, apperr.FieldError{Pointer: "/schedule", Code: "required", Message: "a progress rule runs on a schedule: give a cron expression"})
		}
		if d.Pipeline != "" && s.pipes != nil {
			if _, err := s.pipes.Published(ctx, db, tenant, d.Pipeline); err != nil {
				fe = append(fe, apperr.FieldError{Pointer: "/pipeline", Code: "unknown_pipeline", Message: fmt.Sprintf("%q is not a published pipeline", d.Pipeline)})
			}
		}
		return progressEnv, fe
	}
}

// Record extras of a record rule's environment (fields of the same name win).
var recordExtras = types.Map{
	"id":           types.String,
	"owner":        types.String,
	"ownerName":    types.String,
	"stage":        types.String,
	"prevStage":    types.String,
	"daysInStage":  types.Float64,
	"stageSlaDays": types.Float64,
	"hasSla":       types.Bool,
	"event":        types.String,
	"ownerAvg":     types.Map{types.Extra: types.Float64},
}

func recordEnv(obj types.Map) types.Map {
	env := make(types.Map, len(obj)+len(recordExtras))
	for k, v := range recordExtras {
		env[k] = v
	}
	for k, v := range obj {
		env[k] = v
	}
	return env
}

// progressEnv is the environment of a progress rule: one org node's row for
// the current period. Amounts are in the metric's unit (元 for money).
var progressEnv = types.Map{
	"node":       types.String,
	"nodeKind":   types.String,
	"nodeId":     types.String,
	"period":     types.String,
	"metric":     types.String,
	"hasTarget":  types.Bool,
	"target":     types.Float64,
	"actual":     types.Float64,
	"expected":   types.Float64,
	"forecast":   types.Float64,
	"gap":        types.Float64,
	"attainment": types.Float64,
	"pacing":     types.Float64,
	"elapsed":    types.Float64,
	"stuckCount": types.Float64,
	"stuckList":  types.String,
}

// compile validates a definition in full: schema, references, cron, every
// formula and template placeholder type-checked with pointers.
func (s *Service) compile(ctx context.Context, db store.DB, tenant, key string, version int64, raw map[string]any) (*Rule, []apperr.FieldError) {
	d, fe := decode(raw)
	if len(fe) > 0 {
		return nil, fe
	}
	r := &Rule{Key: key, Version: version, Def: d, Title: map[string]*Template{}, Message: map[string]*Template{},
		Cooldown: DefaultCooldownMinutes, OnChange: d.Source == SourceRecord, Events: []string{"create", "patch", "transition"}}
	if d.CooldownMinutes != nil {
		r.Cooldown = *d.CooldownMinutes
	}
	if d.OnChange != nil {
		r.OnChange = *d.OnChange && d.Source == SourceRecord
	}
	if len(d.Events) > 0 {
		r.Events = d.Events
	}
	env, fe := s.envFor(ctx, db, tenant, d)
	if d.Schedule != "" {
		sch, err := ParseSchedule(d.Schedule)
		if err != nil {
			fe = append(fe, apperr.FieldError{Pointer: "/schedule", Code: "cron", Message: "not a cron expression: " + err.Error(),
				Hint: "five fields: minute hour day-of-month month day-of-week, e.g. 0 9 * * 1 (Mondays 09:00)"})
		}
		r.Cron = sch
	}
	if d.Source == SourceRecord && !r.OnChange && d.Schedule == "" {
		fe = append(fe, apperr.FieldError{Pointer: "/schedule", Code: "required", Message: "the rule neither watches changes nor runs on a schedule"})
	}
	for i, ch := range d.Channels {
		if s.configs != nil {
			if _, err := s.configs.Get(ctx, db, ch); err != nil {
				fe = append(fe, apperr.FieldError{Pointer: fmt.Sprintf("/channels/%d", i), Code: "unknown_channel", Message: fmt.Sprintf("no notifier plugin %q is configured", ch)})
			}
		}
	}
	if env == nil {
		return nil, fe
	}
	k := rules.Key{Tenant: tenant, Config: "alert:" + key, Version: version}
	compile := func(src string, want rules.Result) (*rules.Program, error) {
		if version == 0 {
			return s.rules.Check(src, env, want)
		}
		return s.rules.Compile(k, src, env, want)
	}
	var reads []string
	if p, err := compile(d.Condition, rules.Bool); err != nil {
		fe = append(fe, rules.Problem("/condition", err))
	} else {
		r.Condition = p
		reads = append(reads, p.Reads()...)
	}
	if strings.TrimSpace(d.DedupeKey) != "" {
		if p, err := compile(d.DedupeKey, rules.Any); err != nil {
			fe = append(fe, rules.Problem("/dedupeKey", err))
		} else {
			r.Dedupe = p
		}
	}
	tmpl := func(ptr, src string) *Template {
		t, err := parseTemplate(src, func(e string) (*rules.Program, error) { return compile(e, rules.Any) })
		if err != nil {
			fe = append(fe, templateProblem(ptr, err))
			return nil
		}
		reads = append(reads, t.reads()...)
		return t
	}
	for _, lang := range sortedKeys(d.Title) {
		r.Title[lang] = tmpl("/title/"+lang, d.Title[lang])
	}
	for _, lang := range sortedKeys(d.Message) {
		r.Message[lang] = tmpl("/message/"+lang, d.Message[lang])
	}
	if d.Link != "" {
		r.Link = tmpl("/link", d.Link)
	}
	r.ReadsOwner = slices.ContainsFunc(reads, func(n string) bool { return n == "ownerAvg" || strings.HasPrefix(n, "ownerAvg.") })
	if len(fe) > 0 {
		return nil, fe
	}
	return r, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
