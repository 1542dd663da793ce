package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/scorecard"
)

// scorecardRoutes are the scorecard configuration kind, its leaderboard
// and its awards (engine/scorecard).
func (s *Server) scorecardRoutes() []route {
	base := "/api/v1/scorecards"
	rs := s.configRoutes(base, "scorecards", "scorecard", "ScorecardDefinition",
		func() configService { return s.d.Scorecards }, nil)
	rs = append(rs,
		route{method: "GET", path: base + "/:key/results", tag: "scorecards",
			summary: "Leaderboard (排行榜): score, grade, rank and titles per member of a node for a period, each score explained (breakdown only for members the caller may see)",
			access:  recordReader, resp: "ScorecardResults", status: 200,
			query: []param{{"period", "a period key of the scorecard's grain, e.g. 2026-03 (default: the current one)"},
				{"node", "company, team:<id> or user:<id> (default: the caller's team; company for admins)"}},
			handle: s.scorecardResults},
		route{method: "GET", path: base + "/:key/awards", tag: "scorecards", summary: "Titles awarded per closed period, newest first",
			access: recordReader, resp: "ScorecardAwardList", status: 200, handle: s.scorecardAwards},
		route{method: "POST", path: base + "/:key/awards", tag: "scorecards",
			summary: "Award a closed period's titles to its top ranks (admins, or managers whose teams hold the whole population; stored once: asking again returns the same award with 200)",
			access:  managerOrAdmin, body: "ScorecardAwardRequest", resp: "ScorecardAward", status: 201, handle: s.awardScorecard},
	)
	// Without a scorecard service every scorecard route is a 404.
	for i := range rs {
		h := rs[i].handle
		rs[i].handle = func(c *gin.Context, r *request) error {
			if s.d.Scorecards == nil {
				return apperr.NotFound("scorecards are not enabled on this server")
			}
			return h(c, r)
		}
	}
	return rs
}

func (s *Server) scorecardResults(c *gin.Context, r *request) error {
	res, err := s.d.Scorecards.Results(c.Request.Context(), r.db, r.p.Tenant, r.p, scorecard.Query{
		Key: c.Param("key"), Period: c.Query("period"), Node: c.Query("node"), Now: time.Now()})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}

func (s *Server) scorecardAwards(c *gin.Context, r *request) error {
	as, err := s.d.Scorecards.Awards(c.Request.Context(), r.db, c.Param("key"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": as})
	return nil
}

type awardRequest struct {
	Period string `json:"period"`
}

func (s *Server) awardScorecard(c *gin.Context, r *request) error {
	var in awardRequest
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	a, created, err := s.d.Scorecards.AwardPeriod(c.Request.Context(), r.db, r.p.Tenant, r.p, c.Param("key"), in.Period)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, gin.H{"created": created, "award": a})
	return nil
}

// scorecardComponents are the OpenAPI schemas of the scorecard routes.
func scorecardComponents(defs map[string]any) map[string]any {
	num := map[string]any{"type": "number"}
	nullable := func(t string) map[string]any { return map[string]any{"type": []string{t, "null"}} }
	titleRef := obj(map[string]any{"key": str, "title": i18n})
	userRef := obj(map[string]any{"id": str, "name": str})
	item := obj(map[string]any{"key": str, "type": str, "weight": num, "cap": num, "score": nullable("number"), "raw": num, "capped": boolean,
		"share": nullable("number"), "reason": map[string]any{"type": "string", "enum": []string{"no_target", "no_value", "no_rating", "input_missing", "formula_error"}},
		"message": str, "actual": integer, "target": integer, "attainment": num, "rating": num, "ratings": integer, "inputs": anyObj})
	row := obj(map[string]any{"user": userRef, "rank": nullable("integer"), "overallRank": integer, "score": nullable("number"), "grade": nullable("string"),
		"titles": arr(titleRef), "detail": boolean, "items": arr(item), "explain": str})
	winner := obj(map[string]any{"user": userRef, "rank": integer, "score": num, "grade": nullable("string"), "titles": arr(titleRef)})
	award := obj(map[string]any{"scorecard": str, "version": integer, "period": str, "at": instant, "by": str, "titles": arr(anyObj), "winners": arr(winner)})
	return map[string]any{
		"ScorecardDefinition": schemaDoc("scorecard.schema.json", "Scorecard_", defs),
		"ScorecardResults": obj(map[string]any{
			"scorecard": obj(map[string]any{"key": str, "version": integer, "label": i18n, "grain": str,
				"items": arr(obj(map[string]any{"key": str, "label": i18n, "type": str, "weight": num, "cap": num, "metric": str, "level": str,
					"unit": str, "scale": integer, "ratingScale": obj(map[string]any{"min": num, "max": num}), "formula": str})),
				"grades": arr(obj(map[string]any{"grade": str, "min": num, "label": i18n})), "fallbackGrade": str,
				"recognition": arr(obj(map[string]any{"key": str, "title": i18n, "top": integer, "minScore": num}))}),
			"period":  obj(map[string]any{"key": str, "start": instant, "end": instant, "closed": boolean}),
			"node":    obj(map[string]any{"kind": str, "id": str, "name": str}),
			"ranking": map[string]any{"type": "string", "enum": []string{"competition"}},
			"awarded": obj(map[string]any{"at": instant, "by": str, "version": integer}), "provisionalTitles": boolean,
			"rows": arr(row)}),
		"ScorecardAward":        obj(map[string]any{"created": boolean, "award": award}),
		"ScorecardAwardList":    obj(map[string]any{"items": arr(award)}),
		"ScorecardAwardRequest": obj(map[string]any{"period": str}, "period"),
	}
}
