package plugin

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signature headers of Stride's own webhooks, outbound (notify.webhook) and
// inbound (connect.webhook): the same scheme both ways.
//
//	X-Stride-Timestamp: unix seconds
//	X-Stride-Delivery:  the delivery's unique id (receivers drop repeats)
//	X-Stride-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// The timestamp is inside the signed text, so a captured request cannot be
// replayed later with a fresh timestamp; the delivery id catches a replay
// inside the tolerance window.
const (
	HeaderTimestamp = "X-Stride-Timestamp"
	HeaderDelivery  = "X-Stride-Delivery"
	HeaderSignature = "X-Stride-Signature"
)

// Sign returns the X-Stride-Signature value of body sent at ts.
func Sign(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a signature in constant time.
func VerifySignature(secret string, ts int64, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(strings.TrimSpace(sig)))
}

// PostJSON posts v as JSON and returns the response body. A network error
// or a 5xx/429 is retryable; any other non-2xx is *Permanent.
func PostJSON(ctx context.Context, client *http.Client, url string, v any, header http.Header) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, &Permanent{Err: err}
	}
	return Post(ctx, client, url, body, header)
}

// Post posts a JSON body (see PostJSON).
func Post(ctx context.Context, client *http.Client, url string, body []byte, header http.Header) ([]byte, error) {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, &Permanent{Err: err}
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stride")
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post: %w", err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		return out, nil
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusRequestTimeout:
		return out, fmt.Errorf("receiver answered %d: %s", res.StatusCode, snippet(out))
	default:
		return out, &Permanent{Err: fmt.Errorf("receiver answered %d: %s", res.StatusCode, snippet(out))}
	}
}

func snippet(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
