// Command demo is the HTTP side of `make demo` (hack/demo.sh): it sends
// requests through the demo's HAProxy and prints which pod served them, and
// reads the reload counters of Bollard and of HAProxy's master.
//
//	demo wait     --url URL [--timeout 60s]
//	demo routes   --http ADDR --https ADDR [--ca FILE] URL...
//	demo spread   --http ADDR --want POD,POD,... [--n 40] [--timeout 30s] URL
//	demo reloads  --metrics URL --master SOCKET
//	demo masterpid --master SOCKET
//
// A URL names the scheme, the Host header (and SNI) and the path; the
// connection always goes to --http or --https.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: demo wait|routes|spread|reloads|masterpid [flags]")
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "wait":
		err = wait(args)
	case "routes":
		err = routes(args)
	case "spread":
		err = spread(args)
	case "reloads":
		err = reloads(args)
	case "masterpid":
		err = masterPID(args)
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// wait polls a URL until it answers 200.
func wait(args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	target := fs.String("url", "", "URL that must answer 200")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this long")
	_ = fs.Parse(args)
	deadline := time.Now().Add(*timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	last := errors.New("no answer")
	for time.Now().Before(deadline) {
		resp, err := client.Get(*target)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 within %s: %v", *target, *timeout, last)
}

// proxy sends requests to fixed addresses whatever the URL's host.
type proxy struct {
	http, https string
	roots       *x509.CertPool
}

func (p *proxy) bind(fs *flag.FlagSet) *string {
	fs.StringVar(&p.http, "http", "127.0.0.1:18080", "address of HAProxy's HTTP frontend")
	fs.StringVar(&p.https, "https", "127.0.0.1:18443", "address of HAProxy's HTTPS frontend")
	return fs.String("ca", "", "PEM file of the CA (or self-signed certificate) that HTTPS answers must verify against")
}

func (p *proxy) loadCA(file string) error {
	if file == "" {
		return nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	p.roots = x509.NewCertPool()
	if !p.roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s holds no PEM certificate", file)
	}
	return nil
}

// answer is one request's outcome.
type answer struct {
	Status   int
	Pod      string
	Service  string
	Location string
	Body     string
	TLS      string
}

// get sends GET rawURL through the proxy, with a fresh connection each
// time so that round robin is visible.
func (p *proxy) get(ctx context.Context, rawURL string) (answer, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return answer{}, fmt.Errorf("bad URL %q: want http(s)://host/path", rawURL)
	}
	addr := p.http
	tr := &http.Transport{DisableKeepAlives: true}
	if u.Scheme == "https" {
		addr = p.https
		tr.TLSClientConfig = &tls.Config{ServerName: u.Hostname(), RootCAs: p.roots, InsecureSkipVerify: p.roots == nil}
	}
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{Timeout: 3 * time.Second}).DialContext(ctx, network, addr)
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return answer{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("GET %s via %s: %w", rawURL, addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	a := answer{Status: resp.StatusCode, Location: resp.Header.Get("Location")}
	if resp.TLS != nil && len(resp.TLS.PeerCertificates) > 0 {
		a.TLS = resp.TLS.PeerCertificates[0].Subject.CommonName
		if p.roots != nil {
			a.TLS += " (verified)"
		}
	}
	var echo struct {
		Pod     string `json:"pod"`
		Service string `json:"service"`
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && json.Unmarshal(body, &echo) == nil {
		a.Pod, a.Service = echo.Pod, echo.Service
	} else {
		a.Body = firstLine(string(body))
	}
	return a, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// routes prints one line per URL: the status and the pod that answered.
func routes(args []string) error {
	fs := flag.NewFlagSet("routes", flag.ExitOnError)
	var p proxy
	ca := p.bind(fs)
	_ = fs.Parse(args)
	if err := p.loadCA(*ca); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  REQUEST\tSTATUS\tSERVICE\tPOD (from the echo JSON)")
	failed := 0
	for _, target := range fs.Args() {
		a, err := p.get(context.Background(), target)
		if err != nil {
			fmt.Fprintf(tw, "  %s\tERROR\t\t%v\n", target, err)
			failed++
			continue
		}
		who := a.Pod
		switch {
		case a.Location != "":
			who = "→ " + a.Location
		case who == "":
			who = "(" + a.Body + ")"
		}
		if a.TLS != "" {
			who += "   [TLS cert " + a.TLS + "]"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", target, a.Status, a.Service, who)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d requests failed", failed, len(fs.Args()))
	}
	return nil
}

// spread sends rounds of --n requests to one URL until every pod of --want
// has answered, then prints how many requests each pod served.
func spread(args []string) error {
	fs := flag.NewFlagSet("spread", flag.ExitOnError)
	var p proxy
	ca := p.bind(fs)
	n := fs.Int("n", 40, "requests per round")
	want := fs.String("want", "", "comma-separated pods that must all answer")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("spread takes one URL")
	}
	if err := p.loadCA(*ca); err != nil {
		return err
	}
	wanted := strings.FieldsFunc(*want, func(r rune) bool { return r == ',' || r == ' ' })
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	start := time.Now()
	for round := 1; ; round++ {
		counts := map[string]int{}
		for range *n {
			a, err := p.get(ctx, fs.Arg(0))
			switch {
			case err != nil:
				counts["(error)"]++
			case a.Pod == "":
				counts[fmt.Sprintf("(status %d)", a.Status)]++
			default:
				counts[a.Pod]++
			}
		}
		missing := slices.DeleteFunc(slices.Clone(wanted), func(pod string) bool { return counts[pod] > 0 })
		if len(missing) == 0 {
			fmt.Printf("  %d requests to %s after %s:\n", *n, fs.Arg(0), time.Since(start).Round(time.Millisecond))
			pods := make([]string, 0, len(counts))
			for pod := range counts {
				pods = append(pods, pod)
			}
			slices.Sort(pods)
			for _, pod := range pods {
				mark := ""
				if !slices.Contains(wanted, pod) {
					mark = "   (not a wanted pod)"
				}
				fmt.Printf("    %-40s %3d %s%s\n", pod, counts[pod], strings.Repeat("█", counts[pod]), mark)
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("after %d rounds, pods %v never answered (last round: %v)", round, missing, counts)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// reloads prints Bollard's and HAProxy's reload counters and Bollard's
// runtime API updates as "reloads: bollard=N haproxy=M; runtime updates: U".
func reloads(args []string) error {
	fs := flag.NewFlagSet("reloads", flag.ExitOnError)
	metricsURL := fs.String("metrics", "", "Bollard's /metrics URL")
	master := fs.String("master", "", "HAProxy's master socket")
	_ = fs.Parse(args)
	metrics, err := fetchMetrics(*metricsURL)
	if err != nil {
		return err
	}
	out, err := masterCommand(*master, "show proc")
	if err != nil {
		return err
	}
	_, h, err := parseShowProc(out)
	if err != nil {
		return err
	}
	fmt.Printf("reloads: bollard=%d haproxy=%d; runtime updates: %d\n",
		sumCounter(metrics, "bollard_reloads_total"), h, sumCounter(metrics, "bollard_runtime_updates_total"))
	return nil
}

// masterPID prints the PID of HAProxy's master process.
func masterPID(args []string) error {
	fs := flag.NewFlagSet("masterpid", flag.ExitOnError)
	master := fs.String("master", "", "HAProxy's master socket")
	_ = fs.Parse(args)
	out, err := masterCommand(*master, "show proc")
	if err != nil {
		return err
	}
	pid, _, err := parseShowProc(out)
	if err != nil {
		return err
	}
	fmt.Println(pid)
	return nil
}

func fetchMetrics(metricsURL string) (string, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(metricsURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", metricsURL, resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// sumCounter adds up every sample of a counter in the Prometheus text
// format (all label combinations).
func sumCounter(text, name string) int {
	total := 0.0
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		fields := strings.Fields(line)
		var v float64
		if _, err := fmt.Sscan(fields[len(fields)-1], &v); err == nil {
			total += v
		}
	}
	return int(total)
}

// masterCommand sends one command to HAProxy's master CLI and reads the
// answer; the master closes the connection once the client has closed its
// writing side.
func masterCommand(socket, command string) (string, error) {
	conn, err := net.DialTimeout("unix", socket, 3*time.Second)
	if err != nil {
		return "", fmt.Errorf("master socket: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, command+"\n"); err != nil {
		return "", err
	}
	if uc, ok := conn.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	out, err := io.ReadAll(conn)
	return string(out), err
}

// parseShowProc reads the master's PID and reload count from `show proc`:
//
//	#<PID>          <type>          <reloads>       <uptime>        <version>
//	3012            master          2 [failed: 0]   0d00h00m07s     2.6.12-1+deb12u4
func parseShowProc(out string) (pid, reloads int, err error) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "master" {
			if _, err := fmt.Sscan(f[0], &pid); err != nil {
				return 0, 0, fmt.Errorf("show proc: bad PID in %q", line)
			}
			if _, err := fmt.Sscan(f[2], &reloads); err != nil {
				return 0, 0, fmt.Errorf("show proc: bad reload count in %q", line)
			}
			return pid, reloads, nil
		}
	}
	return 0, 0, fmt.Errorf("show proc: no master line in %q", out)
}
