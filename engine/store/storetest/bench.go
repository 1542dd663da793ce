package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"stride/engine/store"
)

// Record returns the i-th synthetic sales record used by the benchmarks: ten
// fields of the kinds real records have (money in cents, a probability,
// Chinese text, canonical UTC time strings, a tag list, a nested object), with
// owner in 100 distinct values and stage in 6.
func Record(i int) store.Doc {
	stages := []string{"lead", "qualified", "proposal", "negotiation", "won", "lost"}
	return store.Doc{
		"_id":         fmt.Sprintf("rec-%08d", i),
		"owner":       fmt.Sprintf("u%03d", i%100),
		"stage":       stages[i%len(stages)],
		"amount":      int64(100000 + (i*7919)%9000000),
		"probability": float64(i%100) / 100,
		"customer":    fmt.Sprintf("上海客户%05d有限公司", i%5000),
		"createdAt":   fmt.Sprintf("2024-%02d-%02dT08:00:00Z", 1+i%12, 1+i%28),
		"closeDate":   fmt.Sprintf("2024-%02d-%02d", 1+(i+2)%12, 1+i%28),
		"tags":        []any{"tag" + fmt.Sprint(i%7), "region-east"},
		"contact":     map[string]any{"name": "联系人", "phone": fmt.Sprintf("138%08d", i)},
	}
}

const benchDB = "bench"

// benchRecords is the collection declaration the benchmarks use.
var benchRecords = store.Collection{Name: "records", Indexes: []store.Index{
	{Name: "owner", Fields: []string{"owner"}},
	{Name: "stage_amount", Fields: []string{"stage", "amount"}},
}}

func benchSetup(b *testing.B, s store.Store, n int) store.DB {
	b.Helper()
	ctx := context.Background()
	db, err := s.DB(ctx, benchDB)
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Declare(ctx, benchRecords); err != nil {
		b.Fatal(err)
	}
	if cnt, err := db.Count(ctx, "records", store.Query{}); err != nil {
		b.Fatal(err)
	} else if cnt >= int64(n) {
		return db
	}
	batch := make([]store.Doc, 0, 1000)
	for i := 0; i < n; i++ {
		batch = append(batch, Record(i))
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := db.InsertMany(ctx, "records", batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	return db
}

// BenchmarkInsert measures inserting one record at a time (each insert
// acknowledged, i.e. durable).
func BenchmarkInsert(b *testing.B, s store.Store) {
	db := benchSetup(b, s, 0)
	ctx := context.Background()
	base := 10_000_000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Insert(ctx, "records", Record(base+i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInsertParallel measures insert throughput from concurrent
// goroutines (b.RunParallel; scale with -cpu).
func BenchmarkInsertParallel(b *testing.B, s store.Store) {
	db := benchSetup(b, s, 0)
	ctx := context.Background()
	var next atomic.Int64
	next.Store(20_000_000)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := db.Insert(ctx, "records", Record(int(next.Add(1)))); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkGet measures reading a record by id from a collection of n
// records.
func BenchmarkGet(b *testing.B, s store.Store, n int) {
	db := benchSetup(b, s, n)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Get(ctx, "records", fmt.Sprintf("rec-%08d", (i*7919)%n)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFindIndexed measures a page of 50 records of one owner (an
// equality on a declared index) from a collection of n records.
func BenchmarkFindIndexed(b *testing.B, s store.Store, n int) {
	db := benchSetup(b, s, n)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := db.Find(ctx, "records", store.Query{
			Where: []store.Cond{{Field: "owner", Op: store.Eq, Value: fmt.Sprintf("u%03d", i%100)}},
			Limit: 50,
		})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Docs) == 0 {
			b.Fatal("no documents")
		}
	}
}

// BenchmarkInc measures an atomic increment of a rollup bucket (upsert on
// first use, then update) over 100 buckets.
func BenchmarkInc(b *testing.B, s store.Store) {
	db := benchSetup(b, s, 0)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := db.Inc(ctx, "rollups", fmt.Sprintf("m1|u%03d|2024-05", i%100),
			map[string]int64{"sum": 12345, "count": 1, fmt.Sprintf("days.d%02d.sum", 1+i%28): 12345},
			store.Doc{"metric": "m1"})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplace measures a versioned update of one record.
func BenchmarkReplace(b *testing.B, s store.Store) {
	db := benchSetup(b, s, 0)
	ctx := context.Background()
	doc := Record(30_000_000)
	v, err := db.Insert(ctx, "records", doc)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		doc["amount"] = int64(i)
		if v, err = db.Replace(ctx, "records", doc, v); err != nil {
			b.Fatal(err)
		}
	}
}
