package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/ids"
	"stride/engine/templates"
	"stride/engine/tenant"
)

// template runs `stride template apply|export|diff`.
func template(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: stride template apply|export|diff …")
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("template "+sub, flag.ContinueOnError)
	tenantName := fs.String("tenant", "", "the tenant")
	create := fs.Bool("create", false, "apply: create the tenant (with an admin user) first")
	force := fs.Bool("force", false, "apply: overwrite local edits that conflict with the bundle")
	dry := fs.Bool("dry-run", false, "apply: validate and report, write nothing")
	publish := fs.Bool("publish-plans", false, "apply: publish target plans (default: drafts)")
	var path string
	if sub != "export" {
		if len(args) == 0 || args[0] == "" || args[0][0] == '-' {
			return fmt.Errorf("usage: stride template %s PATH -tenant T", sub)
		}
		path, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenantName == "" {
		return errors.New("name the tenant with -tenant")
	}
	setupLogging()
	ctx := context.Background()
	a, err := wire(ctx)
	if err != nil {
		return err
	}
	defer a.Store.Close()
	out := json.NewEncoder(os.Stdout)
	out.SetIndent("", "  ")
	out.SetEscapeHTML(false)
	switch sub {
	case "apply":
		b, err := templates.Load(path)
		if err != nil {
			return explain(err)
		}
		if *create {
			if err := createTenant(ctx, a.Tenants, *tenantName); err != nil {
				return err
			}
		}
		rep, err := a.Templates.Apply(ctx, *tenantName, b, templates.Options{DryRun: *dry, Force: *force, PublishPlans: *publish})
		if err != nil {
			return explain(err)
		}
		for _, c := range rep.Changes {
			fmt.Fprintf(os.Stderr, "%-10s %-12s %-24s %s\n", c.Action, c.Kind, c.Key, c.Reason)
		}
		if rep.Conflicts > 0 {
			fmt.Fprintf(os.Stderr, "%d conflict(s) left alone: local edits differ from the bundle (see the diff; -force overwrites)\n", rep.Conflicts)
			os.Exit(3)
		}
		return nil
	case "export":
		b, err := a.Templates.Export(ctx, *tenantName, templates.Metadata{})
		if err != nil {
			return explain(err)
		}
		return out.Encode(b)
	case "diff":
		b, err := templates.Load(path)
		if err != nil {
			return explain(err)
		}
		d, err := a.Templates.Diff(ctx, *tenantName, b)
		if err != nil {
			return explain(err)
		}
		if err := out.Encode(d); err != nil {
			return err
		}
		if len(d) > 0 {
			os.Exit(3)
		}
		return nil
	}
	return fmt.Errorf("unknown template command %q (apply, export or diff)", sub)
}

// createTenant registers a tenant with an admin whose password is printed
// once.
func createTenant(ctx context.Context, reg *tenant.Registry, name string) error {
	db, err := reg.Create(ctx, tenant.Tenant{Name: name, DisplayName: name})
	if err != nil {
		return explain(err)
	}
	pw := ids.Secret(12)
	username, display := "admin", "管理员"
	roles := []auth.Role{auth.RoleAdmin}
	if _, err := auth.CreateUser(ctx, db, "system", auth.UserInput{Username: &username, DisplayName: &display, Roles: &roles, Password: &pw}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "created tenant %q: log in as \"admin\" with password %s (shown only now)\n", name, pw)
	return nil
}

// explain prints a problem's field errors, one per line.
func explain(err error) error {
	ae, ok := apperr.As(err)
	if !ok || len(ae.Fields) == 0 {
		return err
	}
	for _, f := range ae.Fields {
		fmt.Fprintf(os.Stderr, "  %s: %s (%s)\n", f.Pointer, f.Message, f.Code)
	}
	return errors.New(ae.Message)
}
