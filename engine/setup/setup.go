// Package setup prepares a store on first start: the demo tenant, its admin
// and the demo objects, so a newcomer has something to log in to.
package setup

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"path"

	"stride/engine/auth"
	"stride/engine/ids"
	"stride/engine/store"
	"stride/engine/tenant"
)

//go:embed demo/*.json
var demoFS embed.FS

// DemoTenant is the tenant created on first start.
const DemoTenant = "demo"

// Result says what Bootstrap did.
type Result struct {
	Created bool
	// Password is set when Bootstrap generated the admin password (it is
	// printed once and never stored in clear).
	Password string
}

// Bootstrap creates the demo tenant with user admin and the demo objects if
// the store has no tenant yet. The admin password is adminPassword, or a
// generated one returned in Result.
func Bootstrap(ctx context.Context, a *App, adminPassword string) (Result, error) {
	return bootstrap(ctx, a, adminPassword, true, true)
}

func bootstrap(ctx context.Context, a *App, adminPassword string, classic, pipelines bool) (Result, error) {
	reg, objs, recs := a.Tenants, a.Objects, a.Records
	names, err := reg.List(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("list tenants: %w", err)
	}
	var db store.DB
	switch {
	case len(names) == 0:
		db, err = reg.Create(ctx, tenant.Tenant{Name: DemoTenant, DisplayName: "演示公司 Demo Co.", Locale: "zh-CN", TimeZone: "Asia/Shanghai"})
		if err != nil {
			return Result{}, fmt.Errorf("create demo tenant: %w", err)
		}
	case len(names) == 1 && names[0] == DemoTenant:
		// A first start that died half-way left the tenant without its
		// admin: finish the job. Once a user exists, bootstrap never runs.
		db, err = reg.DB(ctx, DemoTenant)
		if err != nil {
			return Result{}, err
		}
		users, err := auth.ListUsers(ctx, db)
		if err != nil {
			return Result{}, err
		}
		if len(users) > 0 {
			return Result{}, nil
		}
	default:
		return Result{}, nil
	}
	res := Result{Created: true}
	if adminPassword == "" {
		adminPassword = ids.Secret(12)
		res.Password = adminPassword
	}
	username, display := "admin", "管理员"
	roles := []auth.Role{auth.RoleAdmin}
	admin, err := auth.CreateUser(ctx, db, "system", auth.UserInput{Username: &username, DisplayName: &display, Roles: &roles, Password: &adminPassword})
	if err != nil {
		return Result{}, fmt.Errorf("create admin: %w", err)
	}
	if !classic {
		return res, nil
	}
	for _, name := range []string{"customer.json", "deal.json"} {
		def, err := readDemo(name)
		if err != nil {
			return Result{}, err
		}
		key, _ := def["key"].(string)
		if _, err := objs.Save(ctx, db, DemoTenant, "system", key, def, 0); err != nil {
			return Result{}, fmt.Errorf("save demo object %s: %w", key, err)
		}
		if _, err := objs.Publish(ctx, db, DemoTenant, "system", key); err != nil {
			return Result{}, fmt.Errorf("publish demo object %s: %w", key, err)
		}
	}
	// The sales pipeline of deals, before the records so they get a history.
	for _, name := range demoPipelines(pipelines) {
		def, err := readDemo(name)
		if err != nil {
			return Result{}, err
		}
		key, _ := def["key"].(string)
		if _, err := a.Pipelines.Save(ctx, db, DemoTenant, "system", key, def, 0); err != nil {
			return Result{}, fmt.Errorf("save demo pipeline %s: %w", key, err)
		}
		if _, err := a.Pipelines.Publish(ctx, db, DemoTenant, "system", key); err != nil {
			return Result{}, fmt.Errorf("publish demo pipeline %s: %w", key, err)
		}
	}
	// The demo metrics, before the records, so their rollups build as the
	// records arrive.
	for _, name := range demoMetrics(pipelines) {
		def, err := readDemo(name)
		if err != nil {
			return Result{}, err
		}
		key, _ := def["key"].(string)
		if _, err := a.Tracker.Save(ctx, db, DemoTenant, "system", key, def, 0); err != nil {
			return Result{}, fmt.Errorf("save demo metric %s: %w", key, err)
		}
		if _, err := a.Tracker.Publish(ctx, db, DemoTenant, "system", key); err != nil {
			return Result{}, fmt.Errorf("publish demo metric %s: %w", key, err)
		}
	}
	// A few records, written through the same path as the API, so the first
	// screen is not empty. (The templates issue replaces this with a
	// generated year of history.)
	p := &auth.Principal{Tenant: DemoTenant, UserID: admin.ID, Username: admin.Username, Roles: admin.Roles}
	for _, s := range demoRecords {
		if _, _, err := recs.Create(ctx, db, p, s.object, s.data, "demo-seed-"+s.key); err != nil {
			return Result{}, fmt.Errorf("seed %s %s: %w", s.object, s.key, err)
		}
	}
	return res, nil
}

func demoPipelines(on bool) []string {
	if !on {
		return nil
	}
	return []string{"pipeline_deal_sales.json"}
}

// demoMetrics come with the full demo only: tests of tracking publish their own.
func demoMetrics(on bool) []string {
	if !on {
		return nil
	}
	return []string{"metric_won_revenue.json", "metric_new_deals.json"}
}

func readDemo(name string) (map[string]any, error) {
	b, err := demoFS.ReadFile(path.Join("demo", name))
	if err != nil {
		return nil, err
	}
	var def map[string]any
	if err := json.Unmarshal(b, &def); err != nil {
		return nil, fmt.Errorf("demo definition %s: %w", name, err)
	}
	return def, nil
}

type seed struct {
	object, key string
	data        map[string]any
}

var demoRecords = []seed{
	{"customer", "c1", map[string]any{"name": "北京协和医院", "industry": "hospital", "city": "北京", "contact": "王主任", "annualRevenue": int64(560000000000)}},
	{"customer", "c2", map[string]any{"name": "华东医疗器械经销有限公司", "industry": "distributor", "city": "上海", "contact": "李经理", "annualRevenue": int64(8600000000)}},
	{"customer", "c3", map[string]any{"name": "苏州精工制造", "industry": "manufacturing", "city": "苏州", "contact": "陈总", "annualRevenue": int64(32000000000)}},
	{"customer", "c4", map[string]any{"name": "成都优品连锁", "industry": "retail", "city": "成都", "annualRevenue": int64(4500000000)}},
	{"deal", "d1", map[string]any{"name": "协和医院影像设备采购", "customer": "北京协和医院", "amount": int64(380000000), "stage": "proposal", "probability": int64(60), "closeDate": "2026-12-20"}},
	{"deal", "d2", map[string]any{"name": "华东经销商年度框架协议", "customer": "华东医疗器械经销有限公司", "amount": int64(150000000), "stage": "won", "probability": int64(100), "closeDate": "2026-10-15"}},
	{"deal", "d3", map[string]any{"name": "精工制造 MES 系统", "customer": "苏州精工制造", "amount": int64(86000000), "stage": "qualified", "probability": int64(30), "closeDate": "2027-01-31"}},
	{"deal", "d4", map[string]any{"name": "优品连锁门店收银升级", "customer": "成都优品连锁", "amount": int64(24000000), "stage": "lost", "probability": int64(0), "closeDate": "2026-09-30", "lossReason": "客户预算冻结,明年再议"}},
	{"deal", "d5", map[string]any{"name": "协和医院检验科耗材", "customer": "北京协和医院", "amount": int64(42000000), "stage": "lead", "probability": int64(10), "closeDate": "2027-03-31"}},
	{"deal", "d6", map[string]any{"name": "华东经销商新品铺货", "customer": "华东医疗器械经销有限公司", "amount": int64(65000000), "stage": "won", "probability": int64(100), "closeDate": "2026-11-05"}},
}
