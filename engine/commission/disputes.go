package commission

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/audit"
	"stride/engine/auth"
	"stride/engine/ids"
	"stride/engine/period"
	"stride/engine/store"
)

// Dispute statuses.
const (
	DisputeOpen     = "open"
	DisputeAccepted = "accepted"
	DisputeRejected = "rejected"
)

// Dispute is a rep's objection to one line of their statement
// and how it was resolved.
type Dispute struct {
	ID         string `json:"id"`
	Statement  string `json:"statement"`
	Line       string `json:"line"`
	Plan       string `json:"plan"`
	Period     string `json:"period"`
	Rep        string `json:"rep"`
	Record     string `json:"record,omitempty"`
	LineAmount int64  `json:"lineAmount"`
	Status     string `json:"status"`
	Comment    string `json:"comment"`
	// Decision, Amount (accepted, minor units) and Reason say how it was
	// resolved; Adjustment is where the accepted amount went.
	Decision   string         `json:"decision,omitempty"`
	Amount     *int64         `json:"amount,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Adjustment *AdjustmentRef `json:"adjustment,omitempty"`
	History    []DisputeEvent `json:"history"`
	CreatedBy  string         `json:"createdBy"`
	CreatedAt  time.Time      `json:"createdAt"`
	Version    int64          `json:"version"`
}

// AdjustmentRef points at an adjustment line.
type AdjustmentRef struct {
	Statement string `json:"statement"`
	Line      string `json:"line"`
}

// DisputeEvent is one step of a dispute's history.
type DisputeEvent struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"` // raise, accept, reject
	Note   string    `json:"note,omitempty"`
	Amount *int64    `json:"amount,omitempty"`
}

func disputeFrom(d store.Doc) (*Dispute, error) {
	var x Dispute
	if err := decodeInto(d, &x); err != nil {
		return nil, err
	}
	x.ID, x.Version = store.ID(d), store.Version(d)
	if x.History == nil {
		x.History = []DisputeEvent{}
	}
	return &x, nil
}

func (x *Dispute) doc() (store.Doc, error) {
	v, err := jsonValue(x)
	if err != nil {
		return nil, err
	}
	d := v.(map[string]any)
	delete(d, "id")
	delete(d, "version")
	d[store.KeyID] = x.ID
	d["createdAt"] = period.FormatInstant(x.CreatedAt) // sorts as text
	return d, nil
}

// RaiseInput is a new dispute.
type RaiseInput struct {
	Comment string `json:"comment"`
}

// Raise opens a dispute on a statement line: only the statement's rep may
// (their manager, finance or an admin resolve it, so nobody both raises and
// resolves the same dispute); one open dispute per line.
func (s *Service) Raise(ctx context.Context, db store.DB, p *auth.Principal, statementID, lineID string, in RaiseInput) (*Dispute, error) {
	st, err := s.Statement(ctx, db, p, statementID)
	if err != nil {
		return nil, err
	}
	if p.UserID != st.Rep {
		return nil, apperr.Forbidden("only the statement's rep can dispute a line; their manager, finance or an admin resolve disputes")
	}
	var line *Line
	for i := range st.Lines {
		if st.Lines[i].ID == lineID {
			line = &st.Lines[i]
		}
	}
	if line == nil {
		return nil, apperr.NotFound("statement %s has no line %s", statementID, lineID)
	}
	comment := strings.TrimSpace(in.Comment)
	if n := len([]rune(comment)); n == 0 || n > 2000 {
		return nil, apperr.Invalid("say what is wrong with the line", apperr.FieldError{Pointer: "/comment", Code: "required", Message: "1–2000 characters"})
	}
	n, err := db.Count(ctx, collDisputes, store.Query{Where: []store.Cond{{Field: "statement", Op: store.Eq, Value: statementID},
		{Field: "line", Op: store.Eq, Value: lineID}, {Field: "status", Op: store.Eq, Value: DisputeOpen}}})
	if err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, apperr.Conflict("dispute_open", "this line already has an open dispute")
	}
	now := s.Now().UTC()
	x := &Dispute{ID: ids.New("dsp"), Statement: st.ID, Line: lineID, Plan: st.Plan, Period: st.Period, Rep: st.Rep, Record: line.Record,
		LineAmount: line.Amount, Status: DisputeOpen, Comment: comment, CreatedBy: p.UserID, CreatedAt: now,
		History: []DisputeEvent{{At: now, By: p.UserID, Action: "raise", Note: comment}}}
	d, err := x.doc()
	if err != nil {
		return nil, err
	}
	if x.Version, err = db.Insert(ctx, collDisputes, d); err != nil {
		return nil, fmt.Errorf("raise dispute: %w", err)
	}
	return x, audit.Append(ctx, db, p.UserID, "dispute.raise", "statement:"+st.ID, map[string]any{"dispute": x.ID, "line": lineID})
}

// DisputeQuery selects disputes.
type DisputeQuery struct {
	Status, Rep, Statement string
	Limit                  int
}

// Disputes lists the disputes p may see, newest first.
func (s *Service) Disputes(ctx context.Context, db store.DB, p *auth.Principal, q DisputeQuery) ([]*Dispute, error) {
	vis, err := visibility(ctx, db, p)
	if err != nil {
		return nil, err
	}
	where, ok := listWhere(ListQuery{Status: q.Status, Rep: q.Rep}, vis)
	if !ok {
		return []*Dispute{}, nil
	}
	if q.Statement != "" {
		where = append(where, store.Cond{Field: "statement", Op: store.Eq, Value: q.Statement})
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 200
	}
	page, err := db.Find(ctx, collDisputes, store.Query{Where: where, Sort: []store.SortKey{{Field: "createdAt", Desc: true}}, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]*Dispute, 0, len(page.Docs))
	for _, d := range page.Docs {
		x, err := disputeFrom(d)
		if err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, nil
}

// ResolveInput decides a dispute.
type ResolveInput struct {
	Decision string `json:"decision"` // accept or reject
	Amount   *int64 `json:"amount"`   // accept: the adjustment, minor units (≠ 0)
	Reason   string `json:"reason"`   // reject: required
}

// Resolve accepts a dispute (an adjustment line of Amount in the same
// statement if it is still a draft, else in the rep's next open period) or
// rejects it with a reason. The rep's manager, finance or an admin may —
// never the rep.
func (s *Service) Resolve(ctx context.Context, db store.DB, tenant string, p *auth.Principal, id string, in ResolveInput) (*Dispute, error) {
	d, err := db.Get(ctx, collDisputes, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apperr.NotFound("dispute %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	x, err := disputeFrom(d)
	if err != nil {
		return nil, err
	}
	vis, err := visibility(ctx, db, p)
	if err != nil {
		return nil, err
	}
	if !vis.Allows(x.Rep) {
		return nil, apperr.NotFound("dispute %s not found", id)
	}
	ok, err := canApprove(ctx, db, p, x.Rep)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Forbidden("only the rep's manager, finance or an admin can resolve a dispute")
	}
	if x.Status != DisputeOpen {
		return nil, apperr.Conflict("dispute_resolved", "the dispute was already %s", x.Status).With("status", x.Status)
	}
	reason := strings.TrimSpace(in.Reason)
	if len([]rune(reason)) > 2000 {
		return nil, apperr.Invalid("the reason is too long", apperr.FieldError{Pointer: "/reason", Code: "max_length", Message: "at most 2000 characters"})
	}
	now := s.Now().UTC()
	switch in.Decision {
	case "reject":
		if reason == "" {
			return nil, apperr.Invalid("say why the dispute is rejected", apperr.FieldError{Pointer: "/reason", Code: "required", Message: "a rejection needs a reason"})
		}
		x.Status = DisputeRejected
	case "accept":
		if in.Amount == nil || *in.Amount == 0 {
			return nil, apperr.Invalid("say how much to adjust", apperr.FieldError{Pointer: "/amount", Code: "required",
				Message: "the adjustment in minor units (分), not 0; negative to reduce"})
		}
		ref, err := s.disputeAdjustment(ctx, db, tenant, p, x, *in.Amount, reason)
		if err != nil {
			return nil, err
		}
		x.Status, x.Amount, x.Adjustment = DisputeAccepted, in.Amount, ref
	default:
		return nil, apperr.Invalid("decide accept or reject", apperr.FieldError{Pointer: "/decision", Code: "enum", Message: "accept or reject"})
	}
	x.Decision, x.Reason = in.Decision, reason
	x.History = append(x.History, DisputeEvent{At: now, By: p.UserID, Action: in.Decision, Note: reason, Amount: in.Amount})
	nd, err := x.doc()
	if err != nil {
		return nil, err
	}
	v, err := db.Replace(ctx, collDisputes, nd, x.Version)
	if errors.Is(err, store.ErrConflict) {
		return nil, apperr.Conflict("version_conflict", "the dispute was changed meanwhile; reload it")
	}
	if err != nil {
		return nil, fmt.Errorf("resolve dispute %s: %w", id, err)
	}
	x.Version = v
	detail := map[string]any{"dispute": x.ID, "decision": in.Decision, "reason": reason}
	if in.Amount != nil && in.Decision == "accept" {
		detail["amount"] = *in.Amount
	}
	return x, audit.Append(ctx, db, p.UserID, "dispute."+in.Decision, "statement:"+x.Statement, detail)
}

// disputeAdjustment writes an accepted dispute's adjustment line (keyed by
// the dispute, so a retried accept replaces it) and says where it went.
func (s *Service) disputeAdjustment(ctx context.Context, db store.DB, tenant string, p *auth.Principal, x *Dispute, amount int64, reason string) (*AdjustmentRef, error) {
	src := Source{Dispute: x.ID}
	note := reason
	if note == "" {
		note = x.Comment
	}
	l := adjustmentLine(src, x.Record, "", amount,
		fmt.Sprintf("申诉 %s 已受理（%s 期第 %s 行）：%s", x.ID, x.Period, x.Line, note),
		fmt.Sprintf("Dispute %s accepted (period %s, line %s): %s", x.ID, x.Period, x.Line, note))
	group := func(s *Source) bool { return s.Dispute == x.ID }
	for attempt := 0; ; attempt++ {
		st, err := s.load(ctx, db, x.Statement)
		if err != nil {
			return nil, err
		}
		if st.Locked() {
			break
		}
		if replaceGroup(st, group, []Line{l}) {
			st.retotal()
			st.History = append(st.History, Event{At: s.Now().UTC(), By: p.UserID, Action: "adjust", Note: "dispute " + x.ID})
			_, err = putStatement(ctx, db, st)
			if errors.Is(err, store.ErrConflict) && attempt < 3 {
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		return &AdjustmentRef{Statement: st.ID, Line: l.ID}, nil
	}
	// Locked: the rep's next open period.
	st, err := s.load(ctx, db, x.Statement)
	if err != nil {
		return nil, err
	}
	pl, err := s.version(ctx, db, tenant, x.Plan, st.PlanVersion)
	if err != nil {
		return nil, err
	}
	cal, err := s.calendar(ctx, tenant)
	if err != nil {
		return nil, err
	}
	per, err := cal.Parse(x.Period)
	if err != nil {
		return nil, err
	}
	id, err := s.placeAdjustments(ctx, db, pl, cal, x.Rep, st.RepName, per, group, map[string]Line{src.key(): l}, p.UserID)
	if err != nil {
		return nil, err
	}
	if id == "" { // already there (a retried accept)
		sts, err := repStatements(ctx, db, x.Plan, x.Rep)
		if err != nil {
			return nil, err
		}
		for _, o := range sts {
			for _, ol := range o.adjustments() {
				if group(ol.Source) {
					id = o.ID
				}
			}
		}
	}
	return &AdjustmentRef{Statement: id, Line: l.ID}, nil
}

// decodeInto reads a stored document into a struct through its JSON form.
func decodeInto(d store.Doc, v any) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
