package haproxy

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"
)

// BenchmarkMapChange changes 10 entries of a map of 100 or 10,000 entries
// on the real HAProxy: way=entries sends one `set map` per entry (the
// change is seen half done while it runs), way=swap one ReplaceMap of the
// whole map (prepare, the payload chunks, commit). wire-cmds/op counts the
// commands written to the socket, each one round trip.
//
//	go test -run XXX -bench BenchmarkMapChange -benchtime 20x ./pkg/haproxy
func BenchmarkMapChange(b *testing.B) {
	const changed = 10
	for _, size := range []int{100, 10000} {
		for _, way := range []string{"entries", "swap"} {
			b.Run(fmt.Sprintf("entries=%d/way=%s", size, way), func(b *testing.B) {
				p := startProxy(b)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
				defer cancel()
				entries := make([]MapEntry, size)
				for i := range entries {
					entries[i] = MapEntry{fmt.Sprintf("host-%05d.example/some/path/", i), "be1"}
				}
				if err := p.rt.Execute(ctx, must(ReplaceMap("maps/hosts.map", entries))); err != nil {
					b.Fatal(err)
				}
				wire := 0
				b.ResetTimer()
				for n := 0; b.Loop(); n++ {
					value := "v" + strconv.Itoa(n)
					var cmds []Command
					if way == "entries" {
						for i := range changed {
							cmds = append(cmds, must(SetMap("maps/hosts.map", entries[i*size/changed].Key, value)))
						}
						wire += len(cmds)
					} else {
						for i := range changed {
							entries[i*size/changed].Value = value
						}
						cmd := must(ReplaceMap("maps/hosts.map", entries))
						cmds = append(cmds, cmd)
						wire += 2 + len(cmd.swap.chunks)
					}
					if err := p.rt.Execute(ctx, cmds...); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(wire)/float64(b.N), "wire-cmds/op")
			})
		}
	}
}
