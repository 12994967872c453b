package soak

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Sample is one reading of the server process, taken At this long after
// the run began.
type Sample struct {
	At         time.Duration
	RSS        int64 // bytes (VmRSS)
	Goroutines int   // go_goroutines of /metrics
	FDs        int   // entries of /proc/PID/fd
}

// Tolerance is how much a resource may grow between the first and the
// last third of the run after warm-up before the soak calls it growth.
//
// RSS: the larger of RSSFraction of the first third's median and
// RSSBytes. The Go heap breathes with the GC pacer (GOGC 100: up to twice
// the live heap) and the scavenger returns memory minutes later, so a few
// MiB come and go on a healthy server; a leak of 1 KiB per request at 40
// requests/s is 24 MiB over ten minutes, far over either bound.
// Goroutines and FDs: absolute counts. Each keep-alive connection holds one
// goroutine and one descriptor on the server (and the server's own
// connections to the store the same), and how many are open at a sample
// depends on which requests were in flight; a handful either way is noise,
// while a leak of one per upload is hundreds over ten minutes.
type Tolerance struct {
	RSSFraction float64
	RSSBytes    int64
	Goroutines  int
	FDs         int
}

// DefaultTolerance is the soak's: RSS +10% or +4 MiB, goroutines +10,
// descriptors +10.
var DefaultTolerance = Tolerance{RSSFraction: 0.10, RSSBytes: 4 << 20, Goroutines: 10, FDs: 10}

// Warmup returns the part of a run of duration d that growth is not
// judged on: its first 20%, and at least 10 s (or the whole run, when it
// is shorter than that).
func Warmup(d time.Duration) time.Duration {
	return min(d, max(d/5, 10*time.Second))
}

// minPerThird is how many samples each third needs for its median to mean
// something.
const minPerThird = 3

// Check is one pass criterion and how the run did against it.
type Check struct {
	Name  string
	First string // the first post-warm-up third's median ("" for counts)
	Got   string // the last third's median, or the count
	Limit string
	OK    bool
}

// Growth judges samples of a run of duration d: for each of RSS,
// goroutines and descriptors, the median of the last third of the time
// after Warmup(d) may exceed the first third's median by at most tol. A
// third with fewer than three samples fails its checks (the run was too
// short, or sampling failed).
func Growth(samples []Sample, d time.Duration, tol Tolerance) []Check {
	w := Warmup(d)
	third := (d - w) / 3
	var first, last []Sample
	for _, s := range samples {
		switch {
		case s.At >= w && s.At < w+third:
			first = append(first, s)
		case s.At >= d-third && s.At <= d:
			last = append(last, s)
		}
	}
	type resource struct {
		name  string
		value func(Sample) int64
		allow func(first int64) int64
		show  func(int64) string
	}
	resources := []resource{
		{"RSS (median)", func(s Sample) int64 { return s.RSS },
			func(f int64) int64 { return max(int64(float64(f)*tol.RSSFraction), tol.RSSBytes) }, mib},
		{"goroutines (median)", func(s Sample) int64 { return int64(s.Goroutines) },
			func(int64) int64 { return int64(tol.Goroutines) }, count},
		{"open fds (median)", func(s Sample) int64 { return int64(s.FDs) },
			func(int64) int64 { return int64(tol.FDs) }, count},
	}
	out := make([]Check, 0, len(resources))
	for _, r := range resources {
		if len(first) < minPerThird || len(last) < minPerThird {
			out = append(out, Check{Name: r.name, Got: fmt.Sprintf("%d and %d samples", len(first), len(last)),
				Limit: fmt.Sprintf("≥ %d samples per third", minPerThird)})
			continue
		}
		f, l := median(first, r.value), median(last, r.value)
		allow := r.allow(f)
		out = append(out, Check{Name: r.name, First: r.show(f), Got: r.show(l),
			Limit: "≤ " + r.show(f+allow) + " (+" + r.show(allow) + ")", OK: l <= f+allow})
	}
	return out
}

// median returns the median of value over samples (the lower middle one of
// an even count); samples is not empty.
func median(samples []Sample, value func(Sample) int64) int64 {
	vs := make([]int64, len(samples))
	for i, s := range samples {
		vs[i] = value(s)
	}
	slices.Sort(vs)
	return vs[(len(vs)-1)/2]
}

func mib(b int64) string   { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func count(n int64) string { return fmt.Sprint(n) }

// Zero is the check that a count is 0.
func Zero(name string, n int64) Check {
	return Check{Name: name, Got: fmt.Sprint(n), Limit: "0", OK: n == 0}
}

// Passed reports whether every check holds (and there is at least one).
func Passed(checks []Check) bool {
	for _, c := range checks {
		if !c.OK {
			return false
		}
	}
	return len(checks) > 0
}

// Table formats checks as an aligned text table, one row per check.
func Table(checks []Check) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "criterion\tfirst third\tlast third / count\tlimit\tresult")
	for _, c := range checks {
		result := "FAIL"
		if c.OK {
			result = "ok"
		}
		first := c.First
		if first == "" {
			first = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, first, c.Got, c.Limit, result)
	}
	tw.Flush()
	return b.String()
}
