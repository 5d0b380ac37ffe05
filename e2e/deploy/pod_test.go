package deploy

import (
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestPodIsLockedDown: every container is non-root on a read-only root
// filesystem with no capability, no privilege escalation and the runtime's
// seccomp profile, and has resource requests and limits; the API token
// reaches the bollard container only.
func TestPodIsLockedDown(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			pod := kustomize(t, "overlays/"+overlay).workload(t).template.Spec
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Errorf("the pod must set automountServiceAccountToken: false")
			}
			if pod.ServiceAccountName != serviceAccount {
				t.Errorf("serviceAccountName %q, want %s", pod.ServiceAccountName, serviceAccount)
			}
			if pod.HostNetwork || pod.HostPID || pod.HostIPC {
				t.Errorf("the pod must not share the host's namespaces")
			}
			psc := pod.SecurityContext
			if psc == nil {
				psc = &corev1.PodSecurityContext{}
			}
			all := append(slices.Clone(pod.InitContainers), pod.Containers...)
			for _, c := range all {
				sc := c.SecurityContext
				if sc == nil {
					t.Errorf("container %s has no securityContext", c.Name)
					continue
				}
				nonRoot := sc.RunAsNonRoot != nil && *sc.RunAsNonRoot ||
					sc.RunAsNonRoot == nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
				if !nonRoot {
					t.Errorf("container %s: runAsNonRoot is not true", c.Name)
				}
				if uid := sc.RunAsUser; uid != nil && *uid == 0 || uid == nil && (psc.RunAsUser == nil || *psc.RunAsUser == 0) {
					t.Errorf("container %s: needs a numeric non-zero runAsUser (the images name their user)", c.Name)
				}
				if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
					t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
				}
				if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
				}
				if sc.Privileged != nil && *sc.Privileged {
					t.Errorf("container %s is privileged", c.Name)
				}
				if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
					t.Errorf("container %s: capabilities must drop ALL and add none, got %+v", c.Name, sc.Capabilities)
				}
				seccomp := sc.SeccompProfile
				if seccomp == nil {
					seccomp = psc.SeccompProfile
				}
				if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("container %s: seccompProfile is not RuntimeDefault", c.Name)
				}
				for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, lim := c.Resources.Requests[res], c.Resources.Limits[res]
					if req.IsZero() || lim.IsZero() || req.Cmp(lim) > 0 {
						t.Errorf("container %s: %s request %s and limit %s must both be set, request ≤ limit", c.Name, res, req.String(), lim.String())
					}
				}
				for _, p := range c.Ports {
					if p.HostPort != 0 || p.ContainerPort < 1024 {
						t.Errorf("container %s: port %s %d must be unprivileged and not a hostPort", c.Name, p.Name, p.ContainerPort)
					}
				}
				for _, m := range c.VolumeMounts {
					if m.MountPath == tokenPath && c.Name != "bollard" {
						t.Errorf("container %s mounts the service account token", c.Name)
					}
				}
			}
			mount := findMount(container(t, &pod, "bollard"), tokenPath)
			if mount == nil || !mount.ReadOnly {
				t.Fatalf("the bollard container must mount the token read-only at %s", tokenPath)
			}
			vol := findVolume(&pod, mount.Name)
			if vol == nil || vol.Projected == nil || !slices.ContainsFunc(vol.Projected.Sources, func(s corev1.VolumeProjection) bool {
				return s.ServiceAccountToken != nil && s.ServiceAccountToken.Path == "token"
			}) {
				t.Errorf("volume %s must be a projected service account token", mount.Name)
			}
			for _, v := range pod.Volumes {
				if v.HostPath != nil {
					t.Errorf("volume %s is a hostPath", v.Name)
				}
			}
		})
	}
}

// TestPodIsConsistent: the two containers, the bootstrap init container,
// the probes, the Service, the RBAC objects and the IngressClass agree on
// directories, ports and names.
func TestPodIsConsistent(t *testing.T) {
	for _, overlay := range overlays {
		t.Run(overlay, func(t *testing.T) {
			m := kustomize(t, "overlays/"+overlay)
			w := m.workload(t)
			pod := &w.template.Spec
			haproxyC, bollardC, bootstrapC := container(t, pod, "haproxy"), container(t, pod, "bollard"), container(t, pod, "bootstrap")
			_, ctl, _ := flagProblems(mustArgs(t, bollardC))
			_, boot, _ := flagProblems(mustArgs(t, bootstrapC))
			if !slices.ContainsFunc(pod.InitContainers, func(c corev1.Container) bool { return c.Name == "bootstrap" }) {
				t.Errorf("bootstrap must be an init container")
			}
			if ctl["haproxy-mode"] != "external" {
				t.Errorf("the controller must run with --haproxy-mode=external, got %q", ctl["haproxy-mode"])
			}
			for _, f := range []string{"config-dir", "runtime-dir", "http-port", "https-port", "stats-port", "bind-address"} {
				if ctl[f] != boot[f] {
					t.Errorf("--%s: controller %q, bootstrap %q", f, ctl[f], boot[f])
				}
			}
			wantCmd := []string{"haproxy", "-W", "-S", path.Join(ctl["runtime-dir"], "master.sock"), "-f", path.Join(ctl["config-dir"], "haproxy.cfg")}
			if got := append(slices.Clone(haproxyC.Command), haproxyC.Args...); !slices.Equal(got, wantCmd) {
				t.Errorf("haproxy runs %q, want %q", got, wantCmd)
			}
			if !strings.HasPrefix(haproxyC.Image, "haproxy:") || bollardC.Image != bootstrapC.Image {
				t.Errorf("images: haproxy %s, bollard %s, bootstrap %s", haproxyC.Image, bollardC.Image, bootstrapC.Image)
			}
			// The shared emptyDirs.
			for _, dir := range []string{ctl["config-dir"], ctl["runtime-dir"]} {
				var vols []string
				for _, c := range []*corev1.Container{haproxyC, bollardC, bootstrapC} {
					mnt := findMount(c, dir)
					if mnt == nil {
						t.Errorf("container %s does not mount %s", c.Name, dir)
						continue
					}
					if v := findVolume(pod, mnt.Name); v == nil || v.EmptyDir == nil {
						t.Errorf("%s in %s is not an emptyDir", dir, c.Name)
					}
					vols = append(vols, mnt.Name)
				}
				slices.Sort(vols)
				if vols = slices.Compact(vols); len(vols) != 1 {
					t.Errorf("%s is not one shared volume: %v", dir, vols)
				}
			}
			if mnt := findMount(bollardC, ctl["config-dir"]); mnt != nil && mnt.ReadOnly {
				t.Errorf("bollard must be able to write %s", ctl["config-dir"])
			}
			// HAProxy's ports are the controller's, and the Service maps 80 and 443 to them.
			ports := map[string]string{"http": ctl["http-port"], "https": ctl["https-port"], "stats": ctl["stats-port"]}
			for name, want := range ports {
				if p := findPort(haproxyC, name); p == nil || strconv.Itoa(int(p.ContainerPort)) != want {
					t.Errorf("haproxy port %s: %+v, want %s", name, p, want)
				}
			}
			checkProbe(t, haproxyC, haproxyC.LivenessProbe, "/healthz", ctl["stats-port"])
			checkProbe(t, haproxyC, haproxyC.ReadinessProbe, "/healthz", ctl["stats-port"])
			_, healthPort, _ := net.SplitHostPort(ctl["health-address"])
			checkProbe(t, bollardC, bollardC.LivenessProbe, "/healthz", healthPort)
			checkProbe(t, bollardC, bollardC.ReadinessProbe, "/readyz", healthPort)

			svcNS, svcName, _ := strings.Cut(ctl["publish-service"], "/")
			svc := only[*corev1.Service](t, m, svcName)
			if svc.Namespace != svcNS || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
				t.Errorf("--publish-service %s: Service %s/%s of type %s", ctl["publish-service"], svc.Namespace, svc.Name, svc.Spec.Type)
			}
			for port, target := range map[int32]string{80: "http", 443: "https"} {
				i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == port })
				if i < 0 || svc.Spec.Ports[i].TargetPort.String() != target && svc.Spec.Ports[i].TargetPort.String() != ports[target] {
					t.Errorf("Service port %d must target %s (%s)", port, target, ports[target])
				}
			}
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(w.template.Labels)) || len(svc.Spec.Selector) == 0 {
				t.Errorf("the Service selector %v does not select the pod %v", svc.Spec.Selector, w.template.Labels)
			}
			if sel, err := metav1.LabelSelectorAsSelector(w.selector); err != nil || !sel.Matches(labels.Set(w.template.Labels)) {
				t.Errorf("the %s selector does not select its pods", w.kind)
			}
			wantLocal := overlay == "daemonset"
			if got := svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal; got != wantLocal {
				t.Errorf("externalTrafficPolicy %q (Local wanted: %v)", svc.Spec.ExternalTrafficPolicy, wantLocal)
			}
			cmNS, cmName, _ := strings.Cut(ctl["configmap"], "/")
			if cm := only[*corev1.ConfigMap](t, m, cmName); cm.Namespace != cmNS || len(cm.Data) == 0 {
				t.Errorf("--configmap %s: ConfigMap %s/%s with %d keys", ctl["configmap"], cm.Namespace, cm.Name, len(cm.Data))
			}
			class := only[*networkingv1.IngressClass](t, m, ctl["ingress-class"])
			if class.Spec.Controller != ctl["controller-name"] || class.Spec.Controller != "bollard.io/ingress-controller" {
				t.Errorf("IngressClass %s has controller %q, the controller runs as %q", class.Name, class.Spec.Controller, ctl["controller-name"])
			}
			if ctl["leader-elect"] != "true" {
				t.Errorf("the controller must run with --leader-elect")
			}
			checkLeaseRole(t, m, ctl["election-id"])
			if overlay == "statefulset" {
				pdbs := all[*policyv1.PodDisruptionBudget](m)
				if len(pdbs) != 1 {
					t.Fatalf("want one PodDisruptionBudget, found %d", len(pdbs))
				}
				if sel, err := metav1.LabelSelectorAsSelector(pdbs[0].Spec.Selector); err != nil || !sel.Matches(labels.Set(w.template.Labels)) {
					t.Errorf("the PodDisruptionBudget does not select the pods")
				}
			}
		})
	}
}

func mustArgs(t *testing.T, c *corev1.Container) []string {
	t.Helper()
	args, err := bollardArgs(c)
	if err != nil {
		t.Fatal(err)
	}
	return args
}

func findMount(c *corev1.Container, path string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == path {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func findVolume(pod *corev1.PodSpec, name string) *corev1.Volume {
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

func findPort(c *corev1.Container, name string) *corev1.ContainerPort {
	for i := range c.Ports {
		if c.Ports[i].Name == name {
			return &c.Ports[i]
		}
	}
	return nil
}

// checkProbe asserts an HTTP probe on path whose port (by name or number)
// is port.
func checkProbe(t *testing.T, c *corev1.Container, p *corev1.Probe, path, port string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("container %s: missing an HTTP probe on %s", c.Name, path)
		return
	}
	got := p.HTTPGet.Port.String()
	if named := findPort(c, got); named != nil {
		got = strconv.Itoa(int(named.ContainerPort))
	}
	if p.HTTPGet.Path != path || got != port {
		t.Errorf("container %s: probe %s on port %s, want %s on port %s", c.Name, p.HTTPGet.Path, got, path, port)
	}
}

// checkLeaseRole: the namespaced Role lets the service account get and
// update the election Lease, and create Leases.
func checkLeaseRole(t *testing.T, m *manifests, electionID string) {
	t.Helper()
	verbs := map[string]bool{}
	for _, role := range all[*rbacv1.Role](m) {
		for _, r := range role.Rules {
			if !slices.Contains(r.APIGroups, "coordination.k8s.io") || !slices.Contains(r.Resources, "leases") {
				continue
			}
			for _, v := range r.Verbs {
				if len(r.ResourceNames) == 0 || slices.Contains(r.ResourceNames, electionID) {
					verbs[v] = true
				}
			}
		}
	}
	for _, v := range []string{"get", "create", "update"} {
		if !verbs[v] {
			t.Errorf("no Role lets bollard %s the Lease %s", v, electionID)
		}
	}
}
