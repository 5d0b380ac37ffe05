package cli

import (
	"fmt"

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
}

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
