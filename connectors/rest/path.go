package rest

import (
	"slices"
	"strconv"
	"strings"
)

// lookup follows a dotted path like "data.items" or "pages.0.next" through decoded
// JSON; a number indexes a list. It returns false when a step is missing. An empty
// path returns doc itself. Keys that contain dots cannot be reached.
func lookup(doc any, path string) (any, bool) {
	if path == "" {
		return doc, true
	}
	cur := doc
	for _, step := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[step]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
