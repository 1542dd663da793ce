package alerts_test

import (
	"testing"
	"time"

	"stride/engine/alerts"
	"stride/engine/records"
	"stride/engine/setup"
)

// benchWrites creates deals through the records write path, with the given
// alert rules published on the deal object (their conditions false for
// these deals, so the cost measured is evaluation, not delivery).
func benchWrites(b *testing.B, rules int) {
	now := time.Now()
	t := &testing.T{}
	e := open(t, b.TempDir(), &now)
	defer e.app.Store.Close()
	e.t = t
	tpls := alerts.Templates()
	n := 0
	for _, tpl := range tpls {
		if n == rules {
			break
		}
		if tpl["source"] == "record" {
			e.publish(tpl["key"].(string), tpl)
			n++
		}
	}
	if t.Failed() {
		b.Fatal("setup failed")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "deal", deal("基准商机", 100000), ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordWriteWithoutAlerts is the baseline record write.
func BenchmarkRecordWriteWithoutAlerts(b *testing.B) { benchWrites(b, 0) }

// BenchmarkRecordWriteWithAlerts adds the three built-in record rules
// (stuck deal, large deal lost, unusual amount — the last one reads the
// owner's average, a query per write).
func BenchmarkRecordWriteWithAlerts(b *testing.B) { benchWrites(b, 3) }

// BenchmarkAlertHook is the alert hook alone on one record write (the three
// built-in record rules, conditions false): what alerts add to a write,
// without the store's fsync noise.
func BenchmarkAlertHook(b *testing.B) {
	now := time.Now()
	t := &testing.T{}
	e := open(t, b.TempDir(), &now)
	defer e.app.Store.Close()
	e.t = t
	n := 0
	for _, tpl := range alerts.Templates() {
		if tpl["source"] == "record" && n < 3 {
			e.publish(tpl["key"].(string), tpl)
			n++
		}
	}
	rec, _, err := e.app.Records.Create(e.ctx, e.db, e.admin, "deal", deal("基准商机", 100000), "")
	if err != nil {
		b.Fatal(err)
	}
	obj, err := e.app.Objects.Published(e.ctx, e.db, setup.DemoTenant, "deal")
	if err != nil {
		b.Fatal(err)
	}
	h := e.app.Alerts.Hook()
	w := &records.Write{DB: e.db, Principal: e.admin, Object: obj, Old: &rec, New: &rec, Via: "patch"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.AfterWrite(e.ctx, w)
	}
}
