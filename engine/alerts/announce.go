package alerts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/plugin"
	"stride/engine/scorecard"
	"stride/engine/store"
)

// Announce implements scorecard.Announcer: a period's recognition titles
// (月度之星 …) go out through every enabled notifier, and to each winner's
// inbox. An award is announced once (its event id derives from the
// scorecard and period).
func (s *Service) Announce(ctx context.Context, tenant string, a *scorecard.Award) error {
	if s.tenants == nil || a == nil || len(a.Winners) == 0 {
		return nil
	}
	db, err := s.tenants.DB(ctx, tenant)
	if err != nil {
		return err
	}
	if err := s.declare(ctx, db); err != nil {
		return err
	}
	var zh, en strings.Builder
	var recips []plugin.Recipient
	for _, w := range a.Winners {
		var tz, te []string
		for _, t := range w.Titles {
			tz = append(tz, firstNonEmpty(t.Title["zh-CN"], t.Title["en"], t.Key))
			te = append(te, firstNonEmpty(t.Title["en"], t.Title["zh-CN"], t.Key))
		}
		fmt.Fprintf(&zh, "- 🏆 **%s** · 第 %d 名 · %s 分 · %s\n", w.User.Name, w.Rank, formatNumber(w.Score), strings.Join(tz, "、"))
		fmt.Fprintf(&en, "- 🏆 **%s** · rank %d · score %s · %s\n", w.User.Name, w.Rank, formatNumber(w.Score), strings.Join(te, ", "))
		recips = append(recips, plugin.Recipient{UserID: w.User.ID, Name: w.User.Name})
	}
	now := s.now()
	msg := plugin.Message{Severity: plugin.SeverityInfo, Alert: "scorecard:" + a.Scorecard, Event: ids.New("evt"), At: now, Recipients: recips,
		Texts: map[string]plugin.Text{
			"zh-CN": {Title: fmt.Sprintf("%s 荣誉榜", a.Period), Body: "恭喜以下同事:\n\n" + zh.String()},
			"en":    {Title: fmt.Sprintf("%s recognition", a.Period), Body: "Congratulations to:\n\n" + en.String()}}}
	msg.Title, msg.Body = msg.Texts["zh-CN"].Title, msg.Texts["zh-CN"].Body
	doc := store.Doc{store.KeyID: hash("award", a.Scorecard, a.Period), "alert": msg.Alert, "dedupe": a.Period, "firedAt": period.FormatInstant(now),
		"event": msg.Event, "message": messageDoc(msg), "channels": []any{}, "materialized": false, "count": int64(1)}
	v, err := db.Insert(ctx, collEvents, doc)
	if err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil
		}
		return err
	}
	doc[store.KeyVersion] = v
	if err := s.materialize(ctx, db, tenant, doc); err != nil {
		return err
	}
	s.dispatchSoon(ctx, db, tenant)
	return nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

var _ scorecard.Announcer = (*Service)(nil)
