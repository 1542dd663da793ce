// Package storetest is the conformance suite every store.Store backend must
// pass (DESIGN.md §3). It pins down the semantics of engine/store that the
// interface's types alone cannot express: versions, sentinel errors, query
// operators over every value type, ordering, cursor pagination, atomic
// increments, number fidelity and database isolation.
//
// A backend's tests call Run with a function returning a fresh, empty store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store {
//			s, err := sqlite.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The Benchmark* functions measure the common operations the same way on
// every backend.
package storetest

import (
	"testing"

	"stride/engine/store"
)

// Option adjusts Run for a backend under test.
type Option func(*config)

type config struct {
	skipConcurrency  string
	skipNestedArrays string
}

// SkipConcurrency skips the subtests asserting that concurrent writers of one
// document never lose an update (Inc from many goroutines, racing Replace).
// It exists for test servers known not to provide single-document
// atomicity — FerretDB v1 implements findAndModify and update as a read
// followed by an unconditional write — and reason is logged. A production
// backend must never use it.
func SkipConcurrency(reason string) Option {
	return func(c *config) { c.skipConcurrency = reason }
}

// SkipNestedArrays skips the subtest storing arrays of arrays, for test
// servers that reject them (FerretDB v1 does; MongoDB and SQLite do not).
// reason is logged.
func SkipNestedArrays(reason string) Option {
	return func(c *config) { c.skipNestedArrays = reason }
}

// Run runs the conformance suite. open must return a fresh, empty store for
// each call (each subtest calls it once) and register its own cleanup.
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, cfg config)
	}{
		{"Basics", testBasics},
		{"InvalidNames", testInvalidNames},
		{"InvalidRequests", testInvalidRequests},
		{"Declare", testDeclare},
		{"InsertGet", testInsertGet},
		{"UniqueIndex", testUniqueIndex},
		{"Replace", testReplace},
		{"Delete", testDelete},
		{"FindConditions", testFindConditions},
		{"Sort", testSort},
		{"Pagination", testPagination},
		{"Scan", testScan},
		{"Count", testCount},
		{"Inc", testInc},
		{"IncConcurrent", testIncConcurrent},
		{"ReplaceConcurrent", testReplaceConcurrent},
		{"InsertMany", testInsertMany},
		{"Numbers", testNumbers},
		{"RoundTrip", testRoundTrip},
		{"NestedArrays", testNestedArrays},
		{"DBs", testDBs},
		{"Isolation", testIsolation},
		{"Context", testContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t), cfg)
		})
	}
}
