package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"stride/engine/api"
	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/store"
)

// benchCustomer is the record the foundation benchmarks write: the demo
// customer object has a computed field but no pipeline and no metrics, so
// the pair measures exactly what the API adds on top of the store.
var benchCustomer = map[string]any{"name": "华东医疗器械经销有限公司", "industry": "distributor", "city": "上海",
	"contact": "李经理", "phone": "021-5555 0101", "annualRevenue": 8600000000}

// benchDeal is a deal as reps enter them: governed by the demo pipeline and
// counted by every metric over deals.
var benchDeal = map[string]any{"name": "华东医院设备采购", "customer": "华东医院", "amount": 1250000, "stage": "lead",
	"probability": 40, "closeDate": "2026-12-15"}

// BenchmarkRecordCreateHTTP measures POST /api/v1/records/customer end to end
// over a loopback HTTP connection: auth, JSON decoding, schema validation,
// computed fields and an fsync'd insert into the embedded store.
func BenchmarkRecordCreateHTTP(b *testing.B) {
	benchCreate(b, "customer", benchCustomer, 0)
}

// BenchmarkDealCreateHTTPTracked is the same for a deal with three metrics
// defined over deals (the demo's two plus a third) and the demo pipeline:
// what tracking adds to a write. Each request pays the pipeline hook and the
// outbox mark (an fsync'd write before the record's); the projection it
// triggers (journal, buckets, applied state, outbox cleanup) runs in the
// server's background drainer while the requests go on, and whatever is
// left is drained before the clock stops, so every created deal is counted
// in the rollups when the benchmark ends.
func BenchmarkDealCreateHTTPTracked(b *testing.B) {
	benchCreate(b, "deal", benchDeal, 3)
}

func benchCreate(b *testing.B, object string, record map[string]any, metrics int) {
	a := open(b, b.TempDir())
	defer a.Store.Close()
	ctx := context.Background()
	db, err := a.Tenants.DB(ctx, "demo")
	if err != nil {
		b.Fatal(err)
	}
	if metrics >= 3 {
		def := map[string]any{"label": map[string]any{"en": "Pipeline amount"}, "object": "deal", "value": "amount",
			"dateField": "closeDate", "ownerField": "owner"}
		if _, err := a.Tracker.Save(ctx, db, "demo", "system", "pipeline_amount", def, 0); err != nil {
			b.Fatal(err)
		}
		if _, err := a.Tracker.Publish(ctx, db, "demo", "system", "pipeline_amount"); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(api.New(deps(a)).Handler())
	defer srv.Close()
	res, err := a.Auth.Login(ctx, "demo", "admin", adminPassword, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(record)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/records/"+object, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+res.Token)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	if metrics > 0 {
		if err := a.Tracker.Sync(ctx, db, "demo"); err != nil { // the projection is part of the cost
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// BenchmarkStoreInsertBare inserts the stored form of benchCustomer straight
// into the same kind of store: the floor the API is compared against.
func BenchmarkStoreInsertBare(b *testing.B) {
	a := open(b, b.TempDir())
	defer a.Store.Close()
	ctx := context.Background()
	db, err := a.Tenants.DB(ctx, "demo")
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Declare(ctx, store.Collection{Name: "rec_customer", Indexes: []store.Index{
		{Name: "owner", Fields: []string{"deleted", "owner"}}, {Name: "updated", Fields: []string{"deleted", "updatedAt"}}}}); err != nil {
		b.Fatal(err)
	}
	data := map[string]any{}
	for k, v := range benchCustomer {
		data[k] = v
	}
	data["keyAccount"] = false
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := period.FormatInstant(time.Now())
		if _, err := db.Insert(ctx, "rec_customer", store.Doc{store.KeyID: ids.New("r"), "object": "customer", "objectVersion": int64(1),
			"owner": "u_x", "data": data, "deleted": false, "createdAt": now, "updatedAt": now, "createdBy": "u_x", "updatedBy": "u_x"}); err != nil {
			b.Fatal(err)
		}
	}
}
