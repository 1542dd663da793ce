package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"

	"stride/engine/store"
	"stride/engine/store/mongo"
)

// The API scenarios run on the embedded store by default. TestMongoBackend
// runs them again through the MongoDB adapter, against FerretDB embedded in
// this process (DESIGN.md §3), so the engine is proven on both stores and not
// only the adapters' conformance suite.

var (
	useMongo   bool
	ferretOnce sync.Once
	ferretURI  string
	ferretErr  error
	ferretStop = func() {}
	prefixes   = map[string]string{} // data dir → database prefix, so a "restart" reopens the same data
)

func startFerret() {
	dir, err := os.MkdirTemp("", "stride-api-ferretdb-*")
	if err != nil {
		ferretErr = err
		return
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: "127.0.0.1:0"}, Handler: "sqlite", SQLiteURL: "file:" + dir + "/",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		ferretErr = err
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	ferretURI = f.MongoDBURI()
	ferretStop = func() { cancel(); <-done; os.RemoveAll(dir) }
}

// openBackend opens the store the current scenario runs on.
func openBackend(t testing.TB, dir string) store.Store {
	t.Helper()
	if !useMongo {
		return openSQLite(t, dir)
	}
	ferretOnce.Do(startFerret)
	if ferretErr != nil {
		t.Fatalf("start FerretDB: %v", ferretErr)
	}
	p, ok := prefixes[dir]
	if !ok {
		p = fmt.Sprintf("a%d_", len(prefixes)+1)
		prefixes[dir] = p
	}
	st, err := mongo.Open(context.Background(), ferretURI, mongo.WithPrefix(p), mongo.WithServerSelectionTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMongoBackend replays the API scenarios through the MongoDB adapter.
// Concurrency scenarios are left out: FerretDB v1 does not make
// findAndModify or conditional updates atomic (the adapter relies on
// MongoDB's guarantees, which the conformance suite documents).
func TestMongoBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("FerretDB scenarios are slow; run without -short")
	}
	useMongo = true
	defer func() { useMongo = false }()
	if b := newEnv(t).st.Backend(); b != "mongo" {
		t.Fatalf("scenarios would run on %s, not mongo", b)
	}
	for name, scenario := range map[string]func(*testing.T){
		"Login":                TestLogin,
		"Tokens":               TestTokens,
		"IntegrationTokens":    TestIntegrationTokenScopes,
		"RecordValidation":     TestRecordValidation,
		"RecordLifecycle":      TestRecordLifecycle,
		"ListFiltersAndCursor": TestListFiltersSortAndCursor,
		"Visibility":           TestVisibilityFollowsTheOrgTree,
		"EffectiveMembership":  TestMembershipIsEffectiveDated,
		"DataSurvivesRestart":  TestDataSurvivesRestart,
		"ObjectLifecycle":      TestObjectDefinitionLifecycle,
		"ObjectErrors":         TestObjectDefinitionErrors,
		"RuleCheck":            TestRuleCheck,
		"PipelineTransitions":  TestPipelineTransitions,
		"Progress":             TestProgressFollowsDealsAndTheOrg,
		"Forecast":             TestForecastFollowsStageProbabilities,
		"DerivedMetrics":       TestDerivedMetrics,
		"PipelineDefinitions":  TestPipelineDefinitionErrorsAndChecks,
		"IdempotentSequential": func(t *testing.T) { testIdempotentSequential(t) },
		"TargetPlans":          TestTargetPlanLifecycle,
		"TargetRespread":       TestTargetSuggestionAndRespread,
		"Templates":            TestTemplatesOverTheAPI,
		"Commission":           TestCommissionLifecycle,
		"CommissionWhatIf":     TestCommissionSimulationDisputesAndExport,
		"CommissionLocked":     TestLockedStatementsNeverChange,
	} {
		t.Run(name, scenario)
	}
}
