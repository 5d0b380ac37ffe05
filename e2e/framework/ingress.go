package framework

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/pkg/tlscert"
)

// EchoPort is the port echo pods listen on.
const EchoPort = 8080

// EnsureIngressClass creates the IngressClass "bollard" for Bollard's
// controller name when it does not exist.
func (c *Cluster) EnsureIngressClass(t testing.TB) {
	t.Helper()
	_, err := c.Client.NetworkingV1().IngressClasses().Create(context.Background(), &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: "bollard"},
		Spec:       networkingv1.IngressClassSpec{Controller: "bollard.io/ingress-controller"},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// Setup makes a namespace and a controller watching only it.
func (c *Cluster) Setup(t testing.TB, prefix string, args ...string) (string, *Bollard) {
	t.Helper()
	Need(t, c)
	c.EnsureIngressClass(t)
	ns := c.CreateNamespace(t, prefix)
	return ns, c.StartBollard(t, BollardOptions{Namespace: ns, Args: args})
}

// Echo creates an echo Deployment and Service (port 80 → 8080) and waits
// for its ready endpoints.
func (c *Cluster) Echo(t testing.TB, namespace, name string, replicas int32) {
	t.Helper()
	ctx := context.Background()
	if err := c.CreateEcho(ctx, namespace, name, replicas, EchoPort); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadyEndpoints(ctx, namespace, name, int(replicas), 60*time.Second); err != nil {
		t.Fatal(err)
	}
}

// MustApply applies a manifest in namespace or fails the test.
func (c *Cluster) MustApply(t testing.TB, namespace, manifest string) {
	t.Helper()
	if err := c.Apply(context.Background(), namespace, manifest); err != nil {
		t.Fatal(err)
	}
}

// Path is one path of an Ingress rule.
type Path struct {
	Path, Type, Service string
	Port                any // number, or a port name
}

// IngressYAML renders an Ingress of class bollard with one rule.
func IngressYAML(name, host string, paths ...Path) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: %s}\nspec:\n  ingressClassName: bollard\n  rules:\n  - ", name)
	if host != "" {
		fmt.Fprintf(&b, "host: %q\n    ", host)
	}
	b.WriteString("http:\n      paths:\n")
	for _, p := range paths {
		port := fmt.Sprintf("number: %v", p.Port)
		if s, ok := p.Port.(string); ok {
			port = "name: " + s
		}
		if p.Port == nil {
			port = "number: 80"
		}
		fmt.Fprintf(&b, "      - {path: %q, pathType: %s, backend: {service: {name: %s, port: {%s}}}}\n", p.Path, p.Type, p.Service, port)
	}
	return b.String()
}

// CreateTLSSecret stores a kubernetes.io/tls Secret.
func (c *Cluster) CreateTLSSecret(t testing.TB, namespace, name string, certPEM, keyPEM []byte) {
	t.Helper()
	_, err := c.Client.CoreV1().Secrets(namespace).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// CreateIssuedTLSSecret stores a kubernetes.io/tls Secret with a
// certificate for hosts from a new test CA, and returns the CA for clients
// to verify with.
func (c *Cluster) CreateIssuedTLSSecret(t testing.TB, namespace, name string, hosts ...string) *tlscert.Authority {
	t.Helper()
	ca, err := tlscert.NewAuthority(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tlscert.Issue(hosts, time.Now(), time.Hour, ca)
	if err != nil {
		t.Fatal(err)
	}
	c.CreateTLSSecret(t, namespace, name, pair.CertPEM, pair.KeyPEM)
	return ca
}

// WaitWarning waits for a Warning Event on the named object whose message
// contains substr.
func (c *Cluster) WaitWarning(ctx context.Context, namespace, object, substr string, timeout time.Duration) error {
	_, err := c.WaitWarningReason(ctx, namespace, object, "", substr, timeout)
	return err
}

// WaitWarningReason waits for a Warning Event on the named object with
// reason ("" for any) whose message contains substr, and returns the
// message; the error lists the Events seen.
func (c *Cluster) WaitWarningReason(ctx context.Context, namespace, object, reason, substr string, timeout time.Duration) (string, error) {
	var msg, seen string
	err := WaitFor(ctx, timeout, "a Warning Event "+reason+" on "+object+" containing "+substr, func(ctx context.Context) (bool, error) {
		evs, err := c.Client.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + object})
		if err != nil {
			return false, err
		}
		seen = ""
		for _, ev := range evs.Items {
			seen += ev.Type + " " + ev.Reason + ": " + ev.Message + "\n"
			if ev.Type == corev1.EventTypeWarning && (reason == "" || ev.Reason == reason) && strings.Contains(ev.Message, substr) {
				msg = ev.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return "", fmt.Errorf("%w\nevents seen:\n%s", err, seen)
	}
	return msg, nil
}

// BollardAnnotations renders options (names without the bollard.io/
// prefix) as the inside of a YAML flow mapping, sorted by name.
func BollardAnnotations(options map[string]string) string {
	keys := make([]string, 0, len(options))
	for k := range options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		// %q is a valid YAML double-quoted scalar for these values.
		parts[i] = fmt.Sprintf("bollard.io/%s: %q", k, options[k])
	}
	return strings.Join(parts, ", ")
}

// WithAnnotations adds options as bollard.io annotations to the manifest y
// of the object name, whose metadata is "{name: NAME}".
func WithAnnotations(y, name string, options map[string]string) string {
	return strings.Replace(y, "metadata: {name: "+name+"}", "metadata: {name: "+name+", annotations: {"+BollardAnnotations(options)+"}}", 1)
}
