package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/period"
	"stride/engine/plugin"
	"stride/engine/records"
	"stride/engine/store"
)

// InboundResult is the outcome of an inbound webhook.
type InboundResult struct {
	Record records.Record `json:"record"`
	// Replayed is true when the idempotency key had already created the
	// record (a redelivery with a new delivery id): nothing was written.
	Replayed bool   `json:"replayed"`
	Delivery string `json:"delivery"`
}

// Inbound handles a signed webhook for a connector: verify the signature
// and timestamp (401), refuse a delivery id seen before (409), map the
// payload with the connector's formulas (422), and create the record
// through the records write path — validation, computed fields, pipeline,
// tracking — with the mapped idempotency key.
func (s *Service) Inbound(ctx context.Context, db store.DB, tenant, connector string, header http.Header, body []byte) (*InboundResult, error) {
	if err := s.declare(ctx, db); err != nil {
		return nil, err
	}
	inst, err := s.configs.Get(ctx, db, connector)
	if err != nil || !inst.Enabled || !strings.HasPrefix(inst.Module, plugin.NSConnect+".") {
		return nil, apperr.NotFound("no connector %q", connector)
	}
	o, err := s.configs.Open(ctx, db, tenant, connector)
	if err != nil {
		return nil, err
	}
	conn, ok := o.Module.(plugin.Connector)
	if !ok {
		return nil, apperr.NotFound("no connector %q", connector)
	}
	did, err := conn.Verify(&plugin.Inbound{Header: header, Body: body, Now: s.now()})
	if err != nil {
		return nil, err
	}
	claim := hash(connector, did)
	if _, err := db.Insert(ctx, collHooks, store.Doc{store.KeyID: claim, "connector": connector, "delivery": did, "at": period.FormatInstant(s.now())}); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, apperr.Conflict("replayed_delivery", "delivery %q was already received; send a new delivery id for a new event", did)
		}
		return nil, err
	}
	release := func() { _ = db.Delete(ctx, collHooks, claim, 0) }
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var payload map[string]any
	if err := dec.Decode(&payload); err != nil || payload == nil {
		release()
		return nil, apperr.BadRequest("the body must be a JSON object")
	}
	payload = numbers(payload).(map[string]any)
	m, err := conn.Map(payload)
	if err != nil {
		release()
		return nil, err
	}
	p := &auth.Principal{Tenant: tenant, UserID: "connector:" + connector, Username: connector, Roles: []auth.Role{auth.RoleIntegration},
		Scopes: []string{"records:read", "records:write"}, Integration: true}
	rec, replay, err := s.recs.Create(ctx, db, p, m.Object, m.Data, "connector:"+m.IdempotencyKey)
	if err != nil {
		release() // the sender may fix the payload and send it again
		return nil, err
	}
	return &InboundResult{Record: rec, Replayed: replay, Delivery: did}, nil
}

// numbers turns json.Numbers into int64 when integral, else float64, as the
// records write path expects.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
		return x
	}
	return v
}
