// Package plugin is the registry of Stride's modules and the interfaces they
// implement (DESIGN.md §2, STYLE.md "Register, don't switch").
//
// A module registers itself in an init() function with a namespaced ID —
// notify.wecom, connect.webhook, … — and the binary pulls the built-in ones
// in by blank-importing plugins/standard. The engine never imports a
// concrete plugin: it asks the registry for the modules of a namespace.
//
// Lifecycle of a configured module (Caddy's): New → strict JSON decode of
// the tenant's configuration (unknown fields rejected, after the module's
// JSON Schema accepted it) → Provision(Context) → Validate → use. Modules
// assert the interfaces they implement with guards
// (var _ plugin.Notifier = (*Robot)(nil)).
package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"stride/engine/rules"
	"stride/engine/store"
)

// Namespaces of module IDs.
const (
	NSNotify  = "notify"
	NSConnect = "connect"
)

// Module is what every plugin type implements: it describes itself.
type Module interface {
	StrideModule() ModuleInfo
}

// ModuleInfo describes a registered module.
type ModuleInfo struct {
	// ID is "<namespace>.<name>", e.g. notify.wecom.
	ID string
	// Label names the module for people, by language (zh-CN, en).
	Label map[string]string
	// Schema is the JSON Schema (draft 2020-12) of the module's
	// configuration; nil accepts only an empty object.
	Schema json.RawMessage
	// Secrets lists the top-level configuration properties that hold
	// secrets: stored sealed (engine/secrets) and never returned by the API.
	Secrets []string
	// AlwaysOn modules need no configuration and cannot be turned off (the
	// in-app inbox).
	AlwaysOn bool
	// New returns a new, empty instance of the module.
	New func() Module

	schema *jsonschema.Schema
}

// Namespace is the part of the ID before the first dot.
func (m ModuleInfo) Namespace() string { ns, _, _ := strings.Cut(m.ID, "."); return ns }

// Context is what a module gets when it is provisioned for one tenant.
type Context struct {
	Tenant string
	DB     store.DB
	// Rules compiles formulas (connectors' mappings).
	Rules *rules.Engine
	// HTTP is the client outbound deliveries use.
	HTTP *http.Client
	Now  func() time.Time
}

// Provisioner is implemented by modules that prepare themselves after
// their configuration is decoded (compile formulas, build clients).
type Provisioner interface {
	Provision(ctx Context) error
}

// Validator is implemented by modules that check their configuration after
// provisioning. A returned *FieldProblem points at the offending property.
type Validator interface {
	Validate() error
}

// FieldProblem is a configuration problem at a JSON Pointer into the
// module's configuration.
type FieldProblem struct {
	Pointer, Code, Message string
	Line, Column           int
	Snippet, Hint          string
}

func (p *FieldProblem) Error() string { return p.Pointer + ": " + p.Message }

// Severity of a message.
const (
	SeverityInfo     = "info"
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Recipient is a person a message is meant for.
type Recipient struct {
	UserID string `json:"userId"`
	Name   string `json:"name,omitempty"`
}

// Message is one notification.
type Message struct {
	// ID is stable per (event, channel, recipient): receivers can use it to
	// drop a redelivery.
	ID       string `json:"id"`
	Title    string `json:"title"`
	Body     string `json:"body"` // markdown
	Severity string `json:"severity"`
	Link     string `json:"link,omitempty"`
	// Recipients are the people concerned. Per-person channels (the inbox)
	// are called once per recipient, with one entry; group channels (robots,
	// webhooks) once, with everybody.
	Recipients []Recipient `json:"recipients,omitempty"`
	// Alert and Event name what produced the message ("" for tests).
	Alert string    `json:"alert,omitempty"`
	Event string    `json:"event,omitempty"`
	At    time.Time `json:"at"`
	// Texts holds the title and body in every language rendered, for
	// channels that can show the reader's language (the inbox).
	Texts map[string]Text `json:"texts,omitempty"`
}

// Text is a title and body in one language.
type Text struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

// Notifier delivers messages to a channel.
type Notifier interface {
	Module
	Send(ctx context.Context, m Message) error
}

// PerRecipient is implemented by notifiers that deliver to each person
// separately (the inbox) rather than to a group.
type PerRecipient interface {
	PerRecipient() bool
}

// Permanent marks a delivery error that retrying cannot fix (a 4xx from
// the receiver, a robot rejecting the payload): the delivery goes straight
// to the dead-letter list.
type Permanent struct{ Err error }

func (p *Permanent) Error() string { return p.Err.Error() }
func (p *Permanent) Unwrap() error { return p.Err }

// Inbound is a webhook request as a connector sees it.
type Inbound struct {
	Header http.Header
	Body   []byte
	Now    time.Time
}

// Mapped is what a connector makes of an inbound payload: a record write.
type Mapped struct {
	Object string
	// Data is the record body (fields, and owner when mapped).
	Data map[string]any
	// IdempotencyKey makes a redelivered payload update nothing twice.
	IdempotencyKey string
	// DeliveryID is the sender's id of this delivery, for replay protection.
	DeliveryID string
}

// Connector turns signed inbound webhooks into record writes.
type Connector interface {
	Module
	// Verify authenticates the request (signature, timestamp) and returns
	// the delivery id. Errors are *apperr.Error (401 forged, 400 malformed).
	Verify(in *Inbound) (deliveryID string, err error)
	// Map evaluates the mapping over the decoded payload.
	Map(payload map[string]any) (*Mapped, error)
}

var (
	mu      sync.RWMutex
	modules = map[string]*ModuleInfo{}
	idRE    = regexp.MustCompile(`^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`)
)

// Register adds a module to the registry. It is meant for init() and
// panics on an empty, malformed or duplicate ID, a missing constructor or
// an invalid schema: a broken build must not start.
func Register(m Module) {
	info := m.StrideModule()
	if info.ID == "" {
		panic("plugin: module ID missing")
	}
	if !idRE.MatchString(info.ID) {
		panic(fmt.Sprintf("plugin: module ID %q is not <namespace>.<name> in lower case", info.ID))
	}
	if info.New == nil {
		panic(fmt.Sprintf("plugin: module %s has no New", info.ID))
	}
	if got := info.New().StrideModule().ID; got != info.ID {
		panic(fmt.Sprintf("plugin: module %s: New returns a %s", info.ID, got))
	}
	sch, err := compileSchema(info.ID, info.Schema)
	if err != nil {
		panic(fmt.Sprintf("plugin: module %s: %v", info.ID, err))
	}
	info.schema = sch
	mu.Lock()
	defer mu.Unlock()
	if _, dup := modules[info.ID]; dup {
		panic(fmt.Sprintf("plugin: module %s registered twice", info.ID))
	}
	modules[info.ID] = &info
}

// Lookup returns a registered module.
func Lookup(id string) (ModuleInfo, bool) {
	mu.RLock()
	defer mu.RUnlock()
	m, ok := modules[id]
	if !ok {
		return ModuleInfo{}, false
	}
	return *m, true
}

// Modules lists the registered modules of a namespace ("" for all), by ID.
func Modules(namespace string) []ModuleInfo {
	mu.RLock()
	defer mu.RUnlock()
	var out []ModuleInfo
	for _, m := range modules {
		if namespace == "" || m.Namespace() == namespace {
			out = append(out, *m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// unregister removes a module (tests only).
func unregister(id string) {
	mu.Lock()
	delete(modules, id)
	mu.Unlock()
}

var printer = message.NewPrinter(language.English)

const schemaBase = "https://stride.dev/plugins/"

func compileSchema(id string, raw json.RawMessage) (*jsonschema.Schema, error) {
	if len(raw) == 0 {
		raw = json.RawMessage(`{"type":"object","additionalProperties":false}`)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	url := schemaBase + id + ".json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// Instantiate builds a ready module from a configuration: schema check,
// strict decode, Provision, Validate. Problems in the configuration come
// back as a []*FieldProblem (wrapped in ConfigError).
func Instantiate(id string, config map[string]any, pctx Context) (Module, error) {
	info, ok := Lookup(id)
	if !ok {
		return nil, &ConfigError{Problems: []*FieldProblem{{Pointer: "/module", Code: "unknown_module", Message: fmt.Sprintf("no module %q is installed", id)}}}
	}
	if config == nil {
		config = map[string]any{}
	}
	if probs := validateAgainst(info.schema, config); len(probs) > 0 {
		return nil, &ConfigError{Problems: probs}
	}
	raw, err := json.Marshal(config)
	if err != nil {
		return nil, &ConfigError{Problems: []*FieldProblem{{Code: "invalid", Message: err.Error()}}}
	}
	m := info.New()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, &ConfigError{Problems: []*FieldProblem{{Code: "invalid", Message: err.Error()}}}
	}
	if p, ok := m.(Provisioner); ok {
		if err := p.Provision(pctx); err != nil {
			return nil, asConfigError(err)
		}
	}
	if v, ok := m.(Validator); ok {
		if err := v.Validate(); err != nil {
			return nil, asConfigError(err)
		}
	}
	return m, nil
}

// ConfigError lists what is wrong with a module's configuration.
type ConfigError struct{ Problems []*FieldProblem }

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return "plugin configuration: " + strings.Join(msgs, "; ")
}

func asConfigError(err error) error {
	if fp, ok := err.(*FieldProblem); ok {
		return &ConfigError{Problems: []*FieldProblem{fp}}
	}
	if ce, ok := err.(*ConfigError); ok {
		return ce
	}
	return &ConfigError{Problems: []*FieldProblem{{Code: "invalid", Message: err.Error()}}}
}

func validateAgainst(sch *jsonschema.Schema, config map[string]any) []*FieldProblem {
	raw, err := json.Marshal(config)
	if err != nil {
		return []*FieldProblem{{Code: "invalid", Message: err.Error()}}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return []*FieldProblem{{Code: "invalid", Message: err.Error()}}
	}
	verr := sch.Validate(doc)
	if verr == nil {
		return nil
	}
	ve, ok := verr.(*jsonschema.ValidationError)
	if !ok {
		return []*FieldProblem{{Code: "invalid", Message: verr.Error()}}
	}
	var out []*FieldProblem
	var walk func(*jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			ptr := ""
			for _, t := range e.InstanceLocation {
				ptr += "/" + strings.ReplaceAll(strings.ReplaceAll(t, "~", "~0"), "/", "~1")
			}
			kw := e.ErrorKind.KeywordPath()
			code := "invalid"
			if len(kw) > 0 {
				code = kw[len(kw)-1]
			}
			out = append(out, &FieldProblem{Pointer: ptr, Code: code, Message: e.ErrorKind.LocalizedString(printer)})
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}
