package bench

import (
	"context"
	"testing"
)

// Sinks, so that no result is optimized away.
var (
	sinkString string
	sinkBytes  []byte
	sinkByte   byte
)

// BenchmarkPresign presigns one URL per iteration with each implementation:
// sub-benchmarks op={GET,PUT}/impl=... (see docs/benchmarks.md).
func BenchmarkPresign(b *testing.B) {
	ctx := context.Background()
	for _, op := range ops {
		f := newFixture(b, op)
		// Warm every implementation once (key caches, pools, lazy init) and
		// check that none fails, outside the timed loops.
		f.presign()
		f.presignAppend()
		f.floorSign()
		for name, fn := range map[string]func(context.Context) (string, error){
			"awsv2client": f.awsv2client, "awsv2signer": f.awsv2signer, "miniov7": f.miniov7,
		} {
			if _, err := fn(ctx); err != nil {
				b.Fatalf("%s %s: %v", op, name, err)
			}
		}

		b.Run("op="+op+"/impl=presign", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkString = f.presign()
			}
		})
		b.Run("op="+op+"/impl=presign_append", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkBytes = f.presignAppend()
			}
		})
		b.Run("op="+op+"/impl=awsv2client", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				u, err := f.awsv2client(ctx)
				if err != nil {
					b.Fatal(err)
				}
				sinkString = u
			}
		})
		b.Run("op="+op+"/impl=awsv2signer", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				u, err := f.awsv2signer(ctx)
				if err != nil {
					b.Fatal(err)
				}
				sinkString = u
			}
		})
		b.Run("op="+op+"/impl=miniov7", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				u, err := f.miniov7(ctx)
				if err != nil {
					b.Fatal(err)
				}
				sinkString = u
			}
		})
		b.Run("op="+op+"/impl=floor", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkByte = f.floorSign()
			}
		})
	}
}
