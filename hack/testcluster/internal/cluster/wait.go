package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/bollard-io/bollard/hack/testcluster/internal/state"
)

const pollInterval = 100 * time.Millisecond

// waitHTTP polls url until it answers 200, failing early when the process dies.
func waitHTTP(ctx context.Context, st *state.State, name, url string, caPEM []byte, token string) error {
	tr := &http.Transport{}
	if caPEM != nil {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return errors.New("bad CA PEM")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Second}
	var last error
	for {
		if err := aliveOrFail(st, name); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("build request for %s: %w", url, err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
		}
		last = err
		select {
		case <-ctx.Done():
			return procFailure(st, name, fmt.Errorf("%w (last: %w)", ctx.Err(), last))
		case <-time.After(pollInterval):
		}
	}
}

// waitReady waits for the Node that the kubelet registers to be Ready and for the default
// ServiceAccount, which proves kube-controller-manager works.
func waitReady(ctx context.Context, st *state.State) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", st.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	checks := []struct {
		proc string
		what string
		ok   func() (bool, error)
	}{
		{ProcKubelet, "node " + st.NodeName + " Ready", func() (bool, error) {
			n, err := cs.CoreV1().Nodes().Get(ctx, st.NodeName, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady {
					return c.Status == corev1.ConditionTrue, nil
				}
			}
			return false, nil
		}},
		{ProcKCM, "default ServiceAccount", func() (bool, error) {
			_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
			return err == nil, err
		}},
	}
	for _, c := range checks {
		var last error
		for {
			if err := aliveOrFail(st, c.proc); err != nil {
				return err
			}
			ok, err := c.ok()
			if ok {
				break
			}
			if err != nil && !apierrors.IsNotFound(err) {
				last = err
			}
			select {
			case <-ctx.Done():
				return procFailure(st, c.proc, fmt.Errorf("waiting for %s: %w (last error: %v)", c.what, ctx.Err(), last))
			case <-time.After(pollInterval):
			}
		}
	}
	return nil
}

// writeKubeconfig writes an admin kubeconfig (token of a system:masters user).
func writeKubeconfig(path, server string, caPEM []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["testcluster"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["testcluster"] = &clientcmdapi.Context{Cluster: "testcluster", AuthInfo: "admin", Namespace: "default"}
	cfg.CurrentContext = "testcluster"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	return nil
}
