// Package feishu is notify.feishu: a Feishu/Lark (飞书) custom group bot.
// Messages go as msg_type "interactive" (a card: a coloured header with the
// title, a markdown element with the body) to
// https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN. With the bot's
// "签名校验" setting the body also carries timestamp (seconds, as a string)
// and sign = Base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")).
// The answer is {"code": 0} on success.
package feishu

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"stride/engine/plugin"
	"stride/plugins/internal/robot"
)

// DefaultURL is Feishu's bot endpoint prefix (the token is appended).
const DefaultURL = "https://open.feishu.cn/open-apis/bot/v2/hook/"

// MaxText bounds the card's markdown (Feishu caps a request at 20 KB).
const MaxText = 18000

func init() { plugin.Register(new(Bot)) }

// Bot posts to a Feishu custom bot.
type Bot struct {
	URL    string `json:"url,omitempty"`
	Token  string `json:"token"`
	Secret string `json:"secret,omitempty"`

	client *http.Client
	now    func() time.Time
}

// StrideModule describes notify.feishu.
func (*Bot) StrideModule() plugin.ModuleInfo {
	return plugin.ModuleInfo{
		ID:      "notify.feishu",
		Label:   map[string]string{"zh-CN": "飞书群机器人", "en": "Feishu group bot"},
		Secrets: []string{"token", "secret"},
		Schema: json.RawMessage(`{
  "type": "object", "additionalProperties": false, "required": ["token"],
  "properties": {
    "token": {"type": "string", "minLength": 8, "maxLength": 200, "title": "Webhook Token", "description": "webhook 地址 /hook/ 之后的部分"},
    "secret": {"type": "string", "maxLength": 200, "title": "签名校验密钥 Signing secret"},
    "url": {"type": "string", "format": "uri", "pattern": "^https?://", "title": "接口地址前缀 Endpoint prefix"}
  }}`),
		New: func() plugin.Module { return new(Bot) },
	}
}

// Provision keeps the client and clock.
func (b *Bot) Provision(ctx plugin.Context) error { b.client, b.now = ctx.HTTP, ctx.Now; return nil }

// Sign returns Feishu's sign of a timestamp in seconds.
func Sign(secret string, tsSeconds int64) string {
	m := hmac.New(sha256.New, []byte(strconv.FormatInt(tsSeconds, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

var template = map[string]string{plugin.SeverityCritical: "red", plugin.SeverityWarning: "orange", plugin.SeverityInfo: "blue"}

// Payload builds the card message (without signature).
func Payload(m plugin.Message) map[string]any {
	var body strings.Builder
	body.WriteString("**" + robot.SeverityLabel(m.Severity) + "**\n")
	body.WriteString(m.Body)
	if m.Link != "" {
		body.WriteString("\n[查看详情 Open](" + m.Link + ")")
	}
	color := template[m.Severity]
	if color == "" {
		color = "blue"
	}
	return map[string]any{
		"msg_type": "interactive",
		"card": map[string]any{
			"config":   map[string]any{"wide_screen_mode": true},
			"header":   map[string]any{"title": map[string]any{"tag": "plain_text", "content": m.Title}, "template": color},
			"elements": []any{map[string]any{"tag": "markdown", "content": robot.Truncate(body.String(), MaxText)}},
		},
	}
}

// Send posts the message.
func (b *Bot) Send(ctx context.Context, m plugin.Message) error {
	base := b.URL
	if base == "" {
		base = DefaultURL
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	p := Payload(m)
	if b.Secret != "" {
		ts := b.now().Unix()
		p["timestamp"] = strconv.FormatInt(ts, 10)
		p["sign"] = Sign(b.Secret, ts)
	}
	out, err := plugin.PostJSON(ctx, b.client, base+b.Token, p, nil)
	if err != nil {
		return err
	}
	return robot.CheckCode(out, "code", "msg", "Feishu")
}

// Interface guards.
var (
	_ plugin.Notifier    = (*Bot)(nil)
	_ plugin.Provisioner = (*Bot)(nil)
)
