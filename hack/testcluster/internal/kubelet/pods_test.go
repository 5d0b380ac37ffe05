package kubelet

import (
	"os/exec"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSpecForPassesLiteralEchoEnv(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns1", Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{
				Name:  "echo",
				Ports: []corev1.ContainerPort{{ContainerPort: 9000}},
				Env: []corev1.EnvVar{
					{Name: "ECHO_TLS_CERT", Value: "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"},
					{Name: "OTHER", Value: "x"},
					{Name: "ECHO_FROM_SECRET", ValueFrom: &corev1.EnvVarSource{
						SecretKeyRef: &corev1.SecretKeySelector{Key: "k"},
					}},
					{Name: "echo_lower", Value: "y"},
					{Name: "ECHO_EMPTY"},
				},
			},
			{Name: "side", Env: []corev1.EnvVar{{Name: "ECHO_GRPC_HEALTH", Value: "NOT_SERVING"}}},
		}},
	}
	spec := specFor(pod)
	want := []string{
		"ECHO_TLS_CERT=-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n",
		"ECHO_EMPTY=",
		"ECHO_GRPC_HEALTH=NOT_SERVING",
	}
	if !slices.Equal(spec.Env, want) {
		t.Errorf("env %q, want %q", spec.Env, want)
	}
	if spec.Port != 9000 || spec.Service != "web" {
		t.Errorf("spec %+v", spec)
	}
	if env := specFor(&corev1.Pod{}).Env; env != nil {
		t.Errorf("a Pod without env gives %q", env)
	}
}

func TestPodPort(t *testing.T) {
	pod := func(image string, ports ...corev1.ContainerPort) *corev1.Pod {
		return &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: image, Ports: ports}}}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want int
	}{
		{"no port", pod("bollard.io/echo:test"), defaultPort},
		{"declared", pod("bollard.io/echo:test", corev1.ContainerPort{ContainerPort: 9000}), 9000},
		{"UDP only", pod("x", corev1.ContainerPort{ContainerPort: 53, Protocol: corev1.ProtocolUDP}), defaultPort},
		{"echo-basic", pod("registry.k8s.io/gateway-api/echo-basic:v1.5.1"), echoBasicPort},
		{"echo-basic declared", pod("registry.k8s.io/gateway-api/echo-basic:v1.5.1", corev1.ContainerPort{ContainerPort: 3100}), 3100},
	} {
		if got := podPort(tc.pod); got != tc.want {
			t.Errorf("%s: port %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestBackendEnvReplacesInheritedEchoVariables(t *testing.T) {
	got := backendEnv([]string{"PATH=/bin", "ECHO_LISTEN=:1", "ECHO_GRPC_HEALTH=UNKNOWN", "HOME=/root"},
		[]string{"ECHO_GRPC_HEALTH=NOT_SERVING"})
	want := []string{"PATH=/bin", "HOME=/root", "ECHO_GRPC_HEALTH=NOT_SERVING"}
	if !slices.Equal(got, want) {
		t.Errorf("env %q, want %q", got, want)
	}
}

// TestBackendEnvReachesTheProcess runs a shell with the environment start gives the echo
// process (without the network namespace) and checks that a multi-line PEM arrives whole.
func TestBackendEnvReachesTheProcess(t *testing.T) {
	pem := "-----BEGIN CERTIFICATE-----\nAAA\nBBB\n-----END CERTIFICATE-----\n"
	t.Setenv("ECHO_STALE", "from-kubelet")
	cmd := exec.Command("sh", "-c", `printf '%s|%s' "$ECHO_TLS_CERT" "${ECHO_STALE-unset}"`)
	cmd.Env = backendEnv(cmd.Environ(), []string{"ECHO_TLS_CERT=" + pem})
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), pem+"|unset"; got != want {
		t.Errorf("process saw %q, want %q", got, want)
	}
}
