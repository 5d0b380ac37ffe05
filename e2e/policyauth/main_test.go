// Package policyauth runs basic authentication (bollard.io/auth-type,
// auth-secret, auth-realm) end to end: the real test cluster, `bollard
// controller`, a real HAProxy in managed mode and echo pods.
package policyauth

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bollard-io/bollard/e2e/framework"
)

// cluster is set by TestMain for the whole test binary.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(framework.Main(m, framework.Options{Subnet: "198.18.13.0/24"}, func(c *framework.Cluster) { cluster = c }))
}

// bcryptSecret is a bcrypt hash (cost 5) of "secret", made with
// `htpasswd -nbB -C 5 carol secret`: openssl has no bcrypt, and the module
// has no bcrypt package, so the test does not generate one.
const bcryptSecret = "$2y$05$1LA9leAQIVaKE/mgcXo/auuk6yywU53HrZeIX0vGzio0f/iKtl3MC"

// opensslHash hashes password with `openssl passwd` (-6, -5 or -apr1).
func opensslHash(t *testing.T, scheme, password string) string {
	t.Helper()
	out, err := exec.Command("openssl", "passwd", scheme, password).Output()
	if err != nil {
		t.Fatalf("openssl passwd %s: %v (hack/deps.sh installs openssl)", scheme, err)
	}
	return strings.TrimSpace(string(out))
}

// putSecret creates or replaces the Opaque Secret name with htpasswd lines.
func putSecret(t *testing.T, namespace, name string, lines ...string) {
	t.Helper()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"auth": []byte(strings.Join(lines, "\n") + "\n"), "unrelated": []byte("not read")},
	}
	secrets := cluster.Client.CoreV1().Secrets(namespace)
	ctx := context.Background()
	old, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		secret.ResourceVersion = old.ResourceVersion
		_, err = secrets.Update(ctx, secret, metav1.UpdateOptions{})
	} else {
		_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// ingress renders an Ingress of one Prefix rule host+path → app:80 with
// the bollard.io annotations given as "name: value" pairs.
func ingress(name, host, path string, annotations ...string) string {
	y := framework.IngressYAML(name, host, framework.Path{Path: path, Type: "Prefix", Service: "app"})
	for i := range annotations {
		k, v, _ := strings.Cut(annotations[i], ": ")
		annotations[i] = fmt.Sprintf("bollard.io/%s: %q", k, v)
	}
	return strings.Replace(y, "metadata: {name: "+name+"}", "metadata: {name: "+name+", annotations: {"+strings.Join(annotations, ", ")+"}}", 1)
}

// get sends one request, with Basic credentials when user is not "".
func get(t *testing.T, b *framework.Bollard, host, path, user, password string) *framework.Response {
	t.Helper()
	r := b.Request(host, path)
	if user != "" {
		r.Header = map[string][]string{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}}
	}
	resp, err := framework.Do(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitStatus waits until get answers with status.
func waitStatus(t *testing.T, b *framework.Bollard, host, path, user, password string, status int, timeout time.Duration) {
	t.Helper()
	last := 0
	err := framework.WaitFor(context.Background(), timeout, fmt.Sprintf("%s%s as %q answers %d", host, path, user, status), func(ctx context.Context) (bool, error) {
		r := b.Request(host, path)
		if user != "" {
			r.Header = map[string][]string{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}}
		}
		resp, err := framework.Do(ctx, r)
		if err != nil {
			return false, nil
		}
		last = resp.Status
		return resp.Status == status, nil
	})
	if err != nil {
		t.Fatalf("%v (last status %d)\nbollard log (tail):\n%s", err, last, tail(b.Log(), 30))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
