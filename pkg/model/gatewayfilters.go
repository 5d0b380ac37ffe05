package model

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func servicePortNumber(n int32) networkingv1.ServiceBackendPort {
	return networkingv1.ServiceBackendPort{Number: n}
}

// compileFilter validates one HTTPRoute filter into gr.
func compileFilter(gr *GatewayRule, f gatewayv1.HTTPRouteFilter) error {
	switch f.Type {
	case gatewayv1.HTTPRouteFilterRequestHeaderModifier:
		if f.RequestHeaderModifier == nil {
			return fmt.Errorf("requestHeaderModifier is missing")
		}
		edits, err := headerEdits(*f.RequestHeaderModifier)
		if err != nil {
			return err
		}
		gr.RequestHeaders = edits
	case gatewayv1.HTTPRouteFilterResponseHeaderModifier:
		if f.ResponseHeaderModifier == nil {
			return fmt.Errorf("responseHeaderModifier is missing")
		}
		edits, err := headerEdits(*f.ResponseHeaderModifier)
		if err != nil {
			return err
		}
		gr.ResponseHeaders = edits
	case gatewayv1.HTTPRouteFilterRequestRedirect:
		if f.RequestRedirect == nil {
			return fmt.Errorf("requestRedirect is missing")
		}
		r, err := redirect(*f.RequestRedirect)
		if err != nil {
			return err
		}
		gr.Redirect = r
	case gatewayv1.HTTPRouteFilterURLRewrite:
		if f.URLRewrite == nil {
			return fmt.Errorf("urlRewrite is missing")
		}
		rw := &GatewayRewrite{}
		if h := f.URLRewrite.Hostname; h != nil {
			if err := validateHost(string(*h)); err != nil || strings.Contains(string(*h), "*") {
				return fmt.Errorf("urlRewrite.hostname %s is not a host name", printable(string(*h)))
			}
			rw.Hostname = strings.ToLower(string(*h))
		}
		if p := f.URLRewrite.Path; p != nil {
			pm, err := pathModifier(*p)
			if err != nil {
				return fmt.Errorf("urlRewrite.path: %w", err)
			}
			rw.Path = pm
		}
		gr.Rewrite = rw
	default:
		return fmt.Errorf("filter type %s is not supported", printable(string(f.Type)))
	}
	return nil
}

func headerEdits(f gatewayv1.HTTPHeaderFilter) (HeaderEdits, error) {
	var e HeaderEdits
	pairs := func(hs []gatewayv1.HTTPHeader) ([]NameValue, error) {
		var out []NameValue
		for _, h := range hs {
			if err := checkHeaderName(string(h.Name)); err != nil {
				return nil, err
			}
			if err := checkQuotable("header value", h.Value, 4096); err != nil {
				return nil, err
			}
			out = append(out, NameValue{Name: string(h.Name), Value: h.Value})
		}
		return out, nil
	}
	var err error
	if e.Set, err = pairs(f.Set); err != nil {
		return e, err
	}
	if e.Add, err = pairs(f.Add); err != nil {
		return e, err
	}
	for _, name := range f.Remove {
		if err := checkHeaderName(name); err != nil {
			return e, err
		}
		e.Remove = append(e.Remove, name)
	}
	return e, nil
}

func redirect(f gatewayv1.HTTPRequestRedirectFilter) (*GatewayRedirect, error) {
	r := &GatewayRedirect{StatusCode: 302}
	if f.StatusCode != nil {
		switch *f.StatusCode {
		case 301, 302, 303, 307, 308:
			r.StatusCode = *f.StatusCode
		default:
			return nil, fmt.Errorf("requestRedirect.statusCode %d is not supported", *f.StatusCode)
		}
	}
	if f.Scheme != nil {
		if *f.Scheme != "http" && *f.Scheme != "https" {
			return nil, fmt.Errorf("requestRedirect.scheme %s is not supported", printable(*f.Scheme))
		}
		r.Scheme = *f.Scheme
	}
	if h := f.Hostname; h != nil {
		if err := validateHost(string(*h)); err != nil || strings.Contains(string(*h), "*") {
			return nil, fmt.Errorf("requestRedirect.hostname %s is not a host name", printable(string(*h)))
		}
		r.Hostname = strings.ToLower(string(*h))
	}
	if f.Port != nil {
		r.Port = int32(*f.Port)
	} else if r.Scheme == "http" {
		r.Port = 80
	} else if r.Scheme == "https" {
		r.Port = 443
	}
	if p := f.Path; p != nil {
		pm, err := pathModifier(*p)
		if err != nil {
			return nil, fmt.Errorf("requestRedirect.path: %w", err)
		}
		r.Path = pm
	}
	return r, nil
}

func pathModifier(p gatewayv1.HTTPPathModifier) (PathModifier, error) {
	switch p.Type {
	case gatewayv1.FullPathHTTPPathModifier:
		if p.ReplaceFullPath == nil {
			return PathModifier{}, fmt.Errorf("replaceFullPath is missing")
		}
		if err := checkRoutePath(*p.ReplaceFullPath); err != nil {
			return PathModifier{}, err
		}
		return PathModifier{Kind: "full", Value: *p.ReplaceFullPath}, nil
	case gatewayv1.PrefixMatchHTTPPathModifier:
		if p.ReplacePrefixMatch == nil {
			return PathModifier{}, fmt.Errorf("replacePrefixMatch is missing")
		}
		// "" is valid: the matched prefix is removed.
		if err := checkRoutePath(*p.ReplacePrefixMatch); err != nil && *p.ReplacePrefixMatch != "" {
			return PathModifier{}, err
		}
		return PathModifier{Kind: "prefix", Value: *p.ReplacePrefixMatch}, nil
	}
	return PathModifier{}, fmt.Errorf("type %s is not supported", printable(string(p.Type)))
}

// backendFilters validates the filters of one backendRef: a
// RequestHeaderModifier only.
func backendFilters(fs []gatewayv1.HTTPRouteFilter) (HeaderEdits, error) {
	var edits HeaderEdits
	for i, f := range fs {
		if f.Type != gatewayv1.HTTPRouteFilterRequestHeaderModifier || f.RequestHeaderModifier == nil {
			return edits, fmt.Errorf("filters[%d]: only RequestHeaderModifier is supported on a backendRef, not %s", i, printable(string(f.Type)))
		}
		e, err := headerEdits(*f.RequestHeaderModifier)
		if err != nil {
			return edits, fmt.Errorf("filters[%d]: %w", i, err)
		}
		edits = e
	}
	return edits, nil
}
