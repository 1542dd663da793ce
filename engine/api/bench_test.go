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

// benchDeal is the record both benchmarks write: the same fields, so the
// ratio measures exactly what the API adds on top of the store.
var benchDeal = map[string]any{"name": "华东医院设备采购", "customer": "华东医院", "amount": 1250000, "stage": "proposal",
	"probability": 40, "closeDate": "2026-12-15"}

// BenchmarkRecordCreateHTTP measures POST /api/v1/records/deal end to end over
// a loopback HTTP connection: auth, JSON decoding, schema validation,
// computed fields and an fsync'd insert into the embedded store.
func BenchmarkRecordCreateHTTP(b *testing.B) {
	a := open(b, b.TempDir())
	defer a.Store.Close()
	srv := httptest.NewServer(api.New(deps(a)).Handler())
	defer srv.Close()
	res, err := a.Auth.Login(context.Background(), "demo", "admin", adminPassword, "127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(benchDeal)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/records/deal", bytes.NewReader(body))
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
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
}

// BenchmarkStoreInsertBare inserts the same stored document shape straight
// into the same kind of store: the floor the API is compared against.
func BenchmarkStoreInsertBare(b *testing.B) {
	a := open(b, b.TempDir())
	defer a.Store.Close()
	ctx := context.Background()
	db, err := a.Tenants.DB(ctx, "demo")
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Declare(ctx, store.Collection{Name: "rec_deal", Indexes: []store.Index{
		{Name: "owner", Fields: []string{"deleted", "owner"}}, {Name: "updated", Fields: []string{"deleted", "updatedAt"}}}}); err != nil {
		b.Fatal(err)
	}
	data := map[string]any{}
	for k, v := range benchDeal {
		data[k] = v
	}
	data["weightedAmount"] = int64(500000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := period.FormatInstant(time.Now())
		if _, err := db.Insert(ctx, "rec_deal", store.Doc{store.KeyID: ids.New("r"), "object": "deal", "objectVersion": int64(1),
			"owner": "u_x", "data": data, "deleted": false, "createdAt": now, "updatedAt": now, "createdBy": "u_x", "updatedBy": "u_x"}); err != nil {
			b.Fatal(err)
		}
	}
}
