package build

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// PodOptions shape the Kaniko build pod; other executors ignore them.
type PodOptions struct {
	ServiceAccount string
	// AutomountServiceAccountToken mounts the service account's API token
	// into the pod; builds need none, so it is off unless asked for
	// (workload identity that exchanges the token, say).
	AutomountServiceAccountToken bool
	// Resources of the executor; empty means DefaultResources.
	Resources    corev1.ResourceRequirements
	NodeSelector map[string]string
	// PlatformNodeSelectors replace, for a multi-platform build, the
	// kubernetes.io/os and kubernetes.io/arch labels a platform's pod is
	// scheduled by, by platform.
	PlatformNodeSelectors map[string]map[string]string
	Tolerations           []corev1.Toleration
	// Image is the Kaniko executor image; empty means DefaultKanikoImage.
	Image string
	// ImagePullPolicy of the executor; empty means IfNotPresent.
	ImagePullPolicy corev1.PullPolicy
	// ExtraArgs are appended to Kaniko's arguments unchanged.
	ExtraArgs []string
	Cache     Cache
	// Deadline bounds the pod's life on the cluster side
	// (activeDeadlineSeconds), so a build outlives a lost provider by at
	// most this long.
	Deadline time.Duration
	// KeepPod leaves the pod in place after the build, for debugging.
	KeepPod bool
}

// Cache configures Kaniko's registry layer cache.
type Cache struct {
	Enabled bool
	// Repo defaults to <Repository>/cache.
	Repo string
	// TTL of cached layers; zero keeps Kaniko's default.
	TTL time.Duration
	// BaseImageClaim names a PersistentVolumeClaim holding base images
	// cached by Kaniko's warmer; it is mounted read-only at /cache
	// (--cache-dir), so base images are not downloaded again.
	BaseImageClaim string
}

// DefaultKanikoImage is the executor image used when none is configured:
// the maintained community fork of Kaniko (GoogleContainerTools/kaniko
// was archived in June 2025). The -debug variant carries a shell, which
// the harness and many users rely on for debugging build pods.
const DefaultKanikoImage = "ghcr.io/osscontainertools/kaniko:v1.26.3-debug"

// DefaultResources are the executor's requests and limits when a spec
// sets none. The feasibility benchmark measured Kaniko's peak at about
// 1.1-1.4 CPUs (it uses what it gets) and 150-170 MiB on the study's
// build; the requests match the study's figures (500m, 512Mi) so the
// scheduler reserves what a typical build needs, memory is capped at
// 2Gi to keep a runaway build from starving its node, and CPU is not
// capped because throttling only makes builds slower. Kaniko writes
// the unpacked base, the context and the new layers into its container:
// the study's build wrote 130 MiB (its writable layer on the harness,
// measured with du on the node), so 1Gi is requested, and 16Gi
// caps a runaway build before it fills the node's disk while a
// context of a few GiB (which Kaniko holds about three times) fits.
var DefaultResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse("500m"),
		corev1.ResourceMemory:           resource.MustParse("512Mi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("1Gi"),
	},
	Limits: corev1.ResourceList{
		corev1.ResourceMemory:           resource.MustParse("2Gi"),
		corev1.ResourceEphemeralStorage: resource.MustParse("16Gi"),
	},
}
