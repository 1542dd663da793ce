package alerts

// Templates are the built-in alert rules an admin starts from (预警模板).
// They name the demo's deal object, won_revenue metric and deal_sales
// pipeline; the editor lets the admin point them elsewhere before saving.
func Templates() []map[string]any {
	return []map[string]any{
		{
			"key": "stuck_deal", "template": "stuck_deal",
			"label":       map[string]any{"zh-CN": "商机停滞", "en": "Stuck deal"},
			"description": map[string]any{"zh-CN": "商机在当前阶段停留超过该阶段的 SLA 天数", "en": "A deal has stayed in its stage longer than the stage's SLA"},
			"source":      "record", "object": "deal", "onChange": true, "schedule": "0 9 * * *",
			"condition": `hasSla && daysInStage > stageSlaDays`,
			"title":     map[string]any{"zh-CN": "商机停滞:{{name}}", "en": "Stuck deal: {{name}}"},
			"message": map[string]any{
				"zh-CN": "商机 **{{name}}** 在「{{stage}}」阶段已停留 {{round(daysInStage, 1)}} 天,超过 SLA {{stageSlaDays}} 天。\n\n金额:{{amount}} 元",
				"en":    "Deal **{{name}}** has been in stage {{stage}} for {{round(daysInStage, 1)}} days, over its SLA of {{stageSlaDays}} days.\n\nAmount: {{amount}}"},
			"severity":   "warning",
			"recipients": map[string]any{"owner": true, "managers": true},
			"dedupeKey":  `id + ":" + stage`, "cooldownMinutes": 1440,
		},
		{
			"key": "behind_pace", "template": "behind_pace",
			"label":       map[string]any{"zh-CN": "进度落后", "en": "Behind pace"},
			"description": map[string]any{"zh-CN": "期间已过 30% 以上,完成进度低于应有进度的 80%", "en": "More than 30% of the period has passed and pacing is below 80%"},
			"source":      "progress", "metric": "won_revenue", "grain": "quarter", "nodes": "users", "schedule": "0 9 * * 1-5",
			"condition": `hasTarget && elapsed >= 0.3 && pacing < 0.8`,
			"title":     map[string]any{"zh-CN": "进度落后:{{node}}", "en": "Behind pace: {{node}}"},
			"message": map[string]any{
				"zh-CN": "{{node}} 在 {{period}} 的完成率为 {{round(attainment * 100, 1)}}%,时间已过 {{round(elapsed * 100, 0)}}%,进度仅为应有的 {{round(pacing * 100, 0)}}%。\n\n差距:{{gap}}",
				"en":    "{{node}} is at {{round(attainment * 100, 1)}}% of target for {{period}} with {{round(elapsed * 100, 0)}}% of the period gone: pacing {{round(pacing * 100, 0)}}%.\n\nGap: {{gap}}"},
			"severity":        "warning",
			"recipients":      map[string]any{"owner": true, "managers": true},
			"cooldownMinutes": 10080,
		},
		{
			"key": "large_deal_lost", "template": "large_deal_lost",
			"label":       map[string]any{"zh-CN": "大单丢单", "en": "Large deal lost"},
			"description": map[string]any{"zh-CN": "金额 100 万元以上的商机进入输单阶段", "en": "A deal of 1,000,000 or more moved to lost"},
			"source":      "record", "object": "deal", "events": []any{"transition", "patch"},
			"condition": `stage == "lost" && prevStage != "lost" && amount >= 1000000`,
			"title":     map[string]any{"zh-CN": "大单丢单:{{name}}", "en": "Large deal lost: {{name}}"},
			"message": map[string]any{
				"zh-CN": "商机 **{{name}}**(金额 {{amount}} 元)已输单,负责人 {{ownerName}}。",
				"en":    "Deal **{{name}}** ({{amount}}) was lost; owner {{ownerName}}."},
			"severity":        "critical",
			"recipients":      map[string]any{"managers": true, "roles": []any{"admin"}},
			"cooldownMinutes": 0,
		},
		{
			"key": "unusual_amount", "template": "unusual_amount",
			"label":       map[string]any{"zh-CN": "金额异常", "en": "Unusual amount"},
			"description": map[string]any{"zh-CN": "商机金额超过该销售平均金额的 3 倍", "en": "A deal's amount is over 3× the rep's average"},
			"source":      "record", "object": "deal", "events": []any{"create", "patch"},
			"condition": `ownerAvg.amount > 0 && amount > 3 * ownerAvg.amount`,
			"title":     map[string]any{"zh-CN": "金额异常:{{name}}", "en": "Unusual amount: {{name}}"},
			"message": map[string]any{
				"zh-CN": "商机 **{{name}}** 金额 {{amount}} 元,是 {{ownerName}} 平均金额({{round(ownerAvg.amount, 0)}} 元)的 {{round(amount / ownerAvg.amount, 1)}} 倍,请核实。",
				"en":    "Deal **{{name}}** is {{amount}}, {{round(amount / ownerAvg.amount, 1)}}× {{ownerName}}'s average ({{round(ownerAvg.amount, 0)}}). Please check."},
			"severity":   "info",
			"recipients": map[string]any{"managers": true},
			"dedupeKey":  `id + ":" + string(amount)`, "cooldownMinutes": 1440,
		},
		{
			"key": "weekly_digest", "template": "weekly_digest",
			"label":       map[string]any{"zh-CN": "经理周报", "en": "Weekly manager digest"},
			"description": map[string]any{"zh-CN": "每周一早上发给每位经理:团队完成率、进度和停滞商机", "en": "Every Monday morning, to each manager: their team's attainment, pacing and stuck deals"},
			"source":      "progress", "metric": "won_revenue", "grain": "quarter", "nodes": "teams", "pipeline": "deal_sales", "schedule": "0 8 * * 1",
			"condition": `true`,
			"title":     map[string]any{"zh-CN": "{{node}} 周报 · {{period}}", "en": "{{node}} weekly digest · {{period}}"},
			"message": map[string]any{
				"zh-CN": "**完成率** {{round(attainment * 100, 1)}}% · **进度** {{round(pacing * 100, 0)}}% · 时间已过 {{round(elapsed * 100, 0)}}%\n\n实际 {{actual}} / 目标 {{target}},差距 {{gap}}\n\n**停滞商机** {{stuckCount}} 个\n{{stuckList}}",
				"en":    "**Attainment** {{round(attainment * 100, 1)}}% · **Pacing** {{round(pacing * 100, 0)}}% · {{round(elapsed * 100, 0)}}% of the period gone\n\nActual {{actual}} / target {{target}}, gap {{gap}}\n\n**Stuck deals**: {{stuckCount}}\n{{stuckList}}"},
			"severity":   "info",
			"recipients": map[string]any{"managers": true},
			"dedupeKey":  `nodeId + ":" + period`, "cooldownMinutes": 8640,
		},
	}
}
