package soak

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name   string
		status string
		want   int64
		ok     bool
	}{
		{"kernel's format", "Name:\tpresign\nVmPeak:\t 1263508 kB\nVmRSS:\t   28120 kB\nRssAnon:\t   14080 kB\n", 28120 << 10, true},
		{"zero", "VmRSS:\t0 kB\n", 0, true},
		{"last line without newline", "Name:\tx\nVmRSS:\t12 kB", 12 << 10, true},
		{"missing (a kernel thread)", "Name:\tkthreadd\nState:\tS (sleeping)\n", 0, false},
		{"empty", "", 0, false},
		{"no unit", "VmRSS:\t28120\n", 0, false},
		{"another unit", "VmRSS:\t28 MB\n", 0, false},
		{"negative", "VmRSS:\t-5 kB\n", 0, false},
		{"not a number", "VmRSS:\tlots kB\n", 0, false},
		{"overflows bytes", fmt.Sprintf("VmRSS:\t%d kB\n", int64(math.MaxInt64/1024+1)), 0, false},
		{"largest", fmt.Sprintf("VmRSS:\t%d kB\n", int64(math.MaxInt64/1024)), math.MaxInt64 / 1024 * 1024, true},
		{"a prefix of another name", "VmRSSx:\t5 kB\n", 0, false},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := ParseVmRSS([]byte(test.status))
			if (err == nil) != test.ok {
				t.Fatalf("ParseVmRSS: error %v, want ok %v", err, test.ok)
			}
			if diff := cmp.Diff(test.want, got); diff != "" {
				t.Errorf("ParseVmRSS (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseGauge(t *testing.T) {
	const exposition = `# HELP go_gc_duration_seconds A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.
# TYPE go_gc_duration_seconds summary
go_gc_duration_seconds{quantile="0"} 2.6e-05
go_gc_duration_seconds_sum 0.000311
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 11
# HELP go_goroutines_max Not a real metric: a longer name.
go_goroutines_max 99
`
	tests := []struct {
		name, text, metric string
		want               float64
		ok                 bool
	}{
		{"client_golang's output", exposition, "go_goroutines", 11, true},
		{"a name another starts with", "go_goroutines_max 99\ngo_goroutines 7\n", "go_goroutines", 7, true},
		{"with a timestamp", "go_goroutines 12 1700000000000\n", "go_goroutines", 12, true},
		{"float", "process_resident_memory_bytes 2.8131328e+07\n", "process_resident_memory_bytes", 28131328, true},
		{"missing", "go_threads 7\n", "go_goroutines", 0, false},
		{"only in a comment", "# TYPE go_goroutines gauge\n", "go_goroutines", 0, false},
		{"labelled only", `go_goroutines{a="b"} 3` + "\n", "go_goroutines", 0, false},
		{"NaN", "go_goroutines NaN\n", "go_goroutines", 0, false},
		{"+Inf", "go_goroutines +Inf\n", "go_goroutines", 0, false},
		{"not a number", "go_goroutines many\n", "go_goroutines", 0, false},
		{"trailing garbage", "go_goroutines 1 2 3\n", "go_goroutines", 0, false},
		{"empty", "", "go_goroutines", 0, false},
	}
	for _, test := range tests {
		t.Run(test.name, func(t *testing.T) {
			got, err := ParseGauge([]byte(test.text), test.metric)
			if (err == nil) != test.ok {
				t.Fatalf("ParseGauge: error %v, want ok %v", err, test.ok)
			}
			if diff := cmp.Diff(test.want, got); diff != "" {
				t.Errorf("ParseGauge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{`Put "http://127.0.0.1:9000/b/k?X-Amz-Signature=abc": EOF`, `Put "http://127.0.0.1:9000/b/k?…": EOF`},
		{`Get "http://127.0.0.1:9000/b/k?X-Amz-Signature=abc"`, `Get "http://127.0.0.1:9000/b/k?…"`},
		{`tail ?X-Amz-Signature=abc`, `tail ?…`},
		{`dial tcp 127.0.0.1:9000: connection refused`, `dial tcp 127.0.0.1:9000: connection refused`},
	}
	for _, test := range tests {
		if got := redact(errors.New(test.in)); got != test.want {
			t.Errorf("redact(%q) = %q, want %q", test.in, got, test.want)
		}
	}
}

// FuzzParseVmRSS: whatever the input, a value read is a non-negative whole
// number of KiB, and a well-formed line after arbitrary other lines reads
// back as written.
func FuzzParseVmRSS(f *testing.F) {
	f.Add([]byte("Name:\tpresign\nVmRSS:\t   28120 kB\n"), uint32(28120))
	f.Add([]byte(""), uint32(0))
	f.Add([]byte("VmRSS:\t-1 kB\nVmRSS: 9 kB"), uint32(1))
	f.Fuzz(func(t *testing.T, status []byte, kb uint32) {
		if v, err := ParseVmRSS(status); err == nil && (v < 0 || v%1024 != 0) {
			t.Errorf("ParseVmRSS(%q) = %d, not a whole number of KiB", status, v)
		}
		// Other lines first, none of them VmRSS.
		var lines []string
		for _, l := range strings.Split(string(status), "\n") {
			if !strings.HasPrefix(l, "VmRSS:") {
				lines = append(lines, l)
			}
		}
		doc := strings.Join(lines, "\n") + fmt.Sprintf("\nVmRSS:\t%d kB\n", kb)
		got, err := ParseVmRSS([]byte(doc))
		if err == nil && got != int64(kb)*1024 {
			t.Errorf("ParseVmRSS(%q) = %d, want %d", doc, got, int64(kb)*1024)
		}
		if err != nil && len(doc) < 64<<10 {
			// bufio.Scanner refuses only a line over 64 KiB.
			t.Errorf("ParseVmRSS(%q): %v", doc, err)
		}
	})
}

// FuzzParseGauge: a value read is finite, and a sample line written first
// reads back as written whatever follows.
func FuzzParseGauge(f *testing.F) {
	f.Add([]byte("# TYPE go_goroutines gauge\ngo_goroutines 11\n"), uint32(11))
	f.Add([]byte("go_goroutines NaN"), uint32(0))
	f.Add([]byte("go_goroutines{x=\"1\"} 3\ngo_goroutines_max 2"), uint32(7))
	f.Fuzz(func(t *testing.T, text []byte, n uint32) {
		if v, err := ParseGauge(text, "go_goroutines"); err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Errorf("ParseGauge(%q) = %v, not finite", text, v)
		}
		doc := fmt.Sprintf("go_goroutines %d\n", n) + string(text)
		got, err := ParseGauge([]byte(doc), "go_goroutines")
		if err != nil || got != float64(n) {
			t.Errorf("ParseGauge(%q) = %v, %v; want %d", doc, got, err, n)
		}
	})
}
