package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/types"

	"stride/engine/apperr"
	"stride/engine/plugin"
	"stride/engine/rules"
)

// DefaultTolerance is how far a request's timestamp may be from now.
const DefaultTolerance = 300

// Connector maps signed inbound webhooks to record writes. Mapping and
// IdempotencyKey are expr formulas over `payload` (the decoded JSON body).
type Connector struct {
	Secret           string            `json:"secret"`
	Object           string            `json:"object"`
	Mapping          map[string]string `json:"mapping"`
	IdempotencyKey   string            `json:"idempotencyKey"`
	ToleranceSeconds int               `json:"toleranceSeconds,omitempty"`
	// Owner is a formula giving the owner's user id; DefaultOwner is used
	// when it is empty or yields "".
	Owner        string `json:"owner,omitempty"`
	DefaultOwner string `json:"defaultOwner,omitempty"`

	progs map[string]*rules.Program
	idem  *rules.Program
	owner *rules.Program
	probs []*plugin.FieldProblem
}

// StrideModule describes connect.webhook.
func (*Connector) StrideModule() plugin.ModuleInfo {
	return plugin.ModuleInfo{
		ID:      "connect.webhook",
		Label:   map[string]string{"zh-CN": "入站 Webhook 连接器", "en": "Inbound webhook connector"},
		Secrets: []string{"secret"},
		Schema: json.RawMessage(`{
  "type": "object", "additionalProperties": false, "required": ["secret", "object", "mapping", "idempotencyKey"],
  "properties": {
    "secret": {"type": "string", "minLength": 16, "maxLength": 200, "title": "签名密钥 Signing secret"},
    "object": {"type": "string", "pattern": "^[a-z][a-z0-9_]{0,39}$", "title": "写入对象 Object"},
    "mapping": {"type": "object", "minProperties": 1, "maxProperties": 200,
      "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
      "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 2000},
      "title": "字段映射 Field mapping (field → formula over payload)"},
    "idempotencyKey": {"type": "string", "minLength": 1, "maxLength": 2000, "title": "幂等键公式 Idempotency key formula"},
    "toleranceSeconds": {"type": "integer", "minimum": 30, "maximum": 3600, "title": "时间容差(秒) Timestamp tolerance (s)"},
    "owner": {"type": "string", "maxLength": 2000, "title": "负责人公式 Owner formula (user id)"},
    "defaultOwner": {"type": "string", "maxLength": 100, "title": "默认负责人 Default owner (user id)"}
  }}`),
		New: func() plugin.Module { return new(Connector) },
	}
}

// PayloadEnv is the formula environment of a mapping.
var PayloadEnv = types.Map{"payload": types.Map{types.Extra: types.Any}}

// Provision compiles the formulas.
func (c *Connector) Provision(ctx plugin.Context) error {
	eng := ctx.Rules
	if eng == nil {
		eng = rules.New(rules.Options{})
	}
	c.progs = map[string]*rules.Program{}
	fields := make([]string, 0, len(c.Mapping))
	for f := range c.Mapping {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	fail := func(ptr string, err error) {
		fe := rules.Problem(ptr, err)
		c.probs = append(c.probs, &plugin.FieldProblem{Pointer: fe.Pointer, Code: fe.Code, Message: fe.Message,
			Line: fe.Line, Column: fe.Column, Snippet: fe.Snippet, Hint: fe.Hint})
	}
	for _, f := range fields {
		p, err := eng.Check(c.Mapping[f], PayloadEnv, rules.Any)
		if err != nil {
			fail("/mapping/"+f, err)
			continue
		}
		c.progs[f] = p
	}
	var err error
	if c.idem, err = eng.Check(c.IdempotencyKey, PayloadEnv, rules.Any); err != nil {
		fail("/idempotencyKey", err)
	}
	if strings.TrimSpace(c.Owner) != "" {
		if c.owner, err = eng.Check(c.Owner, PayloadEnv, rules.Any); err != nil {
			fail("/owner", err)
		}
	}
	return nil
}

// Validate reports the formula problems.
func (c *Connector) Validate() error {
	if strings.TrimSpace(c.Owner) == "" && c.DefaultOwner == "" {
		c.probs = append(c.probs, &plugin.FieldProblem{Pointer: "/defaultOwner", Code: "required",
			Message: "map an owner formula or name a default owner: every record has an owner"})
	}
	if len(c.probs) > 0 {
		return &plugin.ConfigError{Problems: c.probs}
	}
	return nil
}

func (c *Connector) tolerance() time.Duration {
	if c.ToleranceSeconds <= 0 {
		return DefaultTolerance * time.Second
	}
	return time.Duration(c.ToleranceSeconds) * time.Second
}

// Verify checks the timestamp and the signature and returns the delivery id.
func (c *Connector) Verify(in *plugin.Inbound) (string, error) {
	tsRaw := in.Header.Get(plugin.HeaderTimestamp)
	sig := in.Header.Get(plugin.HeaderSignature)
	id := in.Header.Get(plugin.HeaderDelivery)
	if tsRaw == "" || sig == "" || id == "" {
		return "", apperr.Unauthorized("signed webhooks need the %s, %s and %s headers", plugin.HeaderTimestamp, plugin.HeaderDelivery, plugin.HeaderSignature)
	}
	if len(id) > 200 {
		return "", apperr.BadRequest("%s is longer than 200 characters", plugin.HeaderDelivery)
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return "", apperr.Unauthorized("%s must be unix seconds", plugin.HeaderTimestamp)
	}
	if !plugin.VerifySignature(c.Secret, ts, in.Body, sig) {
		return "", apperr.New(apperr.KindUnauthorized, "bad_signature", "the webhook signature does not match")
	}
	if d := in.Now.Sub(time.Unix(ts, 0)); d > c.tolerance() || d < -c.tolerance() {
		return "", apperr.New(apperr.KindUnauthorized, "stale_timestamp", "the webhook timestamp is %s away from the server's clock (tolerance %s)", d.Round(time.Second), c.tolerance())
	}
	return id, nil
}

// Map evaluates the mapping over a payload.
func (c *Connector) Map(payload map[string]any) (*plugin.Mapped, error) {
	vars := map[string]any{"payload": payload}
	data := map[string]any{}
	var fe []apperr.FieldError
	for f, p := range c.progs {
		v, err := p.Run(vars)
		if err != nil {
			fe = append(fe, rules.Problem("/mapping/"+f, err))
			continue
		}
		if v != nil {
			data[f] = v
		}
	}
	key, err := c.idem.Run(vars)
	if err != nil {
		fe = append(fe, rules.Problem("/idempotencyKey", err))
	}
	ks := ""
	if key != nil {
		ks = fmt.Sprint(key)
	}
	if err == nil && ks == "" {
		fe = append(fe, apperr.FieldError{Pointer: "/idempotencyKey", Code: "empty", Message: "the idempotency key is empty for this payload"})
	}
	owner := c.DefaultOwner
	if c.owner != nil {
		if v, err := c.owner.Run(vars); err == nil && v != nil && fmt.Sprint(v) != "" {
			owner = fmt.Sprint(v)
		}
	}
	if owner != "" {
		data["owner"] = owner
	}
	if len(fe) > 0 {
		sort.Slice(fe, func(i, j int) bool { return fe[i].Pointer < fe[j].Pointer })
		return nil, apperr.Invalid("the payload does not map to a record", fe...)
	}
	return &plugin.Mapped{Object: c.Object, Data: data, IdempotencyKey: ks}, nil
}

// Interface guards.
var (
	_ plugin.Connector   = (*Connector)(nil)
	_ plugin.Provisioner = (*Connector)(nil)
	_ plugin.Validator   = (*Connector)(nil)
	_                    = http.Header{}
)
