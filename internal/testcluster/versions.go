package testcluster

// Pinned versions of everything the harness builds or runs. Changing one
// invalidates that component's cache entry only.
const (
	KubernetesVersion = "v1.37.2"
	kubernetesStaging = "v0.37.2"
	// KanikoVersion is the maintained community fork of Kaniko
	// (osscontainertools), the provider's default executor. v1.26.3 is
	// what the Go module proxy serves here.
	KanikoVersion = "v1.26.3"
	// LegacyKanikoVersion is the last release of the archived
	// GoogleContainerTools/kaniko, kept so that kaniko_image pointing at it
	// is proven to keep working.
	LegacyKanikoVersion = "v1.24.0"
	EtcdVersion         = "v3.7.0"
	EtcdImageTag        = "3.7.0-0"
	CoreDNSVersion      = "v1.14.6"
	PauseVersion        = "3.10.2"
	DistributionVersion = "v3.1.2"
	OpenTofuVersion     = "v1.10.6"
	CosignVersion       = "v2.6.5"
	DebianSuite         = "bookworm"

	// StudyBaseImage is the base image of the feasibility study's
	// Dockerfile; the harness provides a stand-in of similar size.
	StudyBaseImage = "ones/plugin-host-node:v6.33.1"
	// StudyBaseMultiImage is the same stand-in as an OCI index of
	// linux/amd64 and linux/arm64/v8 (see studyBasePlatforms), for
	// builds that pick a platform from a multi-platform base.
	StudyBaseMultiImage = StudyBaseImage + "-multi"

	// RegistryServerImage is the distribution registry in the local
	// registry, for tests that run a registry inside the cluster.
	RegistryServerImage = "onesbuild/registry:" + DistributionVersion
)

var (
	kubernetesComponent = goComponent{
		Name: "kubernetes", Module: "k8s.io/kubernetes", Version: KubernetesVersion,
		LocalReplaceVersion: kubernetesStaging,
		Binaries: []goBinary{
			{"k8s.io/kubernetes/cmd/kubelet", "kubelet"},
			{"k8s.io/kubernetes/cmd/kubeadm", "kubeadm"},
			{"k8s.io/kubernetes/cmd/kubectl", "kubectl"},
			{"k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver"},
			{"k8s.io/kubernetes/cmd/kube-controller-manager", "kube-controller-manager"},
			{"k8s.io/kubernetes/cmd/kube-scheduler", "kube-scheduler"},
			{"k8s.io/kubernetes/cmd/kube-proxy", "kube-proxy"},
		},
		// The version the binaries report; kubeadm compares them.
		LDFlags: "-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
			" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37" +
			" -X k8s.io/component-base/version.gitTreeState=clean" +
			" -X k8s.io/client-go/pkg/version.gitVersion=" + KubernetesVersion,
	}
	kanikoComponent = goComponent{
		Name: "kaniko-osscontainertools", Module: "github.com/osscontainertools/kaniko", Version: KanikoVersion,
		Binaries: []goBinary{
			{"github.com/osscontainertools/kaniko/cmd/executor", "executor"},
			{"github.com/osscontainertools/kaniko/cmd/warmer", "warmer"},
		},
		LDFlags: "-X github.com/osscontainertools/kaniko/pkg/version.version=" + KanikoVersion,
		// The checksum database does not know this version of the fork;
		// the module proxy serves it, and the wrapper's go.sum pins what
		// it served.
		Env: []string{"GONOSUMDB=github.com/osscontainertools"},
	}
	legacyKanikoComponent = goComponent{
		Name: "kaniko", Module: "github.com/GoogleContainerTools/kaniko", Version: LegacyKanikoVersion,
		Binaries: []goBinary{
			{"github.com/GoogleContainerTools/kaniko/cmd/executor", "executor"},
			{"github.com/GoogleContainerTools/kaniko/cmd/warmer", "warmer"},
		},
		LDFlags: "-X github.com/GoogleContainerTools/kaniko/pkg/version.version=" + LegacyKanikoVersion,
	}
	etcdComponent = goComponent{
		Name: "etcd", Module: "go.etcd.io/etcd/server/v3", Version: EtcdVersion,
		Binaries: []goBinary{{"go.etcd.io/etcd/server/v3", "etcd"}},
	}
	corednsComponent = goComponent{
		Name: "coredns", Module: "github.com/coredns/coredns", Version: CoreDNSVersion,
		Binaries: []goBinary{{"github.com/coredns/coredns", "coredns"}},
	}
	distributionComponent = goComponent{
		Name: "distribution", Module: "github.com/distribution/distribution/v3", Version: DistributionVersion,
		Binaries: []goBinary{{"github.com/distribution/distribution/v3/cmd/registry", "registry"}},
	}
	// cosign checks the provider's signatures in the acceptance tests, as
	// users check them: an implementation other than the provider's.
	cosignComponent = goComponent{
		Name: "cosign", Module: "github.com/sigstore/cosign/v2", Version: CosignVersion,
		Binaries: []goBinary{{"github.com/sigstore/cosign/v2/cmd/cosign", "cosign"}},
		LDFlags:  "-X sigs.k8s.io/release-utils/version.gitVersion=" + CosignVersion,
	}
	opentofuComponent = goComponent{
		Name: "opentofu", Module: "github.com/opentofu/opentofu", Version: OpenTofuVersion,
		Binaries: []goBinary{{"github.com/opentofu/opentofu/cmd/tofu", "tofu"}},
		LDFlags:  "-X github.com/opentofu/opentofu/version.dev=no",
	}
)
