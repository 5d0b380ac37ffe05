package render

import (
	"strconv"
	"strings"

	parser "github.com/haproxytech/client-native/v5/config-parser"
	"github.com/haproxytech/client-native/v5/config-parser/params"
	"github.com/haproxytech/client-native/v5/config-parser/parsers"
	"github.com/haproxytech/client-native/v5/config-parser/types"

	"github.com/bollard-io/bollard/pkg/model"
)

// SlotPrefix names server slots: slot1, slot2, ...
const SlotPrefix = "slot"

// SpareAddress is the placeholder address of an empty slot. Empty slots are
// disabled, so it is never dialled; the runtime API gives them a real
// address and port before enabling them.
const SpareAddress = "0.0.0.0:1"

// writeBackend writes one backend section. It uses config-parser's keyword
// parsers directly rather than SectionsCreate, which builds ~140 keyword
// parsers per section and took 1 s of the 10k-backend render on its own.
func writeBackend(sb *strings.Builder, be *model.Backend) error {
	balance := &parsers.Balance{}
	balance.Init()
	if err := balance.Set(types.Balance{Algorithm: balanceAlgorithm(&be.Options)}, -1); err != nil {
		return err
	}
	options, err := optionLines(be)
	if err != nil {
		return err
	}
	auth, err := authRules(&be.Options)
	if err != nil {
		return err
	}
	headers, err := headerRules(&be.Options)
	if err != nil {
		return err
	}
	options = append(append(options, auth...), headers...)
	shared := serverOptions(&be.Options)
	servers := &parsers.Server{}
	servers.Init()
	for i, ep := range be.Endpoints {
		server := types.Server{
			Name:    SlotName(i + 1),
			Address: endpointAddress(ep),
		}
		switch {
		case !ep.Address.IsValid(): // a free slot between used ones
			server.Address = SpareAddress
			server.Params = []params.ServerOption{&params.ServerOptionWord{Name: "disabled"}}
		case ep.Draining:
			server.Params = []params.ServerOption{&params.ServerOptionValue{Name: "weight", Value: "0"}}
		}
		server.Params = append(server.Params, shared...)
		if err := servers.Insert(server, -1); err != nil {
			return err
		}
	}
	lines := make([]parser.ParserInterface, 0, len(options)+3)
	lines = append(lines, balance)
	lines = append(lines, options...)
	lines = append(lines, servers)
	if spare := be.Slots - len(be.Endpoints); spare > 0 {
		first := len(be.Endpoints) + 1
		template := &parsers.ServerTemplate{}
		template.Init()
		err := template.Insert(types.ServerTemplate{
			Prefix:     SlotPrefix,
			NumOrRange: strconv.Itoa(first) + "-" + strconv.Itoa(be.Slots),
			Fqdn:       SpareAddress,
			Params:     append([]params.ServerOption{&params.ServerOptionWord{Name: "disabled"}}, shared...),
		}, -1)
		if err != nil {
			return err
		}
		lines = append(lines, template)
	}
	sb.WriteString("\nbackend ")
	sb.WriteString(be.Name)
	sb.WriteString(" from ")
	if be.Options.Policies {
		sb.WriteString(PolicyDefaultsName)
	} else {
		sb.WriteString(BackendDefaultsName)
	}
	sb.WriteByte('\n')
	for _, p := range lines {
		_ = writeLines(sb, p) // an error is a parser with nothing set
	}
	return nil
}

// RuntimeCreatable reports whether HAProxy can create be at run time exactly
// as writeBackend renders it: a backend from the defaults section with
// slots and nothing else (its balance is roundrobin, HAProxy's default).
// `add backend ... from` carries no directive of its own, and `add server`
// is not given the options' keywords, so a backend with any option set is
// loaded by a reload.
func RuntimeCreatable(be *model.Backend) bool {
	return be.Slots > 0 && len(be.Endpoints) <= be.Slots && be.Options == (model.BackendOptions{})
}

// SlotName is the server name of slot n (1-based).
func SlotName(n int) string {
	return SlotPrefix + strconv.Itoa(n)
}

func endpointAddress(ep model.Endpoint) string {
	if ep.Address.Is6() {
		return "[" + ep.Address.String() + "]:" + strconv.Itoa(int(ep.Port))
	}
	return ep.Address.String() + ":" + strconv.Itoa(int(ep.Port))
}
