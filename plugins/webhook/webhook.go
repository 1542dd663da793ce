// Package webhook holds Stride's generic webhooks: notify.webhook posts
// alert messages to any HTTPS endpoint, signed with HMAC-SHA256; and
// connect.webhook accepts signed inbound webhooks (ERP orders, payments
// 回款, marketing leads) and maps them to record writes with expr.
//
// Both use the signature scheme of engine/plugin (X-Stride-Timestamp,
// X-Stride-Delivery, X-Stride-Signature: sha256=HMAC(secret, ts + "." + body)).
package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"stride/engine/plugin"
)

func init() {
	plugin.Register(new(Notifier))
	plugin.Register(new(Connector))
}

// Notifier posts messages as signed JSON.
type Notifier struct {
	URL    string            `json:"url"`
	Secret string            `json:"secret"`
	Header map[string]string `json:"headers,omitempty"`

	client *http.Client
	now    func() time.Time
}

// StrideModule describes notify.webhook.
func (*Notifier) StrideModule() plugin.ModuleInfo {
	return plugin.ModuleInfo{
		ID:      "notify.webhook",
		Label:   map[string]string{"zh-CN": "通用 Webhook", "en": "Generic webhook"},
		Secrets: []string{"secret"},
		Schema: json.RawMessage(`{
  "type": "object", "additionalProperties": false, "required": ["url", "secret"],
  "properties": {
    "url": {"type": "string", "format": "uri", "pattern": "^https?://", "title": "URL", "description": "接收消息的地址 Endpoint that receives the messages"},
    "secret": {"type": "string", "minLength": 16, "maxLength": 200, "title": "签名密钥 Signing secret", "description": "HMAC-SHA256 key of the X-Stride-Signature header"},
    "headers": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 500}, "maxProperties": 10, "title": "额外请求头 Extra headers"}
  }}`),
		New: func() plugin.Module { return new(Notifier) },
	}
}

// Provision keeps the HTTP client and clock.
func (n *Notifier) Provision(ctx plugin.Context) error {
	n.client, n.now = ctx.HTTP, ctx.Now
	return nil
}

// Validate checks the URL.
func (n *Notifier) Validate() error {
	u, err := url.Parse(n.URL)
	if err != nil || u.Host == "" {
		return &plugin.FieldProblem{Pointer: "/url", Code: "format", Message: "not an absolute http(s) URL"}
	}
	return nil
}

// Payload is the JSON body notify.webhook posts.
type Payload struct {
	ID         string             `json:"id"`
	Alert      string             `json:"alert,omitempty"`
	Event      string             `json:"event,omitempty"`
	Title      string             `json:"title"`
	Body       string             `json:"body"`
	Severity   string             `json:"severity"`
	Link       string             `json:"link,omitempty"`
	Recipients []plugin.Recipient `json:"recipients"`
	At         time.Time          `json:"at"`
}

// Send posts the message; the delivery id is the message id, so a receiver
// can drop a redelivery.
func (n *Notifier) Send(ctx context.Context, m plugin.Message) error {
	rs := m.Recipients
	if rs == nil {
		rs = []plugin.Recipient{}
	}
	body, err := json.Marshal(Payload{ID: m.ID, Alert: m.Alert, Event: m.Event, Title: m.Title, Body: m.Body, Severity: m.Severity,
		Link: m.Link, Recipients: rs, At: m.At})
	if err != nil {
		return &plugin.Permanent{Err: err}
	}
	ts := n.now().Unix()
	h := http.Header{}
	for k, v := range n.Header {
		h.Set(k, v)
	}
	h.Set(plugin.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(plugin.HeaderDelivery, m.ID)
	h.Set(plugin.HeaderSignature, plugin.Sign(n.Secret, ts, body))
	_, err = plugin.Post(ctx, n.client, n.URL, body, h)
	return err
}

// Interface guards.
var (
	_ plugin.Notifier    = (*Notifier)(nil)
	_ plugin.Provisioner = (*Notifier)(nil)
	_ plugin.Validator   = (*Notifier)(nil)
)
