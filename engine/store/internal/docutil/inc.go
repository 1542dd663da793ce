package docutil

import (
	"fmt"
	"sort"
	"strings"

	"stride/engine/store"
)

// CheckInc validates the arguments of an Inc call and returns setOnInsert's
// fields without the reserved keys (which are ignored), their values
// normalized. Paths of both must be valid (CheckPath), inc must not touch a
// reserved key, and no path may equal another or be a prefix of it (MongoDB
// rejects such updates).
func CheckInc(inc map[string]int64, setOnInsert store.Doc) (map[string]any, error) {
	if err := checkIncPaths(inc, setOnInsert); err != nil {
		return nil, err
	}
	soi := make(map[string]any, len(setOnInsert))
	for k, v := range setOnInsert {
		if IsReserved(k) {
			continue
		}
		n, err := Normalize(v, 1)
		if err != nil {
			return nil, fmt.Errorf("setOnInsert %q: %w", k, err)
		}
		soi[k] = n
	}
	return soi, nil
}

func checkIncPaths(inc map[string]int64, setOnInsert store.Doc) error {
	paths := make([]string, 0, len(inc)+len(setOnInsert))
	for p := range inc {
		if IsReserved(p) {
			return fmt.Errorf("cannot increment %q: %w", p, store.ErrInvalid)
		}
		if err := CheckPath(p); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	for p := range setOnInsert {
		if IsReserved(p) {
			continue
		}
		if err := CheckPath(p); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for i, a := range paths {
		for _, b := range paths[i+1:] {
			if a == b || strings.HasPrefix(b, a+".") || strings.HasPrefix(a, b+".") {
				return fmt.Errorf("conflicting update paths %q and %q: %w", a, b, store.ErrInvalid)
			}
		}
	}
	return nil
}
