package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"stride/engine/demo"
	"stride/engine/ids"
	"stride/engine/templates"
	"stride/examples"
)

// demoCmd runs `stride demo`: a template's configuration plus a generated
// year of history in a tenant. It writes to the store directly, so run it
// while no server uses that store (or against a tenant no one is using).
func demoCmd(args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	tpl := fs.String("template", "saas", "template: a name from examples (saas, pharma, …) or a path")
	tenantName := fs.String("tenant", "demo", "the tenant")
	create := fs.Bool("create", false, "create the tenant (with an admin user) first")
	reps := fs.Int("reps", 40, "number of reps")
	deals := fs.Int("deals", 20000, "number of deals")
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same data")
	workers := fs.Int("workers", 8, "concurrent writers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	setupLogging()
	ctx := context.Background()
	b, err := loadTemplate(*tpl)
	if err != nil {
		return explain(err)
	}
	a, err := wire(ctx)
	if err != nil {
		return err
	}
	defer a.Store.Close()
	if *create {
		if err := createTenant(ctx, a.Tenants, *tenantName); err != nil {
			return err
		}
	}
	pw := os.Getenv("STRIDE_DEMO_PASSWORD")
	if pw == "" {
		pw = ids.Secret(12)
	}
	bar := newBar(os.Stderr, "records")
	start := time.Now()
	g := &demo.Generator{Tenants: a.Tenants, Records: a.Records, Pipelines: a.Pipelines, Tracker: a.Tracker, Targets: a.Targets, Templates: a.Templates, Commission: a.Commission}
	res, err := g.Run(ctx, demo.Options{Tenant: *tenantName, Bundle: b, Reps: *reps, Deals: *deals, Seed: *seed,
		Password: pw, Workers: *workers, Progress: bar.set})
	bar.done()
	// Hand the projector lease back, so a server or `stride reconcile`
	// started right after does not wait for it to expire.
	a.Shutdown(ctx)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(os.Stderr, "tenant %s: %d teams, %d managers, %d reps; %d deals (%d won, %d lost, %d open of which %d stuck, %d reversed) in %s\n",
		*tenantName, res.Teams, res.Managers, res.Reps, res.Deals, res.Won, res.Lost, res.Open, res.Stuck, res.Reversed, time.Since(start).Round(time.Second))
	if res.Records > 0 {
		fmt.Fprintf(os.Stderr, "%d %s records\n", res.Records, res.Object)
	}
	fmt.Fprintf(os.Stderr, "commission: %d runs; statements %d paid, %d approved, %d draft; %d manager ratings\n",
		res.Runs, res.Statements["paid"], res.Statements["approved"], res.Statements["draft"], res.Ratings)
	who := append(res.Users, res.Finance)
	if len(who) > 6 {
		who = append(who[:6:6], "…")
	}
	if os.Getenv("STRIDE_DEMO_PASSWORD") != "" {
		fmt.Fprintf(os.Stderr, "users %s log in with the password in STRIDE_DEMO_PASSWORD\n", strings.Join(who, ", "))
	} else {
		fmt.Fprintf(os.Stderr, "users %s log in with password %s (shown only now)\n", strings.Join(who, ", "), pw)
	}
	return nil
}

// loadTemplate reads a template by name from the embedded examples, or
// from a path (a file or a directory holding template.json).
func loadTemplate(name string) (*templates.Bundle, error) {
	if _, err := os.Stat(name); err == nil {
		return templates.Load(name)
	}
	b, err := templates.LoadFS(examples.FS, name)
	if err != nil {
		names, _ := templates.Names(examples.FS)
		return nil, fmt.Errorf("no template %q (a path, or one of: %s)", name, strings.Join(names, ", "))
	}
	return b, nil
}

// bar is a text progress bar redrawn in place on a terminal line.
type bar struct {
	w     io.Writer
	unit  string
	last  time.Time
	shown bool
}

func newBar(w io.Writer, unit string) *bar { return &bar{w: w, unit: unit} }

// set redraws the bar (at most ten times a second, and always at the end).
func (b *bar) set(done, total int) {
	if done < total && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	b.shown = true
	fmt.Fprint(b.w, "\r"+renderBar(done, total, 30, b.unit))
}

func (b *bar) done() {
	if b.shown {
		fmt.Fprintln(b.w)
	}
}

// renderBar draws `[=====>    ] 45% 9000/20000 deals`.
func renderBar(done, total, width int, unit string) string {
	if total <= 0 {
		return fmt.Sprintf("[%s] 100%% 0/0 %s", strings.Repeat("=", width), unit)
	}
	fill := done * width / total
	var s strings.Builder
	s.WriteByte('[')
	for i := 0; i < width; i++ {
		switch {
		case i < fill:
			s.WriteByte('=')
		case i == fill && done < total:
			s.WriteByte('>')
		default:
			s.WriteByte(' ')
		}
	}
	fmt.Fprintf(&s, "] %3d%% %d/%d %s", done*100/total, done, total, unit)
	return s.String()
}
