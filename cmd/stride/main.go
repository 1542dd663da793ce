// Command stride is the single Stride binary: the server and its tools.
//
//	stride serve              start the HTTP server (UI + API)
//	stride passwd TENANT USER set a user's password (prompted or STRIDE_NEW_PASSWORD)
//	stride reconcile          recompute rollups from records and report drift (-repair fixes it)
//	stride template …         apply, export or diff a template bundle
//	stride demo               install a template with a generated year of demo history
//	stride version            print the version
//
// Configuration comes from the environment: STRIDE_ADDR (default :8080),
// STRIDE_DATA (embedded store directory, default ./data), STRIDE_MONGODB_URI
// (use MongoDB instead), STRIDE_ADMIN_PASSWORD (first start only),
// STRIDE_LOG_FORMAT (text|json), STRIDE_LOG_LEVEL (debug|info|warn|error).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"stride/engine/api"
	"stride/engine/auth"
	"stride/engine/setup"
	"stride/engine/store"
	"stride/engine/store/mongo"
	"stride/engine/store/sqlite"
	"stride/engine/tracking"
	"stride/examples"
	_ "stride/plugins/standard" // the built-in notifiers and connectors
	"stride/ui"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve()
	case "passwd":
		err = passwd(os.Args[2:])
	case "reconcile":
		err = reconcile(os.Args[2:])
	case "template":
		err = template(os.Args[2:])
	case "demo":
		err = demoCmd(os.Args[2:])
	case "version", "--version", "-v":
		fmt.Println("stride", version)
	case "help", "--help", "-h":
		usage()
	default:
		fmt.Fprintf(os.Stderr, "stride: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stride:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `Stride — sales target management (销售目标管理)

Usage:
  stride serve               start the server (UI and API)
  stride passwd TENANT USER  set a user's password
  stride reconcile [-tenant T] [-repair]
                             recompute metric rollups from records, report drift (and repair it)
  stride template apply PATH -tenant T [-create] [-force] [-dry-run] [-publish-plans]
                             install a template bundle (a file, or a directory with template.json)
  stride template export -tenant T     write the tenant's configuration as a bundle to stdout
  stride template diff PATH -tenant T  compare a bundle with the tenant's configuration
  stride demo [-template saas] [-tenant demo] [-create] [-reps 40] [-deals 20000] [-seed 1]
                             install a template with a generated year of history
                             (deterministic per seed; run it while no server uses the store)
  stride version             print the version

Environment:
  STRIDE_ADDR            listen address (default :8080)
  STRIDE_DATA            embedded store directory (default ./data)
  STRIDE_MONGODB_URI     use MongoDB at this URI instead of the embedded store
  STRIDE_ADMIN_PASSWORD  password of user admin created on first start
  STRIDE_LOG_FORMAT      text (default) or json
  STRIDE_LOG_LEVEL       debug, info (default), warn, error
  STRIDE_INSTANCE_ID     stable name of this server instance (default hostname:address)
  STRIDE_DEMO_ORG        off: first start without the demo org and target plan
  STRIDE_DEMO            first start: a template (saas — the default —, pharma, manufacturing,
                         retail, or a path) installed with a year of demo data, or classic
                         (a few objects, an org and a target plan)
  STRIDE_DEMO_PASSWORD   stride demo: password of the generated users (default: generated)
  STRIDE_TRUSTED_PROXIES reverse proxies (IPs/CIDRs, comma-separated) whose X-Forwarded-For
                         is believed (default: none)
  STRIDE_SECRET_KEY      base64 32-byte key encrypting stored secrets (docs/security.md)
`)
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func setupLogging() {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(env("STRIDE_LOG_LEVEL", "info"))); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if env("STRIDE_LOG_FORMAT", "text") == "json" {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	slog.SetDefault(slog.New(h))
}

// openStore opens MongoDB if STRIDE_MONGODB_URI is set, else the embedded store.
func openStore(ctx context.Context) (store.Store, error) {
	if uri := os.Getenv("STRIDE_MONGODB_URI"); uri != "" {
		return mongo.Open(ctx, uri)
	}
	return sqlite.Open(env("STRIDE_DATA", "./data"))
}

func wire(ctx context.Context) (*setup.App, error) {
	st, err := openStore(ctx)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	a, err := setup.New(ctx, st)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func serve() error {
	setupLogging()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := wire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err := a.Store.Close(); err != nil {
			slog.Error("close store", "err", err)
		}
	}()
	// Name the instance before anything writes: the first write takes the
	// projector lease under this name.
	addr := env("STRIDE_ADDR", ":8080")
	a.Tracker.SetInstance(instanceID(addr))
	a.Jobs.Instance = instanceID(addr)
	boot, demoUsers, err := firstStart(ctx, a)
	if err != nil {
		return err
	}
	if err := a.Background(ctx); err != nil {
		return err
	}
	// Scorecards read attainment like progress does (setup wires them, so
	// templates and the demo install them too).
	scorecards := a.Scorecards
	scorecards.SetAnnouncer(a.Alerts) // recognition goes out through the notifiers
	var uiFS = ui.FS()
	if !ui.Built() {
		uiFS = nil
		slog.Warn("this binary has no web UI; build it with make")
	}
	srv := &http.Server{
		Addr: addr,
		Handler: api.New(api.Deps{Store: a.Store, Tenants: a.Tenants, Auth: a.Auth, Objects: a.Objects,
			Records: a.Records, Pipelines: a.Pipelines, Tracker: a.Tracker, Progress: a.Progress, Targets: a.Targets, Templates: a.Templates, Examples: examples.FS, UI: uiFS, Version: version,
			Commission: a.Commission, Scorecards: scorecards, Reports: a.Reports, TrustedProxies: trustedProxies(),
			Alerts: a.Alerts}).Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", srv.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", srv.Addr, err)
	}
	announce(ln.Addr().String(), a.Store.Backend(), boot, demoUsers)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	slog.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	a.Shutdown(sctx)
	slog.Info("stopped cleanly")
	return nil
}

// firstStart creates the demo tenant on an empty store: the template
// STRIDE_DEMO names (saas by default; pharma, …, or a path) with a
// generated year of history — deals, statements, ratings — or, with
// STRIDE_DEMO=classic, the classic demo (a few objects, an org and a target
// plan). It returns what Bootstrap did and the demo users to announce.
func firstStart(ctx context.Context, a *setup.App) (setup.Result, string, error) {
	pwOf := func(boot setup.Result) string {
		if boot.Password != "" {
			return boot.Password
		}
		return os.Getenv("STRIDE_ADMIN_PASSWORD")
	}
	mode := env("STRIDE_DEMO", "saas")
	if mode == "classic" {
		boot, err := a.Bootstrap(ctx, os.Getenv("STRIDE_ADMIN_PASSWORD"))
		if err != nil {
			return boot, "", fmt.Errorf("first-start setup: %w", err)
		}
		users := "manager mgr.east and reps " + strings.Join(setup.DemoUsers[1:], ", ")
		if boot.Created && os.Getenv("STRIDE_DEMO_ORG") != "off" {
			if err := setup.SeedDemoOrg(ctx, a, pwOf(boot)); err != nil {
				return boot, "", fmt.Errorf("first-start demo org: %w", err)
			}
		}
		return boot, users, nil
	}
	b, err := loadTemplate(mode)
	if err != nil {
		return setup.Result{}, "", fmt.Errorf("STRIDE_DEMO: %w", explain(err))
	}
	boot, err := a.BootstrapBare(ctx, os.Getenv("STRIDE_ADMIN_PASSWORD"))
	if err != nil || !boot.Created {
		return boot, "", err
	}
	slog.Info("first start: installing the demo", "template", b.Metadata.Name, "reps", demoReps, "deals", demoDeals)
	start := time.Now()
	res, err := setup.SeedTemplateDemo(ctx, a, b, pwOf(boot), demoReps, demoDeals)
	if err != nil {
		return boot, "", fmt.Errorf("first-start demo: %w", err)
	}
	slog.Info("first start: demo installed", "template", b.Metadata.Name, "deals", res.Deals, "records", res.Records, "won", res.Won,
		"statements", res.Statements, "took", time.Since(start).Round(time.Millisecond))
	// The first manager leads the whole sales org; the reps follow.
	return boot, fmt.Sprintf("%d managers (%s leads sales) and %d reps (%s, …) and finance (%s)", res.Managers, res.Users[0], res.Reps,
		strings.Join(res.Users[res.Managers:min(res.Managers+3, len(res.Users))], ", "), res.Finance), nil
}

// The size of the first-start template demo: alive, yet ready in seconds.
const (
	demoReps  = 12
	demoDeals = 800
)

// instanceID names this server instance: STRIDE_INSTANCE_ID, else
// hostname:listen-address — stable across restarts of the same service,
// distinct for two servers on one host.
func instanceID(addr string) string {
	if id := os.Getenv("STRIDE_INSTANCE_ID"); id != "" {
		return id
	}
	host, _ := os.Hostname()
	return host + ":" + addr
}

// announce prints where to go and how to log in; stdout, so it stands out
// from the logs on stderr.
func announce(addr, backend string, boot setup.Result, users string) {
	host, port, _ := net.SplitHostPort(addr)
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	fmt.Printf("\nStride %s is running at http://%s:%s  (store: %s)\n", version, host, port, backend)
	fmt.Printf("  API docs: http://%s:%s/docs\n", host, port)
	switch {
	case boot.Created && boot.Password != "":
		fmt.Printf("  First start: log in to tenant %q as user \"admin\" with password: %s\n", setup.DemoTenant, boot.Password)
		fmt.Println("  (shown only now; change it later with: stride passwd demo admin)")
		fmt.Printf("  Demo org: %s share that password\n", users)
	case boot.Created:
		fmt.Printf("  First start: log in to tenant %q as user \"admin\" with the password in STRIDE_ADMIN_PASSWORD\n", setup.DemoTenant)
		fmt.Printf("  Demo org: %s share that password\n", users)
	default:
		fmt.Printf("  Log in to tenant %q as \"admin\" (forgot the password? stride passwd demo admin)\n", setup.DemoTenant)
	}
	fmt.Println()
}

func passwd(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: stride passwd TENANT USER")
	}
	setupLogging()
	ctx := context.Background()
	a, err := wire(ctx)
	if err != nil {
		return err
	}
	defer a.Store.Close()
	db, err := a.Tenants.DB(ctx, args[0])
	if err != nil {
		return err
	}
	u, err := auth.UserByName(ctx, db, args[1])
	if err != nil {
		return err
	}
	pw := os.Getenv("STRIDE_NEW_PASSWORD")
	if pw == "" {
		fmt.Fprintf(os.Stderr, "New password for %s/%s: ", args[0], args[1])
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("read password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if _, err := auth.UpdateUser(ctx, db, "system", u.ID, auth.UserInput{Password: &pw}, 0); err != nil {
		return err
	}
	if _, err := a.Auth.EndSessions(ctx, args[0], u.ID); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "password changed; the user's sessions ended")
	return nil
}

// reconcile recomputes every tenant's (or one tenant's) rollups from records
// and prints the drift; with -repair it rewrites what drifted. Exit status 3
// means drift was found and not repaired, so scripts can alert on it.
func reconcile(args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	only := fs.String("tenant", "", "reconcile only this tenant")
	repair := fs.Bool("repair", false, "rewrite drifted rollups")
	if err := fs.Parse(args); err != nil {
		return err
	}
	setupLogging()
	ctx := context.Background()
	a, err := wire(ctx)
	if err != nil {
		return err
	}
	defer a.Store.Close()
	names := []string{*only}
	if *only == "" {
		if names, err = a.Tenants.List(ctx); err != nil {
			return err
		}
	}
	drifted := false
	for _, name := range names {
		db, err := a.Tenants.DB(ctx, name)
		if err != nil {
			return err
		}
		rep, err := a.Tracker.Reconcile(ctx, db, name, *repair)
		// A server that died without releasing its projector lease holds
		// it until it expires: wait that out rather than fail.
		for deadline := time.Now().Add(tracking.DefaultLeaseTTL + 5*time.Second); errors.Is(err, tracking.ErrBusy) && time.Now().Before(deadline); {
			fmt.Fprintf(os.Stderr, "%s: a server is projecting this tenant (or died holding its lease); waiting…\n", name)
			time.Sleep(2 * time.Second)
			rep, err = a.Tracker.Reconcile(ctx, db, name, *repair)
		}
		if err != nil {
			return fmt.Errorf("reconcile %s: %w", name, err)
		}
		fmt.Printf("%s: %d metrics, %d records, %d rollup cells, %d drifted", name, rep.Metrics, rep.Records, rep.Buckets, len(rep.Drift))
		if rep.Repaired {
			fmt.Print(" (repaired)")
		}
		fmt.Println()
		for _, d := range rep.Drift {
			fmt.Printf("  %s %s %s: stored %d/%d, expected %d/%d\n", d.Metric, d.Owner, d.Day, d.Stored.Sum, d.Stored.Count, d.Expected.Sum, d.Expected.Count)
		}
		drifted = drifted || (len(rep.Drift) > 0 && !rep.Repaired)
	}
	if drifted {
		os.Exit(3)
	}
	return nil
}

// trustedProxies reads STRIDE_TRUSTED_PROXIES: the comma-separated addresses
// or CIDRs of reverse proxies whose X-Forwarded-For names the client (none
// by default: the client is the peer address).
func trustedProxies() []string {
	var out []string
	for _, p := range strings.Split(os.Getenv("STRIDE_TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
