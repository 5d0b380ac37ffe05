package preflight

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// aptHosts returns the host names of the apt sources (one-line .list and deb822 .sources
// files), mapped to the file that names them.
func aptHosts() map[string]string {
	out := map[string]string{}
	files := []string{"/etc/apt/sources.list"}
	for _, pat := range []string{"/etc/apt/sources.list.d/*.list", "/etc/apt/sources.list.d/*.sources"} {
		m, _ := filepath.Glob(pat)
		files = append(files, m...)
	}
	for _, file := range files {
		for _, l := range fields(file) {
			var uris []string
			switch {
			case l[0] == "deb" || l[0] == "deb-src":
				for _, w := range l[1:] {
					if strings.Contains(w, "://") {
						uris = append(uris, w)
						break
					}
				}
			case strings.EqualFold(l[0], "URIs:"):
				uris = l[1:]
			}
			for _, u := range uris {
				if h := urlHost(u); h != "" {
					out[h] = file
				}
			}
		}
	}
	return out
}

// goHosts returns the hosts of GOPROXY and GOSUMDB, from the environment or `go env`.
func goHosts(ctx context.Context) []string {
	proxy, sumdb := os.Getenv("GOPROXY"), os.Getenv("GOSUMDB")
	if proxy == "" || sumdb == "" {
		if out, err := exec.CommandContext(ctx, "go", "env", "GOPROXY", "GOSUMDB").Output(); err == nil {
			lines := strings.Split(string(out), "\n")
			if proxy == "" && len(lines) > 0 {
				proxy = lines[0]
			}
			if sumdb == "" && len(lines) > 1 {
				sumdb = lines[1]
			}
		}
	}
	var hosts []string
	for _, p := range strings.FieldsFunc(proxy, func(r rune) bool { return r == ',' || r == '|' }) {
		if h := urlHost(strings.TrimSpace(p)); h != "" {
			hosts = append(hosts, h)
		}
	}
	// GOSUMDB is "off", "name", "name+key" or "name+key url".
	if f := strings.Fields(sumdb); len(f) > 0 && f[0] != "off" {
		if len(f) > 1 {
			hosts = append(hosts, urlHost(f[1]))
		} else {
			name, _, _ := strings.Cut(f[0], "+")
			hosts = append(hosts, name)
		}
	}
	return hosts
}

// urlHost returns the host of an http(s) URL, or "" for anything else ("direct", "off", file:).
func urlHost(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return u.Hostname()
}

// resolver looks up the IPv4 and IPv6 addresses of host.
func resolver(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}
