package render

import (
	"crypto/sha256"
	"encoding/hex"

	parser "github.com/haproxytech/client-native/v5/config-parser"
	"github.com/haproxytech/client-native/v5/config-parser/params"
	"github.com/haproxytech/client-native/v5/config-parser/parsers"
	"github.com/haproxytech/client-native/v5/config-parser/parsers/http"
	"github.com/haproxytech/client-native/v5/config-parser/parsers/http/actions"
	"github.com/haproxytech/client-native/v5/config-parser/parsers/simple"
	"github.com/haproxytech/client-native/v5/config-parser/types"

	"github.com/bollard-io/bollard/pkg/model"
)

// CADir holds the CA bundles of backend-ca-secret.
const CADir = "cas"

// sniFromRequest is the sample expression of backend-sni "host": the
// request's host without its port (the frontends removed a trailing dot).
const sniFromRequest = "req.hdr(host),field(1,:)"

// optionLines returns the backend's directives for its options, before
// its servers. Every value comes from a typed, validated model field.
func optionLines(be *model.Backend) ([]parser.ParserInterface, error) {
	o := &be.Options
	var lines []parser.ParserInterface
	if o.TimeoutConnect != 0 {
		p := &simple.Timeout{Name: "connect"}
		p.Init()
		if err := p.Set(types.SimpleTimeout{Value: milliseconds(o.TimeoutConnect)}, -1); err != nil {
			return nil, err
		}
		lines = append(lines, p)
	}
	if o.HealthCheckPath != "" {
		check := &parsers.OptionHttpchk{}
		check.Init()
		if err := check.Set(types.OptionHttpchk{}, -1); err != nil {
			return nil, err
		}
		send := &http.Checks{Mode: "backend"}
		send.Init()
		if err := send.Insert(&actions.CheckSend{Method: "GET", URI: o.HealthCheckPath}, -1); err != nil {
			return nil, err
		}
		lines = append(lines, check, send)
	}
	if o.AffinityCookie != "" {
		cookie := &parsers.Cookie{}
		cookie.Init()
		err := cookie.Set(types.Cookie{Name: o.AffinityCookie, Type: "insert", Indirect: true, Nocache: true, Dynamic: true}, -1)
		if err != nil {
			return nil, err
		}
		key := &simple.Word{Name: "dynamic-cookie-key"}
		key.Init()
		if err := key.Set(types.StringC{Value: dynamicCookieKey(be.Name)}, -1); err != nil {
			return nil, err
		}
		lines = append(lines, cookie, key)
	}
	return lines, nil
}

// dynamicCookieKey is the key HAProxy hashes with a server's address and
// port into its affinity cookie. It depends on the backend's name only, so
// that every replica gives a server the same cookie.
func dynamicCookieKey(backend string) string {
	sum := sha256.Sum256([]byte("bollard affinity " + backend))
	return hex.EncodeToString(sum[:16])
}

// serverOptions returns the keywords every slot of the backend carries.
func serverOptions(o *model.BackendOptions) []params.ServerOption {
	var opts []params.ServerOption
	word := func(name string) { opts = append(opts, &params.ServerOptionWord{Name: name}) }
	value := func(name, v string) { opts = append(opts, &params.ServerOptionValue{Name: name, Value: v}) }
	switch o.Protocol {
	case model.ProtocolH2C:
		value("proto", "h2")
	case model.ProtocolHTTPS, model.ProtocolH2:
		word("ssl")
		if o.CAFile != "" {
			value("verify", "required")
			value("ca-file", CADir+"/"+o.CAFile)
		} else {
			value("verify", "none")
		}
		switch o.SNI {
		case "":
		case model.SNIFromRequest:
			value("sni", sniFromRequest)
		default:
			value("sni", "str("+o.SNI+")")
		}
		if o.Protocol == model.ProtocolH2 {
			value("alpn", "h2")
		}
	}
	if o.HealthCheckInterval != 0 {
		word("check")
		value("inter", milliseconds(o.HealthCheckInterval))
	}
	return opts
}

// balanceAlgorithm is the backend's balance, roundrobin unless set.
func balanceAlgorithm(o *model.BackendOptions) string {
	if o.Balance == "" {
		return "roundrobin"
	}
	return o.Balance
}
