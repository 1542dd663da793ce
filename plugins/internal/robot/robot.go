// Package robot holds what the chat-robot notifiers share: rendering a
// message as markdown within a size limit and reading the robots' answers.
package robot

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"stride/engine/plugin"
)

var severityLabel = map[string]string{
	plugin.SeverityCritical: "🔴 严重 Critical",
	plugin.SeverityWarning:  "🟠 警告 Warning",
	plugin.SeverityInfo:     "🔵 提示 Info",
}

// SeverityLabel is the severity as shown in robot messages.
func SeverityLabel(s string) string {
	if l, ok := severityLabel[s]; ok {
		return l
	}
	return s
}

// Markdown renders title, severity, body and link, cut to max bytes.
func Markdown(m plugin.Message, heading string, max int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", heading, m.Title)
	fmt.Fprintf(&b, "> %s\n\n", SeverityLabel(m.Severity))
	b.WriteString(m.Body)
	if m.Link != "" {
		fmt.Fprintf(&b, "\n\n[查看详情 Open](%s)", m.Link)
	}
	return Truncate(b.String(), max)
}

// Truncate cuts s to at most max bytes on a character boundary.
func Truncate(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// CheckCode reads a robot's JSON answer: a non-zero code field is a
// permanent failure (the robot rejected the message: bad key, bad sign,
// bad payload), except rate limits, which are retried.
func CheckCode(body []byte, codeField, msgField, service string) error {
	var ans map[string]any
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil // some gateways answer 200 with no JSON: accepted
	}
	code, ok := ans[codeField].(float64)
	if !ok || code == 0 {
		return nil
	}
	msg, _ := ans[msgField].(string)
	err := fmt.Errorf("%s robot answered %s %v: %s", service, codeField, code, msg)
	switch int(code) {
	case 45009, 130101, 11232, 9499: // rate limits (WeCom, DingTalk, Feishu)
		return err
	}
	return &plugin.Permanent{Err: err}
}
