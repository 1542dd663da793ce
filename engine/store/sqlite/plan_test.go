package sqlite

import (
	"strings"
	"testing"

	"stride/engine/store"
	"stride/engine/store/internal/docutil"
)

// TestQueryPlans checks that conditions, sorting and cursors over declared
// indexes are served by those indexes: the SQL they are pushed down to must
// spell each field exactly as the CREATE INDEX does.
func TestQueryPlans(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	h, err := s.DB(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	err = h.Declare(ctx, store.Collection{Name: "deals", Indexes: []store.Index{
		{Name: "owner", Fields: []string{"owner"}},
		{Name: "stage_amount", Fields: []string{"stage", "amount"}},
		{Name: "won", Fields: []string{"won"}},
		{Name: "ext", Fields: []string{"ext.crmId"}, Unique: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.database(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	eq := func(f string, v any) store.Cond { return store.Cond{Field: f, Op: store.Eq, Value: v} }
	cursorFor := func(q store.Query, last store.Doc) store.Query {
		cur, err := docutil.EncodeCursor(q, last)
		if err != nil {
			t.Fatal(err)
		}
		q.After = cur
		return q
	}
	cases := []struct {
		name   string
		q      store.Query
		index  string
		sorted bool // served in result order, no sorter
	}{
		{"eq", store.Query{Where: []store.Cond{eq("owner", "u1")}, Limit: 50}, "x:deals:owner", true},
		{"eq next page", cursorFor(store.Query{Where: []store.Cond{eq("owner", "u1")}, Limit: 50}, store.Doc{"_id": "d9"}), "x:deals:owner", true},
		{"in", store.Query{Where: []store.Cond{{Field: "owner", Op: store.In, Value: []any{"u1", "u2"}}}}, "x:deals:owner", false},
		{"eq and range", store.Query{Where: []store.Cond{eq("stage", "won"), {Field: "amount", Op: store.Gte, Value: 100}}}, "x:deals:stage_amount", false},
		{"eq sorted by second field", store.Query{Where: []store.Cond{eq("stage", "won")}, Sort: []store.SortKey{{Field: "amount", Desc: true}}, Limit: 20}, "x:deals:stage_amount", false},
		{"bool", store.Query{Where: []store.Cond{eq("won", true)}, Limit: 20}, "x:deals:won", true},
		{"sort only", store.Query{Sort: []store.SortKey{{Field: "owner"}}, Limit: 20}, "x:deals:owner", true},
		{"sort only next page", cursorFor(store.Query{Sort: []store.SortKey{{Field: "owner"}}, Limit: 20}, store.Doc{"_id": "d9", "owner": "u3"}), "x:deals:owner", true},
		{"dotted unique", store.Query{Where: []store.Cond{eq("ext.crmId", "A-1")}}, "x:deals:ext", false},
		{"ids", store.Query{Where: []store.Cond{{Field: "_id", Op: store.In, Value: []any{"a", "b"}}}}, "sqlite_autoindex", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, args, err := selectSQL("deals", tc.q, false)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := d.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, append(args, 10)...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			all := strings.Join(plan, "; ")
			if !strings.Contains(all, "USING INDEX "+tc.index) && !strings.Contains(all, "USING COVERING INDEX "+tc.index) {
				t.Errorf("%s\nplan %q does not use index %s", q, all, tc.index)
			}
			if tc.sorted && strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("%s\nplan %q sorts", q, all)
			}
		})
	}
}
