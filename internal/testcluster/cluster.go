package testcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"
	kindlog "sigs.k8s.io/kind/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
)

func nodeImageRecipe() string {
	return nodeRootfsRecipe() + "\n" + kubernetesComponent.recipe() + "\nnode-image/v2: CNI configured per node after create"
}

// ensureNodeImage makes the kind node image present in Docker: already
// loaded with the current recipe, pulled from the mirror, or built from
// the node root file system and the Kubernetes binaries.
func (h *Harness) ensureNodeImage(ctx context.Context) error {
	tag := nodeImageRepository + ":" + KubernetesVersion
	want := recipeHash(nodeImageRecipe())
	got, err := output(ctx, cmd("docker", "image", "inspect", "-f", "{{index .Config.Labels \""+recipeLabel+"\"}}", tag))
	if err == nil && got == want {
		h.Progress.Printf("node image %s: present in Docker", tag)
		return nil
	}
	if h.Mirror != "" && !h.Offline {
		src := strings.TrimSuffix(h.Mirror, "/") + "/" + tag
		if _, err := output(ctx, cmd("docker", "pull", src)); err == nil {
			if _, err := output(ctx, cmd("docker", "tag", src, tag)); err == nil {
				h.Progress.Printf("node image %s: pulled from %s", tag, src)
				return nil
			}
		} else {
			h.Progress.Printf("node image: not available from %s (%s)", src, shortErr(err))
		}
	}
	return h.Progress.Step("build the kind node image "+tag, func() error {
		if err := kubernetesComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
			return err
		}
		rootfs, err := h.nodeRootfsLayer(ctx)
		if err != nil {
			return err
		}
		var entries []fileEntry
		for _, b := range []string{"kubelet", "kubeadm", "kubectl"} {
			entries = append(entries, fileEntry{Path: "/usr/bin/" + b, HostPath: kubernetesComponent.Binary(h.Cache, b), Mode: 0o755})
		}
		entries = append(entries, fileEntry{Path: "/kind/version", Content: []byte(KubernetesVersion)},
			// A whiteout: the root file system's single-node CNI
			// configuration goes; wirePodNetwork writes one per node.
			fileEntry{Path: "/etc/cni/net.d/.wh.10-ptp.conflist", Content: []byte{}})
		k8s, err := layer(entries)
		if err != nil {
			return err
		}
		img, err := assemble(nil, []v1.Layer{rootfs, k8s}, imageConfig{
			Entrypoint: []string{"/usr/local/bin/entrypoint", "/sbin/init"},
			Env:        []string{"container=docker", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			StopSignal: "SIGRTMIN+3",
			Labels:     map[string]string{recipeLabel: want},
		})
		if err != nil {
			return err
		}
		return dockerLoad(ctx, h.Cache, img, tag)
	})
}

func (h *Harness) kindProvider() *cluster.Provider {
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindLogger{h.Progress}))
}

// mirroredRegistries are the names the node's container runtime resolves
// through the local registry: the control-plane images' home, the
// executor's home, and the names tests and pods use.
func (h *Harness) mirroredRegistries() []string {
	return []string{"registry.k8s.io", "gcr.io", "ghcr.io", "docker.io", "localhost:5000", clusterRegistryName, h.RegistryName + ":5000"}
}

// hostsToml is containerd's mirror configuration for one registry name:
// pull through the local registry, falling back to the real registry
// where there is one.
func hostsToml(registry, mirror string) string {
	server := "http://" + mirror
	switch registry {
	case "docker.io":
		server = "https://registry-1.docker.io"
	case "registry.k8s.io", "gcr.io", "ghcr.io":
		server = "https://" + registry
	}
	return fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n  skip_verify = true\n", server, "http://"+mirror)
}

// certsDFiles is the mirror configuration the node mounts at
// /etc/containerd/certs.d, by relative path.
func (h *Harness) certsDFiles() map[string]string {
	files := map[string]string{}
	mirror := h.RegistryName + ":5000"
	for _, r := range h.mirroredRegistries() {
		files[filepath.Join(r, "hosts.toml")] = hostsToml(r, mirror)
	}
	return files
}

// certsDPath is where the mirror configuration lives on the host.
func (h *Harness) certsDPath() string { return filepath.Join(h.StateDir, "certs.d") }

// writeCertsD writes the mirror configuration. Only call it when the
// cluster is (re)created: a running node has the directory bind-mounted,
// and replacing it would take the mirrors away from under containerd.
func (h *Harness) writeCertsD(files map[string]string) error {
	dir := h.certsDPath()
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	for rel, content := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// kindConfig is the cluster configuration. Each patch is needed on the
// project's machines (see ../shared/README.md): no kindnetd image, so a
// static CNI config in the node image; restrict_oom_score_adj or every
// sandbox fails in this sandbox; cgroup v1 allowed for kubelet 1.37.
func (h *Harness) kindConfig(certsD string) *v1alpha4.Cluster {
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Networking: v1alpha4.Networking{
			DisableDefaultCNI: true,
			KubeProxyMode:     v1alpha4.IPTablesProxyMode,
		},
		ContainerdConfigPatches: []string{`[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  sandbox_image = "registry.k8s.io/pause:` + PauseVersion + `"
[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = "/etc/containerd/certs.d"`},
		KubeadmConfigPatches: []string{`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false`},
	}
	for i := 0; i <= h.Workers; i++ {
		role := v1alpha4.WorkerRole
		if i == 0 {
			role = v1alpha4.ControlPlaneRole
		}
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{
			Role:        role,
			Image:       nodeImageRepository + ":" + KubernetesVersion,
			ExtraMounts: []v1alpha4.Mount{{HostPath: certsD, ContainerPath: "/etc/containerd/certs.d", Readonly: true}},
		})
	}
	v1alpha4.SetDefaultsCluster(cfg)
	return cfg
}

// ensureCluster reuses a healthy cluster or (re)creates it, then wires
// the registry into it.
func (h *Harness) ensureCluster(ctx context.Context) error {
	provider := h.kindProvider()
	names, err := provider.List()
	if err != nil {
		return fmt.Errorf("listing kind clusters: %w", err)
	}
	exists := false
	for _, n := range names {
		exists = exists || n == h.ClusterName
	}
	certsD := h.certsDFiles()
	kindCfg := h.kindConfig(h.certsDPath())
	fingerprint, err := clusterFingerprint(kindCfg, certsD)
	if err != nil {
		return err
	}
	if exists {
		if err := provider.ExportKubeConfig(h.ClusterName, h.kubeconfigPath(), false); err == nil {
			switch got, err := h.healthyWithFingerprint(ctx); {
			case err != nil:
				h.Progress.Printf("kind cluster %s is not healthy (%v); recreating it", h.ClusterName, err)
			case got != fingerprint:
				h.Progress.Printf("kind cluster %s was created from another configuration (nodes, mirrors or node image); recreating it", h.ClusterName)
			default:
				err := h.Progress.Step("reuse the healthy kind cluster "+h.ClusterName+" (pod routes, registry, a pod on every node reaching it)", func() error {
					return h.reuseCluster(ctx)
				})
				if err == nil {
					return nil
				}
				if ctx.Err() != nil {
					return err
				}
				h.Progress.Printf("kind cluster %s cannot be reused (%v); recreating it", h.ClusterName, err)
			}
		}
		if err := provider.Delete(h.ClusterName, h.kubeconfigPath()); err != nil {
			return err
		}
	}
	if err := h.writeCertsD(certsD); err != nil {
		return err
	}
	err = h.Progress.Step("create kind cluster "+h.ClusterName+" (Kubernetes "+KubernetesVersion+")", func() error {
		return h.createCluster(ctx, provider, kindCfg)
	})
	if err != nil {
		return err
	}
	// The node image carries no CNI configuration: each node gets one
	// for its own pod subnet, and routes to the others' (no kindnetd
	// here), before it can become Ready.
	if err := h.Progress.Step("configure pod networking on every node (ptp per pod subnet, routes between nodes)", func() error {
		return h.wirePodNetwork(ctx)
	}); err != nil {
		return err
	}
	if err := h.Progress.Step("wait for every node to be Ready", func() error {
		return h.waitNodesReady(ctx, defaultCreateTimeout)
	}); err != nil {
		return err
	}
	if err := h.WireRegistry(ctx); err != nil {
		return err
	}
	err = h.Progress.Step("wait for CoreDNS, kube-proxy and the default service account", func() error {
		if err := h.waitSystemPods(ctx, 3*time.Minute); err != nil {
			return err
		}
		return h.waitDefaultServiceAccount(ctx, time.Minute)
	})
	if err != nil {
		return err
	}
	// Ready system pods are not yet a working path from a build pod to
	// the registry: the first build once took 15 s where later ones took
	// 3. Prove the path on every node the way Kaniko takes it (the
	// Service name through CoreDNS, then the registry), which also puts
	// the executor image on every node.
	err = h.Progress.Step("check that pods on every node resolve and reach "+clusterRegistryName, func() error {
		return h.waitRegistryFromPods(ctx, 2*time.Minute)
	})
	if err != nil {
		return err
	}
	return h.recordFingerprint(ctx, fingerprint)
}

// reuseCluster makes an existing cluster fit for builds again. A restart
// of Docker (or of the machine) restarts the node containers but not the
// routes between their pod subnets, and a pod's DNS query then never
// reaches CoreDNS on another node: so the routes are put back and the
// path from a pod on every node to the registry is proved, as after a
// create.
func (h *Harness) reuseCluster(ctx context.Context) error {
	if err := h.wirePodNetwork(ctx); err != nil {
		return err
	}
	if err := h.WireRegistry(ctx); err != nil {
		return err
	}
	return h.waitRegistryFromPods(ctx, 90*time.Second)
}

// createCluster runs kind's create, which takes no context: on Ctrl-C
// the half-made cluster is deleted, which ends the create within
// seconds instead of minutes. A create that fails keeps kind's logs
// (node journals, containerd, kubelet) for whoever investigates.
func (h *Harness) createCluster(ctx context.Context, provider *cluster.Provider, cfg *v1alpha4.Cluster) error {
	done := make(chan error, 1)
	go func() {
		done <- provider.Create(h.ClusterName,
			cluster.CreateWithV1Alpha4Config(cfg),
			cluster.CreateWithKubeconfigPath(h.kubeconfigPath()),
			cluster.CreateWithDisplayUsage(false),
			cluster.CreateWithDisplaySalutation(false),
			cluster.CreateWithRetain(true),
		)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		h.Progress.Printf("interrupted: deleting the half-made cluster %s", h.ClusterName)
		_ = provider.Delete(h.ClusterName, h.kubeconfigPath())
		<-done
		return ctx.Err()
	}
	if err == nil {
		return nil
	}
	logs := filepath.Join(h.Cache.Path("logs"), "kind-"+h.ClusterName+"-"+time.Now().UTC().Format("20060102T150405Z"))
	if cerr := provider.CollectLogs(h.ClusterName, logs); cerr == nil {
		h.Progress.Printf("kind's logs of the failed create: %s", logs)
		err = fmt.Errorf("%w (kind's logs: %s)", err, logs)
	} else {
		h.Progress.Printf("collecting kind's logs failed: %v", cerr)
	}
	_ = provider.Delete(h.ClusterName, h.kubeconfigPath())
	return err
}

// fingerprintConfigMap records what a cluster was created from, so that a
// changed configuration (node count, mirrors, node image) is never
// silently reused.
const fingerprintConfigMap = "onesbuild-harness"

// clusterFingerprint hashes the kind configuration, the mirror files it
// mounts and the node image recipe.
func clusterFingerprint(cfg *v1alpha4.Cluster, certsD map[string]string) (string, error) {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	parts := []string{string(data), nodeImageRecipe()}
	var rels []string
	for rel := range certsD {
		rels = append(rels, rel)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		parts = append(parts, rel+"\n"+certsD[rel])
	}
	return recipeHash(strings.Join(parts, "\n---\n")), nil
}

// healthyWithFingerprint checks the cluster and returns the fingerprint
// it was created with ("" for clusters from before fingerprints).
func (h *Harness) healthyWithFingerprint(ctx context.Context) (string, error) {
	// Node containers that have just restarted (Docker or the machine
	// did) answer with errors such as RBAC refusals for a few seconds:
	// give them a minute before recreating the cluster.
	deadline := time.Now().Add(time.Minute)
	for {
		err := h.healthy(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	client, err := h.client()
	if err != nil {
		return "", err
	}
	cm, err := client.CoreV1().ConfigMaps("kube-system").Get(ctx, fingerprintConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return cm.Data["fingerprint"], nil
}

func (h *Harness) recordFingerprint(ctx context.Context, fingerprint string) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: fingerprintConfigMap, Namespace: "kube-system", Labels: map[string]string{"app.kubernetes.io/managed-by": "onesbuild-harness"}},
		Data:       map[string]string{"fingerprint": fingerprint},
	}
	_, err = client.CoreV1().ConfigMaps("kube-system").Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		_, err = client.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{})
	}
	return err
}

// waitRegistryFromPods runs a probe pod on each node, with the executor
// image's busybox, until it resolves the registry's Service name and gets
// an answer from /v2/.
func (h *Harness) waitRegistryFromPods(ctx context.Context, timeout time.Duration) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	host, port, _ := strings.Cut(clusterRegistryName, ":")
	// busybox's own nslookup: a static busybox cannot resolve through the
	// C library.
	script := fmt.Sprintf(`for i in $(seq 60); do ip=$(nslookup %s 2>/dev/null | awk '/^Address/ {a=$NF} END {print a}'); if [ -n "$ip" ] && wget -q -O /dev/null http://$ip:%s/v2/; then echo ok; exit 0; fi; sleep 1; done; exit 1`, host, port)
	image := "localhost:5000/" + kanikoImagePath
	errs := make(chan error, len(nodes.Items))
	for _, n := range nodes.Items {
		go func(node string) {
			start := time.Now()
			_, err := kube.RunToCompletionOn(ctx, client, "default", node, image, []string{"/busybox/sh", "-c", script}, timeout)
			if err == nil {
				h.Progress.Printf("node %s: registry reached from a pod after %s", node, since(start))
			} else {
				err = fmt.Errorf("pods on node %s cannot reach %s: %w", node, clusterRegistryName, err)
			}
			errs <- err
		}(n.Name)
	}
	var first error
	for range nodes.Items {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// waitDefaultServiceAccount waits for default/default: pods cannot be
// created in a namespace before its service account exists.
func (h *Harness) waitDefaultServiceAccount(ctx context.Context, timeout time.Duration) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		_, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service account default/default missing after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (h *Harness) client() (kubernetes.Interface, error) {
	_, client, err := kube.ClientsFromKubeconfig(h.kubeconfigPath())
	return client, err
}

// nodeNetwork is what pod networking needs to know of one node.
type nodeNetwork struct {
	name, podCIDR, ip string
}

// ptpConflistFor is the CNI configuration of a node: point-to-point
// links with addresses from the node's own pod subnet.
func ptpConflistFor(podCIDR string) string {
	return fmt.Sprintf(`{
  "cniVersion": "0.4.0",
  "name": "ptp",
  "plugins": [
    {"type": "ptp", "ipMasq": true, "mtu": 1500,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, podCIDR)
}

// routeCommands are the ip route commands node n needs to reach the pod
// subnets of the others.
func routeCommands(n nodeNetwork, all []nodeNetwork) [][]string {
	var cmds [][]string
	for _, o := range all {
		if o.name != n.name {
			cmds = append(cmds, []string{"ip", "route", "replace", o.podCIDR, "via", o.ip})
		}
	}
	return cmds
}

// wirePodNetwork writes each node's CNI configuration and routes, once
// the controller manager has given every node its pod subnet.
func (h *Harness) wirePodNetwork(ctx context.Context) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	var nodes []nodeNetwork
	for {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		nodes = nil
		if err == nil {
			for _, n := range list.Items {
				ip := ""
				for _, a := range n.Status.Addresses {
					if a.Type == corev1.NodeInternalIP {
						ip = a.Address
					}
				}
				if n.Spec.PodCIDR != "" && ip != "" {
					nodes = append(nodes, nodeNetwork{n.Name, n.Spec.PodCIDR, ip})
				}
			}
			if len(nodes) == h.Workers+1 {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d nodes have a pod subnet after 2 minutes (%v)", len(nodes), h.Workers+1, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	for _, n := range nodes {
		write := cmd("docker", "exec", "-i", n.name, "sh", "-c", "mkdir -p /etc/cni/net.d && cat > /etc/cni/net.d/10-ptp.conflist")
		write.stdin = strings.NewReader(ptpConflistFor(n.podCIDR))
		if _, err := output(ctx, write); err != nil {
			return fmt.Errorf("writing the CNI configuration of %s: %w", n.name, err)
		}
		for _, r := range routeCommands(n, nodes) {
			if _, err := output(ctx, cmd("docker", append([]string{"exec", n.name}, r...)...)); err != nil {
				return fmt.Errorf("adding a route on %s: %w", n.name, err)
			}
		}
		h.Progress.Printf("node %s: pod subnet %s, address %s", n.name, n.podCIDR, n.ip)
	}
	return nil
}

// waitNodesReady waits until every node reports Ready.
func (h *Harness) waitNodesReady(ctx context.Context, timeout time.Duration) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		var waiting []string
		if err == nil {
			for _, n := range list.Items {
				if !nodeReady(n) {
					waiting = append(waiting, n.Name)
				}
			}
			if len(waiting) == 0 && len(list.Items) == h.Workers+1 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nodes not Ready after %s: %v (%v)", timeout, waiting, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// healthy checks that the node is Ready and the system pods run.
func (h *Harness) healthy(ctx context.Context) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	if len(nodes.Items) == 0 {
		return fmt.Errorf("no nodes")
	}
	for _, n := range nodes.Items {
		if !nodeReady(n) {
			return fmt.Errorf("node %s is not Ready", n.Name)
		}
	}
	if err := h.waitSystemPods(ctx, 15*time.Second); err != nil {
		return err
	}
	return h.waitDefaultServiceAccount(ctx, 15*time.Second)
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitSystemPods waits until every kube-system pod runs and is ready.
func (h *Harness) waitSystemPods(ctx context.Context, timeout time.Duration) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		pods, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
		var notReady []string
		if err != nil {
			notReady = append(notReady, err.Error())
		} else {
			for _, p := range pods.Items {
				if !podReady(p) {
					notReady = append(notReady, p.Name+" ("+podProblem(p)+")")
				}
			}
			if len(pods.Items) == 0 {
				notReady = append(notReady, "no pods yet")
			}
		}
		if len(notReady) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			sort.Strings(notReady)
			return fmt.Errorf("kube-system pods not ready after %s: %s", timeout, strings.Join(notReady, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func podReady(p corev1.Pod) bool {
	if p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podProblem(p corev1.Pod) string {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return w.Reason + ": " + w.Message
		}
	}
	return string(p.Status.Phase)
}

// WireRegistry makes registry.kube-system.svc.cluster.local:5000 resolve
// to the registry container and publishes the registry per KEP-1755. Call
// it again after restarting the registry container, whose address on the
// kind network may change.
func (h *Harness) WireRegistry(ctx context.Context) error {
	client, err := h.client()
	if err != nil {
		return err
	}
	ip, err := h.registryIP(ctx)
	if err != nil {
		return err
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: "kube-system", Labels: map[string]string{"app.kubernetes.io/managed-by": "onesbuild-harness"}},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 5000, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := client.CoreV1().Services("kube-system").Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the registry Service: %w", err)
	}
	port, proto, name := int32(5000), corev1.ProtocolTCP, "http"
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "registry-1", Namespace: "kube-system", Labels: map[string]string{
			discoveryv1.LabelServiceName: "registry", discoveryv1.LabelManagedBy: "onesbuild-harness",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port, Protocol: &proto}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}}},
	}
	slices := client.DiscoveryV1().EndpointSlices("kube-system")
	if existing, err := slices.Get(ctx, slice.Name, metav1.GetOptions{}); err == nil {
		slice.ResourceVersion = existing.ResourceVersion
		_, err = slices.Update(ctx, slice, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("updating the registry EndpointSlice: %w", err)
		}
	} else if _, err := slices.Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating the registry EndpointSlice: %w", err)
	}
	hosting := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "local-registry-hosting", Namespace: "kube-public"},
		Data: map[string]string{"localRegistryHosting.v1": fmt.Sprintf(
			"host: %q\nhostFromContainerRuntime: %q\nhostFromClusterNetwork: %q\nhelp: \"https://kind.sigs.k8s.io/docs/user/local-registry/\"\n",
			h.hostRegistry(), h.RegistryName+":5000", clusterRegistryName)},
	}
	cms := client.CoreV1().ConfigMaps("kube-public")
	if _, err := cms.Create(ctx, hosting, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = cms.Update(ctx, hosting, metav1.UpdateOptions{})
		if err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	h.Progress.Printf("registry wired: %s -> %s:5000 (container %s)", clusterRegistryName, ip, h.RegistryName)
	return nil
}

// kindLogger forwards kind's user-facing messages to the progress output.
type kindLogger struct{ p *Progress }

func (l kindLogger) Warn(message string)                      { l.p.Printf("kind: %s", message) }
func (l kindLogger) Warnf(format string, args ...any)         { l.p.Printf("kind: "+format, args...) }
func (l kindLogger) Error(message string)                     { l.p.Printf("kind: ERROR %s", message) }
func (l kindLogger) Errorf(format string, args ...any)        { l.p.Printf("kind: ERROR "+format, args...) }
func (l kindLogger) V(level kindlog.Level) kindlog.InfoLogger { return kindInfo{l.p, level == 0} }

type kindInfo struct {
	p       *Progress
	enabled bool
}

func (i kindInfo) Info(message string) {
	if i.enabled {
		i.p.Printf("kind: %s", strings.TrimSpace(message))
	}
}
func (i kindInfo) Infof(format string, args ...any) {
	if i.enabled {
		i.p.Printf("kind: "+strings.TrimSpace(format), args...)
	}
}
func (i kindInfo) Enabled() bool { return i.enabled }
