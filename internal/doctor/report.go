package doctor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// maxText bounds one seen or fix text as printed.
const maxText = 4000

// WriteText writes r for people: per backend, one line per check (result,
// name, what was seen), and a "fix:" line under each that has one; then a
// count of the results. Every text is printed without control characters.
func (r Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if r.Origin != "" {
		fmt.Fprintf(bw, "presign doctor: bucket CORS checked for origin %s\n", clean(r.Origin, 200))
	} else {
		fmt.Fprintln(bw, "presign doctor: no origin to check bucket CORS for (--origin URL)")
	}
	for _, b := range r.Backends {
		name := "(unnamed)"
		if b.Backend != "" {
			name = strconv.Quote(clean(b.Backend, 100))
		}
		fmt.Fprintf(bw, "\nbackend %s: %s, bucket %s\n", name, clean(b.Endpoint, 300), clean(b.Bucket, 100))
		for _, c := range b.Checks {
			fmt.Fprintf(bw, "  %-4s  %-21s  %s\n", clean(string(c.Result), 8), clean(c.Name, 40), clean(c.Seen, maxText))
			if c.Fix != "" {
				fmt.Fprintf(bw, "  %-4s  %-21s  fix: %s\n", "", "", clean(c.Fix, maxText))
			}
		}
	}
	fmt.Fprintf(bw, "\n%d ok, %d warn, %d fail, %d skipped\n", r.Count(OK), r.Count(Warn), r.Count(Fail), r.Count(Skip))
	return bw.Flush()
}

// WriteJSON writes r for machines: {"origin", "backends": [{"backend",
// "endpoint", "bucket", "checks": [{"check", "result", "seen", "fix"}]}],
// "failed"}.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Report
		Failed bool `json:"failed"`
	}{r, r.Failed()})
}
