package soak

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWarmup(t *testing.T) {
	tests := []struct {
		d, want time.Duration
	}{
		{5 * time.Second, 5 * time.Second}, // shorter than 10 s: all of it
		{30 * time.Second, 10 * time.Second},
		{60 * time.Second, 12 * time.Second},
		{10 * time.Minute, 2 * time.Minute},
	}
	for _, test := range tests {
		if got := Warmup(test.d); got != test.want {
			t.Errorf("Warmup(%v) = %v, want %v", test.d, got, test.want)
		}
	}
}

// series returns samples every 2 s over d, each from f(at).
func series(d time.Duration, f func(at time.Duration) Sample) []Sample {
	var out []Sample
	for at := time.Duration(0); at <= d; at += 2 * time.Second {
		s := f(at)
		s.At = at
		out = append(out, s)
	}
	return out
}

func flat(time.Duration) Sample { return Sample{RSS: 30 << 20, Goroutines: 12, FDs: 12} }

func TestGrowth(t *testing.T) {
	const d = 60 * time.Second // warm-up 12 s; thirds [12,28) and [44,60]
	tol := DefaultTolerance
	tests := []struct {
		name    string
		samples []Sample
		tol     Tolerance
		want    []bool // RSS, goroutines, fds
	}{
		{"flat", series(d, flat), tol, []bool{true, true, true}},
		{"growth during warm-up only", series(d, func(at time.Duration) Sample {
			if at < 12*time.Second {
				return Sample{RSS: 5 << 20, Goroutines: 2, FDs: 3}
			}
			return flat(at)
		}), tol, []bool{true, true, true}},
		{"RSS up 4 MiB (the floor) is allowed", series(d, func(at time.Duration) Sample {
			s := flat(at)
			if at >= 44*time.Second {
				s.RSS += 4 << 20
			}
			return s
		}), tol, []bool{true, true, true}},
		{"RSS up 4 MiB and a byte is not", series(d, func(at time.Duration) Sample {
			s := flat(at)
			if at >= 44*time.Second {
				s.RSS += 4<<20 + 1
			}
			return s
		}), tol, []bool{false, true, true}},
		{"RSS: 10% of a large first third", series(d, func(at time.Duration) Sample {
			s := Sample{RSS: 100 << 20, Goroutines: 12, FDs: 12}
			if at >= 44*time.Second {
				s.RSS += 10 << 20 // +10%: allowed
			}
			return s
		}), tol, []bool{true, true, true}},
		{"steady leak", series(d, func(at time.Duration) Sample {
			n := int(at / time.Second)
			return Sample{RSS: 30<<20 + int64(n)<<18, Goroutines: 10 + n/2, FDs: 10 + n/3}
		}), tol, []bool{false, false, false}},
		{"goroutines +10 allowed, +11 not", series(d, func(at time.Duration) Sample {
			s := flat(at)
			if at >= 44*time.Second {
				s.Goroutines += 11
				s.FDs += 10
			}
			return s
		}), tol, []bool{true, false, true}},
		{"one spike in the last third is not growth", series(d, func(at time.Duration) Sample {
			s := flat(at)
			if at == 50*time.Second {
				s.RSS, s.Goroutines, s.FDs = 500<<20, 500, 500
			}
			return s
		}), tol, []bool{true, true, true}},
		{"shrinking is fine", series(d, func(at time.Duration) Sample {
			s := flat(at)
			if at >= 44*time.Second {
				s.RSS, s.Goroutines, s.FDs = 1<<20, 1, 1
			}
			return s
		}), tol, []bool{true, true, true}},
		{"too few samples in the last third", series(46*time.Second, flat), tol, []bool{false, false, false}},
		{"no samples", nil, tol, []bool{false, false, false}},
	}
	// The steady leak's medians are the samples at 18 s and 52 s: RSS
	// +8.5 MiB (256 KiB/s), goroutines 19 → 36, fds 16 → 27: each over.
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			checks := Growth(test.samples, d, test.tol)
			var got []bool
			for _, c := range checks {
				got = append(got, c.OK)
			}
			if diff := cmp.Diff(test.want, got); diff != "" {
				t.Errorf("Growth: OK per check (-want +got):\n%s\n%s", diff, Table(checks))
			}
		})
	}
}

func TestGrowthRows(t *testing.T) {
	samples := series(60*time.Second, func(at time.Duration) Sample {
		s := flat(at)
		if at >= 44*time.Second {
			s.RSS += 1 << 20
			s.FDs += 11
		}
		return s
	})
	got := Growth(samples, 60*time.Second, DefaultTolerance)
	want := []Check{
		{Name: "RSS (median)", First: "30.0 MiB", Got: "31.0 MiB", Limit: "≤ 34.0 MiB (+4.0 MiB)", OK: true},
		{Name: "goroutines (median)", First: "12", Got: "12", Limit: "≤ 22 (+10)", OK: true},
		{Name: "open fds (median)", First: "12", Got: "23", Limit: "≤ 22 (+10)", OK: false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Growth (-want +got):\n%s", diff)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		values []int64
		want   int64
	}{
		{[]int64{7}, 7},
		{[]int64{3, 1, 2}, 2},
		{[]int64{4, 1, 3, 2}, 2}, // the lower middle one
		{[]int64{5, 5, 100, 5}, 5},
	}
	for _, test := range tests {
		samples := make([]Sample, len(test.values))
		for i, v := range test.values {
			samples[i].RSS = v
		}
		if got := median(samples, func(s Sample) int64 { return s.RSS }); got != test.want {
			t.Errorf("median(%v) = %d, want %d", test.values, got, test.want)
		}
	}
}

func TestPassed(t *testing.T) {
	tests := []struct {
		name   string
		checks []Check
		want   bool
	}{
		{"none", nil, false},
		{"all ok", []Check{Zero("a", 0), Zero("b", 0)}, true},
		{"one failing", []Check{Zero("a", 0), Zero("b", 1)}, false},
	}
	for _, test := range tests {
		if got := Passed(test.checks); got != test.want {
			t.Errorf("%s: Passed = %v, want %v", test.name, got, test.want)
		}
	}
}

func TestTable(t *testing.T) {
	got := Table([]Check{Zero("responses 5xx", 0), {Name: "RSS (median)", First: "30.0 MiB", Got: "40.0 MiB", Limit: "≤ 34.0 MiB (+4.0 MiB)"}})
	want := [][]string{
		{"criterion", "first third", "last third / count", "limit", "result"},
		{"responses 5xx", "-", "0", "0", "ok"},
		{"RSS (median)", "30.0 MiB", "40.0 MiB", "≤ 34.0 MiB (+4.0 MiB)", "FAIL"},
	}
	var cells [][]string
	for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		cells = append(cells, regexp.MustCompile(` {2,}`).Split(strings.TrimSpace(line), -1))
	}
	if diff := cmp.Diff(want, cells); diff != "" {
		t.Errorf("Table's cells (-want +got):\n%s\n%s", diff, got)
	}
}
