// Package dingtalk is notify.dingtalk: a DingTalk (钉钉) custom group robot.
// Messages go as msgtype "markdown" ({title, text}) to
// https://oapi.dingtalk.com/robot/send?access_token=TOKEN; with the robot's
// "加签" security setting, the query also carries timestamp (milliseconds)
// and sign = URL-encoded Base64(HMAC-SHA256(key = secret,
// message = timestamp + "\n" + secret)). The answer is {"errcode": 0} on success.
package dingtalk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"stride/engine/plugin"
	"stride/plugins/internal/robot"
)

// DefaultURL is DingTalk's robot endpoint.
const DefaultURL = "https://oapi.dingtalk.com/robot/send"

// MaxText bounds the markdown text (DingTalk caps a message at 20,000 bytes).
const MaxText = 18000

func init() { plugin.Register(new(Robot)) }

// Robot posts to a DingTalk robot.
type Robot struct {
	URL         string `json:"url,omitempty"`
	AccessToken string `json:"accessToken"`
	Secret      string `json:"secret,omitempty"`

	client *http.Client
	now    func() time.Time
}

// StrideModule describes notify.dingtalk.
func (*Robot) StrideModule() plugin.ModuleInfo {
	return plugin.ModuleInfo{
		ID:      "notify.dingtalk",
		Label:   map[string]string{"zh-CN": "钉钉群机器人", "en": "DingTalk group robot"},
		Secrets: []string{"accessToken", "secret"},
		Schema: json.RawMessage(`{
  "type": "object", "additionalProperties": false, "required": ["accessToken"],
  "properties": {
    "accessToken": {"type": "string", "minLength": 8, "maxLength": 200, "title": "access_token", "description": "webhook 地址中 access_token= 之后的部分"},
    "secret": {"type": "string", "maxLength": 200, "title": "加签密钥 Signing secret (SEC…)"},
    "url": {"type": "string", "format": "uri", "pattern": "^https?://", "title": "接口地址 Endpoint"}
  }}`),
		New: func() plugin.Module { return new(Robot) },
	}
}

// Provision keeps the client and clock.
func (r *Robot) Provision(ctx plugin.Context) error { r.client, r.now = ctx.HTTP, ctx.Now; return nil }

// Sign returns DingTalk's sign of a millisecond timestamp.
func Sign(secret string, tsMillis int64) string {
	ts := strconv.FormatInt(tsMillis, 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Payload builds the robot message.
func Payload(m plugin.Message) map[string]any {
	return map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]any{"title": m.Title, "text": robot.Markdown(m, "###", MaxText)},
		"at":       map[string]any{"isAtAll": false},
	}
}

// Send posts the message.
func (r *Robot) Send(ctx context.Context, m plugin.Message) error {
	base := r.URL
	if base == "" {
		base = DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return &plugin.Permanent{Err: err}
	}
	q := u.Query()
	q.Set("access_token", r.AccessToken)
	if r.Secret != "" {
		ts := r.now().UnixMilli()
		q.Set("timestamp", strconv.FormatInt(ts, 10))
		q.Set("sign", Sign(r.Secret, ts)) // Encode URL-encodes it
	}
	u.RawQuery = q.Encode()
	out, err := plugin.PostJSON(ctx, r.client, u.String(), Payload(m), nil)
	if err != nil {
		return err
	}
	return robot.CheckCode(out, "errcode", "errmsg", "DingTalk")
}

// Interface guards.
var (
	_ plugin.Notifier    = (*Robot)(nil)
	_ plugin.Provisioner = (*Robot)(nil)
)
