// Package setup prepares a store on first start: the demo tenant, its admin
// and the demo objects, so a newcomer has something to log in to.
package setup

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"path"

	"stride/engine/auth"
	"stride/engine/ids"
	"stride/engine/objects"
	"stride/engine/store"
	"stride/engine/tenant"
)

//go:embed demo/*.json
var demoFS embed.FS

// DemoTenant is the tenant created on first start.
const DemoTenant = "demo"

// Result says what Bootstrap did.
type Result struct {
	Created bool
	// Password is set when Bootstrap generated the admin password (it is
	// printed once and never stored in clear).
	Password string
}

// Bootstrap creates the demo tenant with user admin and the demo objects if
// the store has no tenant yet. The admin password is adminPassword, or a
// generated one returned in Result.
func Bootstrap(ctx context.Context, reg *tenant.Registry, objs *objects.Service, adminPassword string) (Result, error) {
	names, err := reg.List(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("list tenants: %w", err)
	}
	var db store.DB
	switch {
	case len(names) == 0:
		db, err = reg.Create(ctx, tenant.Tenant{Name: DemoTenant, DisplayName: "演示公司 Demo Co.", Locale: "zh-CN", TimeZone: "Asia/Shanghai"})
		if err != nil {
			return Result{}, fmt.Errorf("create demo tenant: %w", err)
		}
	case len(names) == 1 && names[0] == DemoTenant:
		// A first start that died half-way left the tenant without its
		// admin: finish the job. Once a user exists, bootstrap never runs.
		db, err = reg.DB(ctx, DemoTenant)
		if err != nil {
			return Result{}, err
		}
		users, err := auth.ListUsers(ctx, db)
		if err != nil {
			return Result{}, err
		}
		if len(users) > 0 {
			return Result{}, nil
		}
	default:
		return Result{}, nil
	}
	res := Result{Created: true}
	if adminPassword == "" {
		adminPassword = ids.Secret(12)
		res.Password = adminPassword
	}
	username, display := "admin", "管理员"
	roles := []auth.Role{auth.RoleAdmin}
	if _, err := auth.CreateUser(ctx, db, "system", auth.UserInput{Username: &username, DisplayName: &display, Roles: &roles, Password: &adminPassword}); err != nil {
		return Result{}, fmt.Errorf("create admin: %w", err)
	}
	entries, err := demoFS.ReadDir("demo")
	if err != nil {
		return Result{}, err
	}
	for _, e := range entries {
		b, err := demoFS.ReadFile(path.Join("demo", e.Name()))
		if err != nil {
			return Result{}, err
		}
		var def map[string]any
		if err := json.Unmarshal(b, &def); err != nil {
			return Result{}, fmt.Errorf("demo object %s: %w", e.Name(), err)
		}
		key, _ := def["key"].(string)
		if _, err := objs.Save(ctx, db, DemoTenant, "system", key, def, 0); err != nil {
			return Result{}, fmt.Errorf("save demo object %s: %w", key, err)
		}
		if _, err := objs.Publish(ctx, db, DemoTenant, "system", key); err != nil {
			return Result{}, fmt.Errorf("publish demo object %s: %w", key, err)
		}
	}
	return res, nil
}
