// Package wecom is notify.wecom: a WeCom (企业微信) group robot. Messages go
// as msgtype "markdown" to the robot's webhook
// (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY); WeCom robots
// are authenticated by the key alone (no signing). The answer is
// {"errcode": 0, "errmsg": "ok"} on success.
package wecom

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"stride/engine/plugin"
	"stride/plugins/internal/robot"
)

// DefaultURL is WeCom's robot endpoint.
const DefaultURL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"

// MaxContent is WeCom's limit on markdown content, in bytes.
const MaxContent = 4096

func init() { plugin.Register(new(Robot)) }

// Robot posts to a WeCom group robot.
type Robot struct {
	URL string `json:"url,omitempty"`
	Key string `json:"key"`

	client *http.Client
}

// StrideModule describes notify.wecom.
func (*Robot) StrideModule() plugin.ModuleInfo {
	return plugin.ModuleInfo{
		ID:      "notify.wecom",
		Label:   map[string]string{"zh-CN": "企业微信群机器人", "en": "WeCom group robot"},
		Secrets: []string{"key"},
		Schema: json.RawMessage(`{
  "type": "object", "additionalProperties": false, "required": ["key"],
  "properties": {
    "key": {"type": "string", "minLength": 8, "maxLength": 200, "title": "机器人 Key Robot key", "description": "webhook 地址中 key= 之后的部分 The part after key= of the robot's webhook URL"},
    "url": {"type": "string", "format": "uri", "pattern": "^https?://", "title": "接口地址 Endpoint", "description": "默认 Default: https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}
  }}`),
		New: func() plugin.Module { return new(Robot) },
	}
}

// Provision keeps the client.
func (r *Robot) Provision(ctx plugin.Context) error { r.client = ctx.HTTP; return nil }

// Payload builds the robot message (exported for tests and docs).
func Payload(m plugin.Message) map[string]any {
	content := robot.Markdown(m, "###", MaxContent)
	return map[string]any{"msgtype": "markdown", "markdown": map[string]any{"content": content}}
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
	q.Set("key", r.Key)
	u.RawQuery = q.Encode()
	out, err := plugin.PostJSON(ctx, r.client, u.String(), Payload(m), nil)
	if err != nil {
		return err
	}
	return robot.CheckCode(out, "errcode", "errmsg", "WeCom")
}

// Interface guards.
var (
	_ plugin.Notifier    = (*Robot)(nil)
	_ plugin.Provisioner = (*Robot)(nil)
)
