package main

import (
	"net/http"
	"net/url"
	"testing"

	gwconfig "sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/roundtripper"
)

// TestAnswerReadByGatewayConformanceSuite reads a plaintext answer with the Gateway API
// conformance suite's own round tripper (e2e/gatewayconformance runs echo in place of
// the suite's echo-basic): it must decode, with the fields the suite compares.
func TestAnswerReadByGatewayConformanceSuite(t *testing.T) {
	srv := newTestServer(t)
	u, err := url.Parse(srv.URL + "/a/b?c=d")
	if err != nil {
		t.Fatal(err)
	}
	rt := &roundtripper.DefaultRoundTripper{TimeoutConfig: gwconfig.DefaultTimeoutConfig()}
	req, res, err := rt.CaptureRoundTrip(roundtripper.Request{
		T: t, URL: *u, Host: "example.test", Protocol: "HTTP",
		Headers: map[string][]string{"X-Test": {"1"}},
	})
	if err != nil {
		t.Fatalf("the suite cannot read the answer: %v", err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	if req.Path != "/a/b?c=d" || req.Host != "example.test" || req.Method != "GET" || req.Protocol != "HTTP/1.1" ||
		req.Namespace != "ns1" || req.Pod != "web-abc" || len(req.Headers["X-Test"]) != 1 {
		t.Errorf("the suite read %+v", req)
	}
}

// TestSetRequestedHeaders: the response carries the headers named in
// X-Echo-Set-Header, which the suite's response-header tests ask for.
func TestSetRequestedHeaders(t *testing.T) {
	h := http.Header{}
	setRequestedHeaders(h, []string{"Some-Other-Header:val, X-Header-Set:some-other-value", "bad", "X-Two: 2"})
	if h.Get("Some-Other-Header") != "val" || h.Get("X-Header-Set") != "some-other-value" || h.Get("X-Two") != "2" || len(h) != 3 {
		t.Errorf("headers %v", h)
	}
}
