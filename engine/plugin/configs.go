package plugin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/period"
	"stride/engine/rules"
	"stride/engine/secrets"
	"stride/engine/store"
)

// CollConfigs is the tenant collection of plugin instances:
// {_id: instance id, module, enabled, label, config (secrets sealed), updatedAt, updatedBy}.
const CollConfigs = "plugin_configs"

// Masked replaces a stored secret in every answer of the API. Sending it
// back (or leaving the property out, or sending "") keeps the stored secret.
const Masked = "********"

var instanceID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Instance is a configured module of a tenant as the API shows it: secrets
// masked.
type Instance struct {
	ID      string         `json:"id"`
	Module  string         `json:"module"`
	Label   string         `json:"label,omitempty"`
	Enabled bool           `json:"enabled"`
	Config  map[string]any `json:"config"`
	// SecretsSet names the secret properties that hold a stored value.
	SecretsSet []string  `json:"secretsSet"`
	AlwaysOn   bool      `json:"alwaysOn,omitempty"`
	Version    int64     `json:"version"`
	UpdatedAt  time.Time `json:"updatedAt,omitzero"`
	UpdatedBy  string    `json:"updatedBy,omitempty"`
}

// Input saves an instance.
type Input struct {
	Module  string         `json:"module"`
	Label   string         `json:"label"`
	Enabled *bool          `json:"enabled"`
	Config  map[string]any `json:"config"`
}

// Configs keeps each tenant's plugin instances and opens them.
type Configs struct {
	// Keys seals secrets; nil refuses configurations that carry one.
	Keys  *secrets.Keyring
	Rules *rules.Engine
	HTTP  *http.Client
	Now   func() time.Time

	cache sync.Map // openKey → Module
}

type openKey struct {
	db      store.DB
	id      string
	version int64
}

// Collections are the tenant collections of plugin configurations.
func (c *Configs) Collections() []store.Collection {
	return []store.Collection{{Name: CollConfigs}}
}

func (c *Configs) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func secretContext(tenant, id, prop string) string { return tenant + "/plugin/" + id + "/" + prop }

// Opened is an enabled instance, provisioned.
type Opened struct {
	ID     string
	Module Module
	Info   ModuleInfo
}

// List returns every instance of the tenant, always-on modules included.
func (c *Configs) List(ctx context.Context, db store.DB) ([]Instance, error) {
	var out []Instance
	have := map[string]bool{}
	err := db.Scan(ctx, CollConfigs, store.Query{}, func(d store.Doc) error {
		in := instanceFrom(d)
		have[in.ID] = true
		out = append(out, in)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list plugin configs: %w", err)
	}
	for _, m := range Modules("") {
		if m.AlwaysOn {
			id := alwaysOnID(m.ID)
			if !have[id] {
				out = append(out, Instance{ID: id, Module: m.ID, Enabled: true, AlwaysOn: true, Config: map[string]any{}, SecretsSet: []string{}})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func alwaysOnID(module string) string { _, name, _ := strings.Cut(module, "."); return name }

func instanceFrom(d store.Doc) Instance {
	in := Instance{ID: store.ID(d), Version: store.Version(d), Config: map[string]any{}, SecretsSet: []string{}}
	in.Module, _ = d["module"].(string)
	in.Label, _ = d["label"].(string)
	in.Enabled, _ = d["enabled"].(bool)
	in.UpdatedBy, _ = d["updatedBy"].(string)
	if s, ok := d["updatedAt"].(string); ok {
		in.UpdatedAt, _ = period.ParseInstant(s)
	}
	info, _ := Lookup(in.Module)
	cfg, _ := d["config"].(map[string]any)
	for k, v := range cfg {
		if slices.Contains(info.Secrets, k) {
			if s, _ := v.(string); s != "" {
				in.Config[k] = Masked
				in.SecretsSet = append(in.SecretsSet, k)
			}
			continue
		}
		in.Config[k] = v
	}
	sort.Strings(in.SecretsSet)
	in.AlwaysOn = info.AlwaysOn
	return in
}

// Get returns one instance (masked).
func (c *Configs) Get(ctx context.Context, db store.DB, id string) (Instance, error) {
	d, err := db.Get(ctx, CollConfigs, id)
	if errors.Is(err, store.ErrNotFound) {
		for _, m := range Modules("") {
			if m.AlwaysOn && alwaysOnID(m.ID) == id {
				return Instance{ID: id, Module: m.ID, Enabled: true, AlwaysOn: true, Config: map[string]any{}, SecretsSet: []string{}}, nil
			}
		}
		return Instance{}, apperr.NotFound("plugin %q is not configured", id)
	}
	if err != nil {
		return Instance{}, fmt.Errorf("load plugin %s: %w", id, err)
	}
	return instanceFrom(d), nil
}

// Save validates and stores an instance: the module's JSON Schema, strict
// decode, Provision and Validate all run on the plaintext configuration
// before anything is written; secrets are then sealed. ifVersion 0 skips the
// optimistic check.
func (c *Configs) Save(ctx context.Context, db store.DB, tenant, actor, id string, in Input, ifVersion int64) (Instance, error) {
	if !instanceID.MatchString(id) {
		return Instance{}, apperr.Invalid("invalid plugin id", apperr.FieldError{Pointer: "/id", Code: "pattern",
			Message: "use 1–40 lower-case letters, digits or _, starting with a letter"})
	}
	info, ok := Lookup(in.Module)
	if !ok {
		return Instance{}, apperr.Invalid("unknown module", apperr.FieldError{Pointer: "/module", Code: "unknown_module",
			Message: fmt.Sprintf("no module %q is installed", in.Module), Hint: rules.DidYouMean(in.Module, moduleIDs())})
	}
	if info.AlwaysOn {
		return Instance{}, apperr.Invalid("this module needs no configuration", apperr.FieldError{Pointer: "/module", Code: "always_on",
			Message: fmt.Sprintf("%s is always on and has nothing to configure", in.Module)})
	}
	cur, err := db.Get(ctx, CollConfigs, id)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Instance{}, fmt.Errorf("load plugin %s: %w", id, err)
	}
	if exists && ifVersion != 0 && store.Version(cur) != ifVersion {
		return Instance{}, apperr.Conflict("version_conflict", "the plugin was changed by someone else; reload it")
	}
	if !exists && ifVersion != 0 {
		return Instance{}, apperr.Conflict("version_conflict", "plugin %q does not exist yet", id)
	}
	if exists {
		if m, _ := cur["module"].(string); m != in.Module {
			return Instance{}, apperr.Invalid("the module of a plugin cannot change", apperr.FieldError{Pointer: "/module", Code: "const",
				Message: fmt.Sprintf("plugin %s is a %s; delete it and create another", id, m)})
		}
	}
	plain := map[string]any{}
	for k, v := range in.Config {
		plain[k] = v
	}
	// Keep stored secrets the caller did not replace.
	var stored map[string]any
	if exists {
		stored, _ = cur["config"].(map[string]any)
	}
	for _, prop := range info.Secrets {
		v, given := plain[prop]
		s, _ := v.(string)
		if given && s != "" && s != Masked {
			continue
		}
		delete(plain, prop)
		if sealed, _ := stored[prop].(string); sealed != "" {
			if c.Keys == nil {
				return Instance{}, secretsUnavailable(prop)
			}
			pt, err := c.Keys.Open(sealed, secretContext(tenant, id, prop))
			if err != nil {
				return Instance{}, apperr.New(apperr.KindInvalid, "secret_unreadable", "the stored %s cannot be opened (%v); enter it again", prop, err)
			}
			plain[prop] = string(pt)
		}
	}
	if _, err := Instantiate(in.Module, plain, c.pctx(tenant, db)); err != nil {
		return Instance{}, problems(err, "/config")
	}
	save := map[string]any{}
	for k, v := range plain {
		if slices.Contains(info.Secrets, k) {
			s, _ := v.(string)
			if c.Keys == nil {
				return Instance{}, secretsUnavailable(k)
			}
			sealed, err := c.Keys.Seal([]byte(s), secretContext(tenant, id, k))
			if err != nil {
				return Instance{}, fmt.Errorf("seal %s: %w", k, err)
			}
			save[k] = sealed
			continue
		}
		save[k] = v
	}
	enabled := true
	if in.Enabled != nil {
		enabled = *in.Enabled
	}
	d := store.Doc{store.KeyID: id, "module": in.Module, "label": in.Label, "enabled": enabled, "config": save,
		"updatedAt": period.FormatInstant(c.now()), "updatedBy": actor}
	if exists {
		v, err := db.Replace(ctx, CollConfigs, d, store.Version(cur))
		if errors.Is(err, store.ErrConflict) {
			return Instance{}, apperr.Conflict("version_conflict", "the plugin was changed by someone else; reload it")
		}
		if err != nil {
			return Instance{}, fmt.Errorf("save plugin %s: %w", id, err)
		}
		d[store.KeyVersion] = v
	} else {
		v, err := db.Insert(ctx, CollConfigs, d)
		if errors.Is(err, store.ErrDuplicate) {
			return Instance{}, apperr.Conflict("version_conflict", "plugin %q was created concurrently; reload it", id)
		}
		if err != nil {
			return Instance{}, fmt.Errorf("create plugin %s: %w", id, err)
		}
		d[store.KeyVersion] = v
	}
	if err := audit.Append(ctx, db, actor, "plugin.save", "plugin:"+id, map[string]any{"module": in.Module, "enabled": enabled}); err != nil {
		return Instance{}, err
	}
	return instanceFrom(d), nil
}

func secretsUnavailable(prop string) error {
	return apperr.New(apperr.KindInvalid, "secrets_unavailable",
		"this server cannot store secrets such as %s: start it with %s set (see docs/security.md)", prop, secrets.EnvKey)
}

func moduleIDs() []string {
	var out []string
	for _, m := range Modules("") {
		out = append(out, m.ID)
	}
	return out
}

// problems turns a ConfigError into a 422 with pointers under prefix.
func problems(err error, prefix string) error {
	var ce *ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	fe := make([]apperr.FieldError, 0, len(ce.Problems))
	for _, p := range ce.Problems {
		fe = append(fe, apperr.FieldError{Pointer: prefix + p.Pointer, Code: p.Code, Message: p.Message,
			Line: p.Line, Column: p.Column, Snippet: p.Snippet, Hint: p.Hint})
	}
	return apperr.Invalid(fmt.Sprintf("the plugin configuration has %d problem(s)", len(fe)), fe...)
}

// Delete removes an instance; deleting one that is not there is not an
// error (DELETE is idempotent).
func (c *Configs) Delete(ctx context.Context, db store.DB, actor, id string) error {
	err := db.Delete(ctx, CollConfigs, id, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete plugin %s: %w", id, err)
	}
	return audit.Append(ctx, db, actor, "plugin.delete", "plugin:"+id, nil)
}

func (c *Configs) pctx(tenant string, db store.DB) Context {
	h := c.HTTP
	if h == nil {
		h = &http.Client{Timeout: 10 * time.Second}
	}
	return Context{Tenant: tenant, DB: db, Rules: c.Rules, HTTP: h, Now: c.now}
}

// Open provisions one instance (enabled or not) with its secrets opened.
func (c *Configs) Open(ctx context.Context, db store.DB, tenant, id string) (*Opened, error) {
	d, err := db.Get(ctx, CollConfigs, id)
	if errors.Is(err, store.ErrNotFound) {
		for _, m := range Modules("") {
			if m.AlwaysOn && alwaysOnID(m.ID) == id {
				mod, err := Instantiate(m.ID, nil, c.pctx(tenant, db))
				if err != nil {
					return nil, err
				}
				return &Opened{ID: id, Module: mod, Info: m}, nil
			}
		}
		return nil, apperr.NotFound("plugin %q is not configured", id)
	}
	if err != nil {
		return nil, fmt.Errorf("load plugin %s: %w", id, err)
	}
	return c.open(ctx, db, tenant, d)
}

func (c *Configs) open(_ context.Context, db store.DB, tenant string, d store.Doc) (*Opened, error) {
	id := store.ID(d)
	module, _ := d["module"].(string)
	info, ok := Lookup(module)
	if !ok {
		return nil, apperr.New(apperr.KindInvalid, "unknown_module", "plugin %s uses module %s, which this server does not have", id, module)
	}
	k := openKey{db, id, store.Version(d)}
	if m, ok := c.cache.Load(k); ok {
		return &Opened{ID: id, Module: m.(Module), Info: info}, nil
	}
	cfg, _ := d["config"].(map[string]any)
	plain := map[string]any{}
	for key, v := range cfg {
		if slices.Contains(info.Secrets, key) {
			s, _ := v.(string)
			if s == "" {
				continue
			}
			if c.Keys == nil {
				return nil, secretsUnavailable(key)
			}
			pt, err := c.Keys.Open(s, secretContext(tenant, id, key))
			if err != nil {
				return nil, fmt.Errorf("open secret %s of plugin %s: %w", key, id, err)
			}
			plain[key] = string(pt)
			continue
		}
		plain[key] = v
	}
	m, err := Instantiate(module, plain, c.pctx(tenant, db))
	if err != nil {
		return nil, problems(err, "/config")
	}
	c.cache.Store(k, m)
	return &Opened{ID: id, Module: m, Info: info}, nil
}

// Enabled opens every enabled instance of a namespace, always-on modules
// included. An instance that fails to open is skipped and reported in errs.
func (c *Configs) Enabled(ctx context.Context, db store.DB, tenant, namespace string) (out []*Opened, errs []error) {
	have := map[string]bool{}
	err := db.Scan(ctx, CollConfigs, store.Query{}, func(d store.Doc) error {
		have[store.ID(d)] = true
		module, _ := d["module"].(string)
		if en, _ := d["enabled"].(bool); !en || !strings.HasPrefix(module, namespace+".") {
			return nil
		}
		o, err := c.open(ctx, db, tenant, d)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		out = append(out, o)
		return nil
	})
	if err != nil {
		return nil, []error{err}
	}
	for _, m := range Modules(namespace) {
		if m.AlwaysOn && !have[alwaysOnID(m.ID)] {
			mod, err := Instantiate(m.ID, nil, c.pctx(tenant, db))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, &Opened{ID: alwaysOnID(m.ID), Module: mod, Info: m})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, errs
}
