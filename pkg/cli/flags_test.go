package cli_test

import (
	"strings"
	"testing"
)

// TestTenancyFlagsRefuseBadValues: a bad value stops both commands at start
// with the flag's name and what is wrong, before anything is read.
func TestTenancyFlagsRefuseBadValues(t *testing.T) {
	cases := []struct{ flag, value, want string }{
		{"--host-ownership", "first", `"first" is not a host ownership mode: want shared or first-namespace`},
		{"--host-ownership", "", "want shared or first-namespace"},
		{"--endpoint-cidrs", "10.0.0.0/8,nope", `endpoint CIDR "nope"`},
		{"--endpoint-cidrs", "198.18.0.1/15", "has host bits set; did you mean 198.18.0.0/15?"},
	}
	for _, command := range []string{"render", "controller"} {
		for _, c := range cases {
			_, _, err := run(t, "", command, c.flag+"="+c.value)
			if err == nil {
				t.Errorf("%s %s=%q: no error", command, c.flag, c.value)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, c.flag) || !strings.Contains(msg, c.want) {
				t.Errorf("%s %s=%q: error %q, want the flag and %q", command, c.flag, c.value, msg, c.want)
			}
		}
	}
}

const tenancyObjects = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: first, namespace: team-a, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  rules:
  - host: h.example
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: intruder, namespace: team-b, creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  rules:
  - host: h.example
    http: {paths: [{path: /b, pathType: Prefix, backend: {service: {name: b, port: {number: 80}}}}]}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: team-a}
spec: {ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: a-1, namespace: team-a, labels: {kubernetes.io/service-name: a}}
addressType: IPv4
ports: [{port: 8080}]
endpoints:
- {addresses: [198.18.0.5], conditions: {ready: true}}
- {addresses: [10.0.0.5], conditions: {ready: true}}
`

// TestTenancyFlagsReachTheModel: the parsed values are what the model
// gets, and the defaults keep today's behaviour.
func TestTenancyFlagsReachTheModel(t *testing.T) {
	stdout, stderr, err := run(t, tenancyObjects, "render", "-f", "-")
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr)
	}
	if strings.Contains(stderr, "rejected") || strings.Count(stdout, "server slot") != 2 {
		t.Errorf("defaults: want no rejection and two servers\nstderr:\n%s\nstdout:\n%s", stderr, stdout)
	}

	stdout, stderr, err = run(t, tenancyObjects, "render", "-f", "-",
		"--host-ownership", "first-namespace", "--endpoint-cidrs", "198.18.0.0/15")
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr)
	}
	for _, want := range []string{
		`Ingress team-b/intruder: rejected: spec.rules[0].host: host "h.example" is owned by namespace team-a (oldest Ingress team-a/first)`,
		"EndpointSlice team-a/a-1: rejected: endpoints[1].addresses[0]: address 10.0.0.5 is outside the ranges of --endpoint-cidrs",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Count(stdout, "server slot") != 1 {
		t.Errorf("want one server left:\n%s", stdout)
	}
}
