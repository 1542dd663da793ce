package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary string

// TestMain builds the real binary once; the tests run it as a user would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stride-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "stride")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build stride: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type server struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// start runs `stride serve` on dataDir and waits until it is ready. The
// tests of the server itself run on the classic demo (a deal object with an
// amount, two metrics), pinned with STRIDE_DEMO=classic; extraEnv may
// override it.
func start(t *testing.T, dataDir string, extraEnv ...string) *server {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(), "STRIDE_ADDR="+addr, "STRIDE_DATA="+dataDir, "STRIDE_LOG_LEVEL=warn", "STRIDE_DEMO=classic")
	cmd.Env = append(cmd.Env, extraEnv...)
	s := &server{cmd: cmd, url: "http://" + addr, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(s.url + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server not ready; stderr:\n%s", s.stderr)
	return nil
}

func post(t *testing.T, url, token string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

func login(t *testing.T, s *server, password string) string {
	t.Helper()
	code, body := post(t, s.url+"/api/v1/auth/login", "", map[string]any{"tenant": "demo", "username": "admin", "password": password})
	if code != 200 {
		t.Fatalf("login: %d %v", code, body)
	}
	return body["token"].(string)
}

func TestFirstStartPrintsGeneratedPasswordOnce(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir)
	m := regexp.MustCompile(`as user "admin" with password: (\S+)`).FindStringSubmatch(s.stdout.String())
	if m == nil {
		t.Fatalf("no password in the banner:\n%s", s.stdout)
	}
	if !strings.Contains(s.stdout.String(), s.url[len("http://127.0.0.1"):]) {
		t.Fatalf("banner lacks the URL:\n%s", s.stdout)
	}
	login(t, s, m[1])
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	again := start(t, dir)
	if strings.Contains(again.stdout.String(), "with password:") {
		t.Fatalf("second start printed a password again:\n%s", again.stdout)
	}
	login(t, again, m[1])
}

func TestGracefulShutdownDrainsAndClosesCleanly(t *testing.T) {
	s := start(t, t.TempDir(), "STRIDE_ADMIN_PASSWORD=graceful-pass", "STRIDE_LOG_LEVEL=info")
	tok := login(t, s, "graceful-pass")
	if code, _ := post(t, s.url+"/api/v1/records/deal", tok, map[string]any{"name": "x", "amount": 1}); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, s.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop within 30s of SIGTERM")
	}
	if !strings.Contains(s.stderr.String(), "stopped cleanly") {
		t.Fatalf("no clean stop in the log:\n%s", s.stderr)
	}
}

// TestAcknowledgedWritesSurviveSIGKILL kills the server mid-stream of
// creates; every create that was answered 201 must be there after restart.
func TestAcknowledgedWritesSurviveSIGKILL(t *testing.T) {
	dir := t.TempDir()
	// The same instance restarted (its port differs here, so name it).
	s := start(t, dir, "STRIDE_ADMIN_PASSWORD=crash-pass-123", "STRIDE_INSTANCE_ID=crash-test")
	tok := login(t, s, "crash-pass-123")
	acked := make(chan string, 10000)
	stop := make(chan struct{})
	go func() {
		defer close(acked)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			code, body := post(t, s.url+"/api/v1/records/deal", tok, map[string]any{"name": fmt.Sprintf("deal %d", i), "amount": i})
			if code != 201 {
				return // the server is gone
			}
			acked <- body["id"].(string)
		}
	}()
	time.Sleep(700 * time.Millisecond)
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = s.cmd.Process.Wait()
	close(stop)
	var ids []string
	for id := range acked {
		ids = append(ids, id)
	}
	if len(ids) < 10 {
		t.Fatalf("only %d writes before the kill; the test proves nothing", len(ids))
	}
	again := start(t, dir, "STRIDE_INSTANCE_ID=crash-test")
	tok = login(t, again, "crash-pass-123")
	for _, id := range ids {
		req, _ := http.NewRequest("GET", again.url+"/api/v1/records/deal/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("acknowledged record %s lost after SIGKILL (status %d)", id, res.StatusCode)
		}
	}
	// Every deal counts in the new_deals metric: once the restarted server's
	// projector has caught up, the rollups equal a recompute from records.
	code, rep := post(t, again.url+"/api/v1/reconcile", tok, map[string]any{"repair": false})
	if code != 200 {
		t.Fatalf("reconcile: %d %v", code, rep)
	}
	if drift := rep["drift"].([]any); len(drift) != 0 || int(rep["records"].(float64)) < len(ids) {
		t.Fatalf("after SIGKILL and restart: %d drifted cells over %v records (acked %d): %v", len(drift), rep["records"], len(ids), drift)
	}
	t.Logf("%d acknowledged writes all survived SIGKILL; rollups reconcile with zero drift", len(ids))
}

// TestReconcileCommand runs `stride reconcile` on a store the server wrote:
// no drift, exit 0.
func TestReconcileCommand(t *testing.T) {
	dir := t.TempDir()
	s := start(t, dir, "STRIDE_ADMIN_PASSWORD=reconcile-pass-1")
	tok := login(t, s, "reconcile-pass-1")
	for i := 0; i < 5; i++ {
		if code, _ := post(t, s.url+"/api/v1/records/deal", tok, map[string]any{"name": fmt.Sprint("d", i), "amount": 100 + i}); code != 201 {
			t.Fatalf("create: %d", code)
		}
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	cmd := exec.Command(binary, "reconcile")
	cmd.Env = append(os.Environ(), "STRIDE_DATA="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "demo: 2 metrics") || !strings.Contains(string(out), " 0 drifted") {
		t.Fatalf("reconcile: %v\n%s", err, out)
	}
}

func TestUnknownCommand(t *testing.T) {
	out, err := exec.Command(binary, "frobnicate").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown command "frobnicate"`) {
		t.Fatalf("err=%v out=%s", err, out)
	}
	out, err = exec.Command(binary, "version").Output()
	if err != nil || !bytes.HasPrefix(out, []byte("stride ")) {
		t.Fatalf("version: %v %s", err, out)
	}
}

func TestDemoCommand(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(binary, "demo", "-template", "saas", "-tenant", "acme", "-create", "-reps", "3", "-deals", "40", "-seed", "3")
	cmd.Env = append(os.Environ(), "STRIDE_DATA="+dir, "STRIDE_LOG_LEVEL=warn")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "40/40 records") || !strings.Contains(string(out), "tenant acme: 5 teams, 5 managers, 3 reps; 40 deals") {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	cmd = exec.Command(binary, "reconcile", "-tenant", "acme")
	cmd.Env = append(os.Environ(), "STRIDE_DATA="+dir)
	out, err = cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "waiting") || !strings.Contains(string(out), "acme: 7 metrics, 40 records") || !strings.Contains(string(out), " 0 drifted") {
		t.Fatalf("reconcile after demo: %v\n%s", err, out)
	}
	cmd = exec.Command(binary, "demo", "-template", "nosuch", "-tenant", "acme")
	cmd.Env = append(os.Environ(), "STRIDE_DATA="+dir)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `no template "nosuch"`) {
		t.Fatalf("unknown template: %v\n%s", err, out)
	}
}

func TestRenderBar(t *testing.T) {
	for _, c := range []struct {
		done, total int
		want        string
	}{
		{0, 20000, "[>         ]   0% 0/20000 deals"},
		{9000, 20000, "[====>     ]  45% 9000/20000 deals"},
		{20000, 20000, "[==========] 100% 20000/20000 deals"},
	} {
		if got := renderBar(c.done, c.total, 10, "deals"); got != c.want {
			t.Errorf("renderBar(%d, %d) = %q, want %q", c.done, c.total, got, c.want)
		}
	}
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &out)
	return res.StatusCode, out
}

// TestFirstStartFromTemplate: with no STRIDE_DEMO, the first start installs
// the SaaS template with a year of history — statements in every state and
// a leaderboard with ranks — and the rollups reconcile.
func TestFirstStartFromTemplate(t *testing.T) {
	dir := t.TempDir()
	began := time.Now()
	s := start(t, dir, "STRIDE_DEMO=", "STRIDE_ADMIN_PASSWORD=alive-pass-1")
	t.Logf("first start with the saas demo ready in %s", time.Since(began))
	if !regexp.MustCompile(`Demo org: 5 managers \(\S+ leads sales\) and 12 reps \(.*\) and finance \(finance\) share that password`).MatchString(s.stdout.String()) {
		t.Fatalf("banner:\n%s", s.stdout)
	}
	tok := login(t, s, "alive-pass-1")
	for _, status := range []string{"paid", "approved", "draft"} {
		code, body := get(t, s.url+"/api/v1/statements?plan=saas_ae_plan&status="+status, tok)
		items, _ := body["items"].([]any)
		if code != 200 || len(items) == 0 {
			t.Fatalf("%s statements: %d %v", status, code, body)
		}
	}
	last := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -time.Now().Day()).Format("2006-01")
	code, lb := get(t, s.url+"/api/v1/scorecards/ae_monthly/results?node=company&period="+last, tok)
	rows, _ := lb["rows"].([]any)
	if code != 200 || len(rows) != 12 || rows[0].(map[string]any)["rank"] != 1.0 {
		t.Fatalf("leaderboard of %s: %d %v", last, code, lb)
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	_ = s.cmd.Wait()
	cmd := exec.Command(binary, "reconcile", "-tenant", "demo")
	cmd.Env = append(os.Environ(), "STRIDE_DATA="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "demo: 7 metrics, 800 records") || !strings.Contains(string(out), " 0 drifted") {
		t.Fatalf("reconcile: %v\n%s", err, out)
	}
}
