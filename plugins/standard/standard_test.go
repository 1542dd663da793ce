package standard_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"stride/engine/plugin"
	_ "stride/plugins/standard"
)

var now = time.Date(2026, 6, 1, 9, 30, 0, 0, time.UTC)

func msg() plugin.Message {
	return plugin.Message{ID: "m1", Title: "商机停滞:协和医院影像设备", Body: "在「方案」阶段已停留 **21** 天", Severity: plugin.SeverityWarning,
		Link: "https://stride.example/records/deal/r1", At: now}
}

type captured struct {
	query url
	body  map[string]any
}

type url = map[string][]string

func robotServer(t *testing.T, answer string) (*httptest.Server, *[]captured) {
	t.Helper()
	var got []captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Errorf("body is not JSON: %s", b)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("content type %q", ct)
		}
		got = append(got, captured{query: r.URL.Query(), body: m})
		io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func send(t *testing.T, id string, cfg map[string]any) error {
	t.Helper()
	m, err := plugin.Instantiate(id, cfg, plugin.Context{Tenant: "demo", HTTP: http.DefaultClient, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("instantiate %s: %v", id, err)
	}
	return m.(plugin.Notifier).Send(context.Background(), msg())
}

func TestWeComMarkdown(t *testing.T) {
	srv, got := robotServer(t, `{"errcode":0,"errmsg":"ok"}`)
	if err := send(t, "notify.wecom", map[string]any{"url": srv.URL, "key": "wecom-robot-key-1"}); err != nil {
		t.Fatal(err)
	}
	c := (*got)[0]
	if c.query["key"][0] != "wecom-robot-key-1" || c.body["msgtype"] != "markdown" {
		t.Fatalf("request %+v", c)
	}
	content := c.body["markdown"].(map[string]any)["content"].(string)
	if !strings.HasPrefix(content, "### 商机停滞:协和医院影像设备\n") || !strings.Contains(content, "**21**") || !strings.Contains(content, "(https://stride.example/records/deal/r1)") {
		t.Fatalf("content %q", content)
	}
	// A robot refusing the key is a permanent failure.
	srv2, _ := robotServer(t, `{"errcode":93000,"errmsg":"invalid webhook url"}`)
	err := send(t, "notify.wecom", map[string]any{"url": srv2.URL, "key": "wecom-robot-key-1"})
	var perm *plugin.Permanent
	if err == nil || !errorsAs(err, &perm) {
		t.Fatalf("want permanent error, got %v", err)
	}
}

func errorsAs(err error, p **plugin.Permanent) bool {
	for err != nil {
		if pe, ok := err.(*plugin.Permanent); ok {
			*p = pe
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

func TestDingTalkSigned(t *testing.T) {
	srv, got := robotServer(t, `{"errcode":0,"errmsg":"ok"}`)
	secret := "SECdingtalk-signing-secret"
	if err := send(t, "notify.dingtalk", map[string]any{"url": srv.URL, "accessToken": "ding-token-1", "secret": secret}); err != nil {
		t.Fatal(err)
	}
	c := (*got)[0]
	ts := c.query["timestamp"][0]
	if ts != strconv.FormatInt(now.UnixMilli(), 10) {
		t.Fatalf("timestamp %s", ts)
	}
	// DingTalk's documented algorithm, independently: HmacSHA256(key=secret, ts+"\n"+secret), Base64.
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "\n" + secret))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); c.query["sign"][0] != want {
		t.Fatalf("sign %s, want %s", c.query["sign"][0], want)
	}
	md := c.body["markdown"].(map[string]any)
	if c.query["access_token"][0] != "ding-token-1" || c.body["msgtype"] != "markdown" || md["title"] != msg().Title || !strings.Contains(md["text"].(string), "**21**") {
		t.Fatalf("request %+v", c)
	}
}

func TestFeishuSignedCard(t *testing.T) {
	srv, got := robotServer(t, `{"code":0,"msg":"success"}`)
	secret := "feishu-signing-secret"
	if err := send(t, "notify.feishu", map[string]any{"url": srv.URL + "/open-apis/bot/v2/hook", "token": "feishu-token-1", "secret": secret}); err != nil {
		t.Fatal(err)
	}
	c := (*got)[0]
	ts := c.body["timestamp"].(string)
	if ts != strconv.FormatInt(now.Unix(), 10) {
		t.Fatalf("timestamp %s", ts)
	}
	// Feishu's documented algorithm: HmacSHA256(key=ts+"\n"+secret, message=""), Base64.
	mac := hmac.New(sha256.New, []byte(ts+"\n"+secret))
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); c.body["sign"] != want {
		t.Fatalf("sign %v, want %s", c.body["sign"], want)
	}
	card := c.body["card"].(map[string]any)
	hdr := card["header"].(map[string]any)
	if c.body["msg_type"] != "interactive" || hdr["template"] != "orange" || hdr["title"].(map[string]any)["content"] != msg().Title {
		t.Fatalf("card %+v", c.body)
	}
	srv2, _ := robotServer(t, `{"code":19021,"msg":"sign match fail or timestamp is not within one hour from current time"}`)
	if err := send(t, "notify.feishu", map[string]any{"url": srv2.URL, "token": "feishu-token-1", "secret": "x"}); err == nil {
		t.Fatal("a refused sign must fail")
	}
}

func TestWebhookSignature(t *testing.T) {
	var sig, ts, delivery string
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		sig, ts, delivery = r.Header.Get(plugin.HeaderSignature), r.Header.Get(plugin.HeaderTimestamp), r.Header.Get(plugin.HeaderDelivery)
	}))
	defer srv.Close()
	secret := "0123456789abcdef-secret"
	if err := send(t, "notify.webhook", map[string]any{"url": srv.URL, "secret": secret}); err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "." + string(body)))
	if want := "sha256=" + hexs(mac.Sum(nil)); sig != want || delivery != "m1" {
		t.Fatalf("signature %s want %s, delivery %s", sig, want, delivery)
	}
}

func hexs(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&15])
	}
	return string(out)
}

func TestConfigValidation(t *testing.T) {
	ctx := plugin.Context{HTTP: http.DefaultClient, Now: time.Now}
	cases := []struct {
		id      string
		cfg     map[string]any
		pointer string
	}{
		{"notify.wecom", map[string]any{}, ""},
		{"notify.wecom", map[string]any{"key": "wecom-robot-key-1", "extra": 1}, ""},
		{"notify.webhook", map[string]any{"url": "ftp://x", "secret": "0123456789abcdef-secret"}, "/url"},
		{"connect.webhook", map[string]any{"secret": "0123456789abcdef-secret", "object": "deal", "mapping": map[string]any{"amount": "payload.x +"},
			"idempotencyKey": "payload.id", "defaultOwner": "u1"}, "/mapping/amount"},
		{"connect.webhook", map[string]any{"secret": "0123456789abcdef-secret", "object": "deal", "mapping": map[string]any{"amount": "payload.x"},
			"idempotencyKey": "payload.id"}, "/defaultOwner"},
	}
	for _, c := range cases {
		_, err := plugin.Instantiate(c.id, c.cfg, ctx)
		ce, ok := err.(*plugin.ConfigError)
		if !ok {
			t.Errorf("%s %v: want a config error, got %v", c.id, c.cfg, err)
			continue
		}
		if c.pointer != "" && ce.Problems[0].Pointer != c.pointer {
			t.Errorf("%s: pointer %q, want %q (%v)", c.id, ce.Problems[0].Pointer, c.pointer, ce)
		}
	}
}
