package presign

import (
	"fmt"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration value, scoped to the
// field that holds it. Field is the path of that field inside the value
// that was validated, in the configuration file's names ("endpoint",
// "keys[2]", "who.api_keys[0]"); "" is the value as a whole. Message says
// what is wrong and how to fix it, and never quotes a secret.
//
// Every package that owns a configuration type validates it once and
// returns its Problems; the reader of the configuration (internal/config)
// only locates each one (file and line, or environment variable).
type Problem struct {
	Field   string
	Message string
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Problems is a list of Problems; the empty list means valid.
type Problems []Problem

// Addf records a problem with field.
func (ps *Problems) Addf(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Append records every problem of more, their fields prefixed by prefix
// (see [Join]).
func (ps *Problems) Append(prefix string, more Problems) {
	for _, p := range more {
		*ps = append(*ps, Problem{Field: Join(prefix, p.Field), Message: p.Message})
	}
}

// Err returns the problems as one error (one problem per line), or nil
// when there are none.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Join appends a field path to a prefix: Join("backends[1]", "endpoint")
// is "backends[1].endpoint"; an index ("[2]") or an empty side joins
// without a dot.
func Join(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case field[0] == '[':
		return prefix + field
	}
	return prefix + "." + field
}

// Index is the path of element i of the list at path: Index("keys", 2) is
// "keys[2]".
func Index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
