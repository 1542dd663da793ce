package setup

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"stride/engine/auth"
)

// DemoUsers are the people SeedDemoOrg creates, by username.
var DemoUsers = []string{"mgr.east", "zhang.san", "li.si", "wang.wu", "zhao.liu"}

// SeedDemoOrg gives the demo tenant an org and a year to plan from: two
// regions (华东 managed by mgr.east, 华南), four reps, last year's and this
// year's won deals through the normal write path, and a published target
// plan for this fiscal year decomposed down to the reps. The demo users'
// password is password. It runs once, on the first start of `stride serve`
// (tests build their own orgs).
func SeedDemoOrg(ctx context.Context, a *App, password string) error {
	db, err := a.Tenants.DB(ctx, DemoTenant)
	if err != nil {
		return err
	}
	tn, err := a.Tenants.Get(ctx, DemoTenant)
	if err != nil {
		return err
	}
	now := time.Now().In(tn.Calendar().Location)
	year := now.Year()
	ids := map[string]string{}
	names := map[string]string{"mgr.east": "周经理", "zhang.san": "张三", "li.si": "李四", "wang.wu": "王五", "zhao.liu": "赵六"}
	for _, u := range DemoUsers {
		role := auth.RoleRep
		if u == "mgr.east" {
			role = auth.RoleManager
		}
		u, display, roles := u, names[u], []auth.Role{role}
		created, err := auth.CreateUser(ctx, db, "system", auth.UserInput{Username: &u, DisplayName: &display, Roles: &roles, Password: &password})
		if err != nil {
			return fmt.Errorf("demo user %s: %w", u, err)
		}
		ids[u] = created.ID
	}
	team := func(name string, managers []string) (string, error) {
		n, m := name, managers
		t, err := auth.SaveTeam(ctx, db, "system", "", auth.TeamInput{Name: &n, Managers: &m}, 0)
		return t.ID, err
	}
	east, err := team("华东大区", []string{ids["mgr.east"]})
	if err != nil {
		return fmt.Errorf("demo team: %w", err)
	}
	south, err := team("华南大区", []string{})
	if err != nil {
		return fmt.Errorf("demo team: %w", err)
	}
	from := strconv.Itoa(year-2) + "-01-01"
	for _, m := range []struct{ team, user string }{{east, "zhang.san"}, {east, "li.si"}, {south, "wang.wu"}, {south, "zhao.liu"}} {
		if _, err := auth.AddMember(ctx, db, "system", m.team, auth.Membership{UserID: ids[m.user], From: from}); err != nil {
			return fmt.Errorf("demo membership: %w", err)
		}
	}
	admin, err := auth.UserByName(ctx, db, "admin")
	if err != nil {
		return err
	}
	p := &auth.Principal{Tenant: DemoTenant, UserID: admin.ID, Username: admin.Username, Roles: admin.Roles}
	// Won deals: last year's give the allocation its history, this year's
	// give progress something to show. Amounts in 分.
	type win struct {
		user   string
		amount int64
		month  int // 1–12
		last   bool
	}
	wins := []win{
		{"zhang.san", 180000000, 3, true}, {"zhang.san", 95000000, 9, true}, {"li.si", 60000000, 6, true},
		{"wang.wu", 120000000, 5, true}, {"wang.wu", 40000000, 11, true}, {"zhao.liu", 85000000, 12, true},
		{"zhang.san", 120000000, 2, false}, {"li.si", 45000000, 4, false}, {"wang.wu", 70000000, 7, false},
		{"zhao.liu", 30000000, 8, false},
	}
	for i, w := range wins {
		y := year
		if w.last {
			y--
		}
		if !w.last && w.month > int(now.Month()) {
			continue
		}
		day := fmt.Sprintf("%04d-%02d-15", y, w.month)
		data := map[string]any{"name": fmt.Sprintf("%s %d 年 %d 月签约", names[w.user], y, w.month), "customer": "示例客户",
			"amount": w.amount, "stage": "won", "probability": int64(100), "closeDate": day, "owner": ids[w.user]}
		if _, _, err := a.Records.Create(ctx, db, p, "deal", data, "demo-win-"+strconv.Itoa(i)); err != nil {
			return fmt.Errorf("demo deal: %w", err)
		}
	}
	key := "revenue_" + strconv.Itoa(year)
	def := map[string]any{
		"label":       map[string]any{"zh-CN": fmt.Sprintf("%d 年赢单目标", year), "en": fmt.Sprintf("%d won revenue", year)},
		"metric":      "won_revenue",
		"fiscalYear":  year,
		"amounts":     map[string]any{"floor": int64(800_000_000), "target": int64(1_000_000_000), "stretch": int64(1_200_000_000)},
		"granularity": int64(1_000_000),
		"seasonality": map[string]any{"source": "weights", "weights": []any{0.7, 0.6, 0.9, 1, 1, 1.1, 0.9, 0.9, 1, 1, 1.3, 1.6}},
		"allocation": map[string]any{
			"formula": "0.6 * history.share + 0.4 * potential.share",
			"levels":  []any{map[string]any{"depth": 2, "formula": "0.7 * history.share + 0.3 * headcount.share"}},
		},
		"nodes": map[string]any{
			"team:" + east:  map[string]any{"inputs": map[string]any{"potential": 60}},
			"team:" + south: map[string]any{"inputs": map[string]any{"potential": 40}},
		},
	}
	if _, err := a.Targets.Save(ctx, db, DemoTenant, "system", key, def, 0); err != nil {
		return fmt.Errorf("demo target plan: %w", err)
	}
	if _, err := a.Targets.Publish(ctx, db, DemoTenant, "system", key, "首次发布 / initial version"); err != nil {
		return fmt.Errorf("publish demo target plan: %w", err)
	}
	return nil
}
