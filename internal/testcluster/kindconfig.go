package testcluster

import "sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

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
