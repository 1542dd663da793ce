package pipeline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"stride/engine/apperr"
	"stride/engine/auth"
	"stride/engine/objects"
	"stride/engine/period"
	"stride/engine/records"
	"stride/engine/rules"
	"stride/engine/store"
)

// Codes of refused transitions (apperr.Error.Code of the 422, and the code
// of its field errors).
const (
	CodeNoPipeline     = "no_pipeline"     // the record is not governed by any pipeline
	CodeUnknownStage   = "unknown_stage"   // /to is not a stage of the record's pipeline
	CodeSameStage      = "same_stage"      // the record is already in /to
	CodeTerminalStage  = "terminal_stage"  // the record is in a terminal stage
	CodeBackwardMove   = "backward_move"   // /to is earlier and the pipeline forbids it
	CodeRequiredFields = "required_fields" // fields required by /to are empty (one field error each, code "required")
	CodeGuardRefused   = "guard_refused"   // /to's enterIf is false
	CodeGuardError     = "guard_error"     // /to's enterIf failed to evaluate
	CodeUseTransition  = "use_transition"  // a patch tried to change the stage field
)

// Via is the records.Write.Via of a transition.
const Via = "transition"

// Entry is one stage-history entry.
type Entry struct {
	Stage     string     `json:"stage"`
	EnteredAt time.Time  `json:"enteredAt"`
	ExitedAt  *time.Time `json:"exitedAt"`
	By        string     `json:"by"`
	Note      string     `json:"note,omitempty"`
}

// History reads a record's stage history from its meta, oldest first.
// Entries that cannot be read are skipped.
func History(meta map[string]any) []Entry {
	raw, _ := meta[MetaHistory].([]any)
	out := make([]Entry, 0, len(raw))
	for _, r := range raw {
		if e, ok := entryOf(r); ok {
			out = append(out, e)
		}
	}
	return out
}

func entryOf(r any) (Entry, bool) {
	m, ok := r.(map[string]any)
	if !ok {
		return Entry{}, false
	}
	var e Entry
	e.Stage, _ = m["stage"].(string)
	e.By, _ = m["by"].(string)
	e.Note, _ = m["note"].(string)
	s, _ := m["enteredAt"].(string)
	t, err := period.ParseInstant(s)
	if err != nil || e.Stage == "" {
		return Entry{}, false
	}
	e.EnteredAt = t
	if s, ok := m["exitedAt"].(string); ok {
		x, err := period.ParseInstant(s)
		if err != nil {
			return Entry{}, false
		}
		e.ExitedAt = &x
	}
	return e, true
}

// entryDoc is an entry in stored form.
func entryDoc(stage string, at time.Time, by, note string) map[string]any {
	m := map[string]any{"stage": stage, "enteredAt": period.FormatInstant(at), "exitedAt": nil, "by": by}
	if note != "" {
		m["note"] = note
	}
	return m
}

// refuse builds a 422 with one code.
func refuse(code, msg string, fields ...apperr.FieldError) *apperr.Error {
	return &apperr.Error{Kind: apperr.KindInvalid, Code: code, Message: msg, Fields: fields}
}

// Transition moves a record to stage to through records.Update (so the
// record is revalidated, recomputed and written with optimistic concurrency
// at ifVersion, 0 = as read) and appends to its stage history.
//
// It refuses with a 422 whose Code is one of the Code* constants. A refused
// guard answers with the stage's message in English as the problem's
// message and field message (Chinese when the stage has no English text),
// and with both languages in the extra member "stageMessage"
// ({"zh-CN": …, "en": …}) for the UI to pick from. Required fields and the
// guard are checked together, so one answer lists every empty required field
// (pointer /<field>, code "required") and the guard's refusal (pointer /to);
// the problem's Code is required_fields when any field is missing.
func (s *Service) Transition(ctx context.Context, db store.DB, p *auth.Principal, object, id, to, note string, ifVersion int64) (records.Record, error) {
	if s.recs == nil {
		return records.Record{}, fmt.Errorf("pipeline: Attach the records service before transitions")
	}
	return s.recs.Update(ctx, db, p, object, id, ifVersion, Via, func(r *records.Record) error {
		obj, err := s.objs.Published(ctx, db, p.Tenant, object)
		if err != nil {
			return err
		}
		c, err := s.governing(ctx, db, p.Tenant, object, r.Data, r.Meta)
		if err != nil {
			return err
		}
		if c == nil {
			return refuse(CodeNoPipeline, fmt.Sprintf("no published pipeline governs this %s record", object))
		}
		from, _ := r.Data[c.StageField].(string)
		if from == "" {
			from = c.Stages[0].Key
		}
		if err := s.check(c, obj, p, r, from, to); err != nil {
			return err
		}
		now := records.Stamp(ctx, s.now)
		hist, _ := r.Meta[MetaHistory].([]any)
		hist = append([]any(nil), hist...)
		open := false
		for i := len(hist) - 1; i >= 0; i-- {
			m, ok := hist[i].(map[string]any)
			if ok && m["exitedAt"] == nil {
				cp := make(map[string]any, len(m))
				for k, v := range m {
					cp[k] = v
				}
				cp["exitedAt"] = period.FormatInstant(now)
				hist[i] = cp
				open = true
				break
			}
		}
		if !open {
			// A record that predates its pipeline: its first stage has been
			// current since the record was created.
			start := now
			if t, err := period.ParseInstant(r.CreatedAt); err == nil {
				start = t
			}
			e := entryDoc(from, start, r.CreatedBy, "")
			e["exitedAt"] = period.FormatInstant(now)
			hist = append(hist, e)
		}
		hist = append(hist, entryDoc(to, now, p.UserID, note))
		if r.Meta == nil {
			r.Meta = map[string]any{}
		}
		r.Data[c.StageField] = to
		r.Meta[MetaHistory] = hist
		r.Meta[MetaPipeline] = c.Key
		return nil
	})
}

// check applies the transition rules of c to a move from → to.
func (s *Service) check(c *Compiled, obj *objects.Compiled, p *auth.Principal, r *records.Record, from, to string) error {
	target, ti, ok := c.Stage(to)
	if !ok {
		keys := make([]string, len(c.Stages))
		for i, st := range c.Stages {
			keys[i] = st.Key
		}
		msg := fmt.Sprintf("%q is not a stage of pipeline %s (stages: %s)", to, c.Key, strings.Join(keys, ", "))
		return refuse(CodeUnknownStage, msg, apperr.FieldError{Pointer: "/to", Code: CodeUnknownStage, Message: msg, Hint: rules.DidYouMean(to, keys)})
	}
	name := english(target.Label, to)
	if from == to {
		msg := fmt.Sprintf("the record is already in stage %s", name)
		return refuse(CodeSameStage, msg, apperr.FieldError{Pointer: "/to", Code: CodeSameStage, Message: msg})
	}
	if cur, fi, ok := c.Stage(from); ok {
		if cur.Terminal != "" {
			msg := fmt.Sprintf("the record is closed in terminal stage %s (%s) and cannot move to %s", english(cur.Label, from), cur.Terminal, name)
			return refuse(CodeTerminalStage, msg, apperr.FieldError{Pointer: "/to", Code: CodeTerminalStage, Message: msg})
		}
		if ti < fi && !c.AllowBackward {
			msg := fmt.Sprintf("pipeline %s does not allow moving back from %s to %s", c.Key, english(cur.Label, from), name)
			return refuse(CodeBackwardMove, msg, apperr.FieldError{Pointer: "/to", Code: CodeBackwardMove, Message: msg})
		}
	}
	var fe []apperr.FieldError
	var missing []string
	for _, f := range target.RequiredFields {
		if isEmpty(r.Data[f]) {
			l := fieldLabel(obj, f)
			missing = append(missing, l)
			fe = append(fe, apperr.FieldError{Pointer: "/" + f, Code: "required",
				Message: fmt.Sprintf("%s is required to enter stage %s", l, name)})
		}
	}
	var extra map[string]string
	if target.EnterIf != nil {
		env := obj.Schema.ToEnv(r.Data)
		roles := make([]any, len(p.Roles))
		for i, role := range p.Roles {
			roles[i] = string(role)
		}
		env["from"], env["to"] = from, to
		env["user"] = map[string]any{"id": p.UserID, "username": p.Username, "roles": roles}
		ok, err := target.EnterIf.Run(env)
		switch {
		case err != nil:
			msg := fmt.Sprintf("the entry condition of stage %s could not be evaluated: %v", name, err)
			return refuse(CodeGuardError, msg, append(fe, apperr.FieldError{Pointer: "/to", Code: CodeGuardError, Message: msg})...)
		case ok != true:
			msg := english(target.Message, fmt.Sprintf("the record does not meet the entry condition of stage %s", name))
			fe = append(fe, apperr.FieldError{Pointer: "/to", Code: CodeGuardRefused, Message: msg})
			extra = target.Message
		}
	}
	if len(fe) == 0 {
		return nil
	}
	var e *apperr.Error
	if len(missing) > 0 {
		e = refuse(CodeRequiredFields, fmt.Sprintf("stage %s requires %s", name, strings.Join(missing, ", ")), fe...)
	} else {
		e = refuse(CodeGuardRefused, fe[len(fe)-1].Message, fe...)
	}
	if extra != nil {
		e.With("stageMessage", extra)
	}
	return e
}

// fieldLabel returns a field's English label, falling back to its name.
func fieldLabel(c *objects.Compiled, name string) string {
	if hints, ok := c.Definition["fields"].(map[string]any); ok {
		if h, ok := hints[name].(map[string]any); ok {
			if l := english(text(h["label"]), ""); l != "" {
				return l
			}
		}
	}
	return name
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// Attach connects the service to the record write path: Transition writes
// through recs, and the service's Hook is registered on it. Call it once
// while wiring the application.
func (s *Service) Attach(recs *records.Service) {
	s.recs = recs
	recs.Use(s.Hook())
}

// Hook keeps stage history on every write path (registered by Attach).
type Hook struct{ s *Service }

// Hook returns the records hook of the service.
func (s *Service) Hook() *Hook { return &Hook{s: s} }

// BeforeWrite starts the stage history of a new governed record (its stage
// field, or the pipeline's first stage when empty, which it then sets) and
// refuses a patch that changes the stage field of a governed record.
// A record may be created in any stage of its pipeline (imports of
// historical deals), but not in a value that is not one of its stages.
func (h *Hook) BeforeWrite(ctx context.Context, w *records.Write) error {
	switch w.Via {
	case "create":
		c, err := h.s.ForRecord(ctx, w.DB, w.Principal.Tenant, w.Object.Key, w.New.Data)
		if err != nil || c == nil {
			return err
		}
		stage, _ := w.New.Data[c.StageField].(string)
		if stage == "" {
			stage = c.Stages[0].Key
			w.New.Data[c.StageField] = stage
		} else if _, _, ok := c.Stage(stage); !ok {
			return refuse(CodeUnknownStage, fmt.Sprintf("%q is not a stage of pipeline %s", stage, c.Key),
				apperr.FieldError{Pointer: "/" + c.StageField, Code: CodeUnknownStage, Message: fmt.Sprintf("%q is not a stage of pipeline %s", stage, c.Key)})
		}
		if w.New.Meta == nil {
			w.New.Meta = map[string]any{}
		}
		w.New.Meta[MetaHistory] = []any{entryDoc(stage, records.Stamp(ctx, h.s.now), w.Principal.UserID, "")}
		w.New.Meta[MetaPipeline] = c.Key
	case "patch":
		if w.Old == nil {
			return nil
		}
		c, err := h.s.governing(ctx, w.DB, w.Principal.Tenant, w.Object.Key, w.Old.Data, w.Old.Meta)
		if err != nil || c == nil {
			return err
		}
		was, _ := w.Old.Data[c.StageField].(string)
		now, _ := w.New.Data[c.StageField].(string)
		if was != now {
			msg := fmt.Sprintf("%s is governed by pipeline %s; change it with a transition", c.StageField, c.Key)
			return refuse(CodeUseTransition, "move the record through its pipeline with a transition",
				apperr.FieldError{Pointer: "/" + c.StageField, Code: CodeUseTransition, Message: msg})
		}
	}
	return nil
}

// AfterWrite does nothing: the history is stored with the record itself.
func (h *Hook) AfterWrite(context.Context, *records.Write) {}
