package cli

import (
	"fmt"
	"net/netip"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/bollard-io/bollard/pkg/model"
	"github.com/bollard-io/bollard/pkg/render"
)

// modelFlags are the flags shared by `render` and `controller` that shape
// the model.
type modelFlags struct {
	opts model.Options
}

func (f *modelFlags) bind(fs *pflag.FlagSet) {
	f.opts = model.DefaultOptions()
	fs.StringVar(&f.opts.IngressClass, "ingress-class", f.opts.IngressClass, "IngressClass name to serve (also the legacy kubernetes.io/ingress.class value)")
	fs.StringVar(&f.opts.ControllerName, "controller-name", f.opts.ControllerName, "controller value of the IngressClasses this controller serves")
	fs.BoolVar(&f.opts.WatchIngressWithoutClass, "watch-ingress-without-class", false, "also serve Ingresses that name no class")
	fs.StringVar(&f.opts.WatchNamespace, "watch-namespace", "", "only serve objects of this namespace (default: all namespaces)")
	fs.StringVar(&f.opts.DefaultBackendService, "default-backend-service", "", "NS/NAME[:PORT] of the Service for requests no Ingress matches (default: a built-in 404)")
	fs.StringVar(&f.opts.DefaultSSLCertificate, "default-ssl-certificate", "", "NS/NAME of the TLS Secret served to unknown SNI names (default: a generated self-signed certificate)")
	fs.StringVar(&f.opts.GlobalConfigMap, "configmap", "", "NS/NAME of the ConfigMap with global options")
	f.opts.GatewayControllerName = model.DefaultGatewayControllerName
	fs.StringVar(&f.opts.GatewayControllerName, "gateway-controller-name", f.opts.GatewayControllerName, "controllerName of the GatewayClasses this controller serves (Gateway API)")
	fs.BoolVar(&f.opts.GatewayLoopback, "gateway-loopback-addresses", false, "give each Gateway its own loopback address 127.x.y.z, bound on its listener ports and written to its status (test clusters); default: Gateways bind --bind-address and get the published address")
	f.bindTenancy(fs)
}

// bindTenancy declares the tenancy flags. Their values are parsed when the
// flag is set, so a bad value fails at start with the flag's name.
func (f *modelFlags) bindTenancy(fs *pflag.FlagSet) {
	f.opts.HostOwnership = model.HostOwnershipShared
	fs.Var(hostOwnershipValue{&f.opts.HostOwnership}, "host-ownership",
		"shared: Ingresses of any namespace may add paths to a host (conflicts by age, per path); "+
			"first-namespace: the namespace of the oldest Ingress with rules for a host owns it, and other namespaces' rules, TLS hosts and default backends for it are rejected")
	fs.Var(&cidrsValue{p: &f.opts.EndpointCIDRs}, "endpoint-cidrs",
		"comma-separated IPv4/IPv6 CIDRs; when set, endpoint addresses outside them are left out. "+
			"Loopback and link-local addresses are always left out unless a CIDR at least as narrow as 127.0.0.0/8, ::1/128, 169.254.0.0/16 or fe80::/10 names them")
}

// hostOwnershipValue is --host-ownership as a pflag.Value.
type hostOwnershipValue struct{ p *model.HostOwnership }

func (v hostOwnershipValue) String() string {
	if v.p == nil {
		return ""
	}
	return string(*v.p)
}

func (v hostOwnershipValue) Set(s string) error {
	h, err := model.ParseHostOwnership(s)
	if err != nil {
		return err
	}
	*v.p = h
	return nil
}

func (hostOwnershipValue) Type() string { return "string" }

// cidrsValue is --endpoint-cidrs as a pflag.Value; text keeps the value as
// given, for --help and docs/flags.md.
type cidrsValue struct {
	p    *[]netip.Prefix
	text string
}

func (v *cidrsValue) String() string {
	if v == nil {
		return ""
	}
	return v.text
}

func (v *cidrsValue) Set(s string) error {
	prefixes, err := model.ParseEndpointCIDRs(s)
	if err != nil {
		return err
	}
	*v.p, v.text = prefixes, s
	return nil
}

func (*cidrsValue) Type() string { return "cidrs" }

// renderFlags are the deployment settings of the rendered config.
type renderFlags struct {
	opts render.Options
}

func (f *renderFlags) bind(fs *pflag.FlagSet) {
	f.opts = render.DefaultOptions()
	fs.IntVar(&f.opts.HTTPPort, "http-port", f.opts.HTTPPort, "port of the HTTP frontend")
	fs.IntVar(&f.opts.HTTPSPort, "https-port", f.opts.HTTPSPort, "port of the HTTPS frontend")
	fs.IntVar(&f.opts.StatsPort, "stats-port", f.opts.StatsPort, "port of HAProxy's /stats, /metrics and /healthz (0 disables it)")
	fs.StringVar(&f.opts.BindAddress, "bind-address", "", "address the frontends listen on (default: all IPv4 addresses)")
	fs.StringVar(&f.opts.RuntimeDir, "runtime-dir", f.opts.RuntimeDir, "directory of HAProxy's sockets: master.sock and admin.sock")
}

// kubeClient builds a clientset from a kubeconfig path, or from the
// in-cluster service account when the path is empty.
func kubeClient(kubeconfig string) (*kubernetes.Clientset, *rest.Config, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	// client-go's default of 5 requests/s would queue status updates and
	// events behind each other on the single apply loop.
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return client, cfg, nil
}
