package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pairConfig adds a frontend that answers the values of pair-a and pair-b
// in hosts.map, read in one request. One thread: the CLI and the request
// then never run at the same time, so the two lookups see one state of the
// map and a mix can only come from how the map was changed.
const pairConfig = `
frontend pair from bollard
  bind 127.0.0.1:{{PAIR}}
  http-request return status 200 content-type text/plain lf-string "%[str(pair-a),map_str(maps/hosts.map,none)] %[str(pair-b),map_str(maps/hosts.map,none)]"
`

// startPairProxy starts the test HAProxy with the pair frontend and
// returns a reader of the pair.
func startPairProxy(t *testing.T) (*proxy, func() (string, string, error)) {
	p := startProxy(t)
	port := freePort(t)
	// 3.4 takes nbthread only in the first global section.
	cfg := strings.Replace(p.config(), "global\n", "global\n  nbthread 1\n", 1)
	p.writeConfig(cfg + strings.ReplaceAll(pairConfig, "{{PAIR}}", strconv.Itoa(port)))
	if err := p.master.Reload(p.ctx()); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	return p, func() (string, string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return "", "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", "", err
		}
		a, b, ok := strings.Cut(string(body), " ")
		if resp.StatusCode != http.StatusOK || !ok {
			return "", "", fmt.Errorf("pair frontend answered %d %q", resp.StatusCode, body)
		}
		return a, b, nil
	}
}

// swapEntries is a map of n hosts plus the pair, all with values of round.
func swapEntries(n, round int) []MapEntry {
	v := "r" + strconv.Itoa(round)
	entries := []MapEntry{{"pair-a", v}, {"pair-b", v}}
	for i := range n {
		// Every other round drops a third of the hosts and renames values.
		if round%2 == 1 && i%3 == 0 {
			continue
		}
		entries = append(entries, MapEntry{fmt.Sprintf("h%05d.test/some/path/", i), fmt.Sprintf("be%d_%d", 1+i%2, round)})
	}
	return entries
}

// A swap of a map of thousands of entries, sent in several payload
// chunks, leaves exactly the wanted entries, and a client reading two
// entries that change together never sees one old and one new.
func TestReplaceMapAtomic(t *testing.T) {
	p, readPair := startPairProxy(t)

	// Control: a change of the pair made entry by entry is seen half done.
	p.exec(must(SetMap("maps/hosts.map", "a.test", "be1")), must(AddMap("maps/hosts.map", "pair-a", "r0")), must(AddMap("maps/hosts.map", "pair-b", "r0")))
	p.exec(must(SetMap("maps/hosts.map", "pair-a", "half")))
	if a, b, err := readPair(); err != nil || a == b {
		t.Fatalf("control: pair read %q %q (%v) after one of two set map: want a mix", a, b, err)
	}

	const hosts, rounds = 6000, 16
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var reads int
	var mixes []string
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			a, b, err := readPair()
			mu.Lock()
			switch {
			case err != nil:
				readErr = err
			case a != b && a != "half":
				mixes = append(mixes, a+" "+b)
			}
			reads++
			mu.Unlock()
			if err != nil {
				return
			}
		}
	})
	var want []MapEntry
	for round := 1; round <= rounds && ctx.Err() == nil; round++ {
		want = swapEntries(hosts, round)
		cmd, err := ReplaceMap("maps/hosts.map", want)
		if err != nil {
			t.Fatal(err)
		}
		if round == 1 && len(cmd.swap.chunks) < 2 {
			t.Fatalf("%d entries in %d payload chunk: the test wants several", len(want), len(cmd.swap.chunks))
		}
		start := time.Now()
		p.exec(cmd)
		t.Logf("round %d: %d entries in %d chunks, swapped in %v", round, len(want), len(cmd.swap.chunks), time.Since(start))
		time.Sleep(5 * time.Millisecond) // let the reader see this version
	}
	cancel()
	wg.Wait()
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		t.Logf("reader stopped: %v", readErr)
	}
	t.Logf("%d reads during %d swaps", reads, rounds)
	if len(mixes) > 0 {
		t.Fatalf("%d reads saw a mix of two versions, e.g. %q", len(mixes), mixes[0])
	}
	if reads < rounds {
		t.Fatalf("only %d reads during %d swaps", reads, rounds)
	}
	got, err := p.rt.MapEntries(p.ctx(), "maps/hosts.map")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("show map after the last swap: %d entries, want exactly the %d swapped in", len(got), len(want))
	}
	if a, b, err := readPair(); err != nil || a != b || a != "r"+strconv.Itoa(rounds) {
		t.Fatalf("pair after the swaps: %q %q (%v)", a, b, err)
	}
	p.mustGet("a.test", 404, "") // replaced: the old entries are gone
}

// A swap HAProxy refuses stops the batch, names the map, and leaves the
// map as it was.
func TestReplaceMapRefused(t *testing.T) {
	p := startProxy(t)
	swap := must(ReplaceMap("maps/none.map", []MapEntry{{"x.test", "be1"}, {"y.test", "be2"}}))
	err := p.rt.Execute(p.ctx(), swap, must(AddMap("maps/hosts.map", "after.test", "be1")))
	var re *ReplyError
	if err == nil || !errors.As(err, &re) || !strings.Contains(err.Error(), "replace map maps/none.map") {
		t.Fatalf("swap of a map HAProxy does not have: %v", err)
	}
	if out := p.query("show map maps/hosts.map"); strings.Contains(out, "after.test") || !mapHas(out, "a.test", "be1") {
		t.Fatalf("the batch went on after the refused swap:\n%s", out)
	}
	if _, err := p.rt.Query(p.ctx(), swap); err == nil {
		t.Fatal("Query ran a swap, which needs Execute")
	}
}

// In a payload HAProxy reads keys and values as they are: what the CLI
// line would read specially (';', '\', an inner "<<") stays literal, and
// nothing after it runs as a command.
func TestReplaceMapLiteralPayload(t *testing.T) {
	p := startProxy(t)
	want := []MapEntry{{"a.test", "be1"}, {`/a;disable\x`, `v\;show`}, {"b<<c.test", "<<be2"}, {"é.test", "be2"}}
	p.exec(must(ReplaceMap("maps/hosts.map", want)))
	got, err := p.rt.MapEntries(p.ctx(), "maps/hosts.map")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("show map after the swap: %q, want %q", got, want)
	}
	p.mustGet("a.test", 503, "") // be1 has no server up: routed, not 404
}
