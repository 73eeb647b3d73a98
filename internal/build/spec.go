package build

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// Spec is everything one build needs, whichever executor runs it.
type Spec struct {
	// Executor names the executor: ExecutorKaniko (also when empty),
	// ExecutorDirect or ExecutorAuto; see Select.
	Executor string
	// Namespace is where build pods run and where secrets the build
	// refers to live.
	Namespace string
	// Repository is where the image is pushed, as the cluster sees it,
	// without tag or digest (registry.kube-system.svc.cluster.local:5000/app).
	Repository string
	// Tags are pushed as Repository:tag; at least one.
	Tags []string

	// Context, exactly one of: Source is a local context the provider
	// archives (and Kaniko reads from stdin); ContextURL is fetched by
	// Kaniko itself (git://, s3://, gs://, https://...tar.gz, dir://).
	Source     *buildcontext.Source
	ContextURL string
	// Snapshot is Source archived once; executors read only the snapshot.
	// TakeSnapshot fills it.
	Snapshot *buildcontext.Snapshot
	// ContextSHA256 identifies a URL context; for a Source, the executor
	// reports the hash of what it actually read in Result.ContextSHA256.
	ContextSHA256 string
	// ContextCredentialsSecret names a Secret in Namespace whose keys are
	// passed to Kaniko as environment variables (GIT_USERNAME,
	// GIT_PASSWORD, AWS_ACCESS_KEY_ID, ...), so credentials to fetch a
	// ContextURL never appear in the URL.
	ContextCredentialsSecret string

	// Dockerfile is the Dockerfile's path inside a URL context; a Source
	// knows its own.
	Dockerfile string
	BuildArgs  map[string]string
	Target     string
	Labels     map[string]string
	// Platform is os/arch[/variant]; empty builds for the node's platform.
	Platform string

	// Reproducible asks for an image that depends only on its inputs: no
	// wall-clock time anywhere, the creation time fixed to Created.
	Reproducible bool
	// Created is the image's creation time for reproducible builds.
	Created time.Time

	// Secrets are build secrets for RUN --mount=type=secret,id=<ID>;
	// Kaniko only.
	Secrets []BuildSecret

	Registry RegistryAccess
	Pod      PodOptions
	// Retention, when set, pushes a history tag with the build and prunes
	// older builds of the same history key afterwards (see History).
	Retention *Retention
}

// Retention keeps the newest KeepLast builds of a resource.
type Retention struct {
	KeepLast int
	DryRun   bool
}

// TakeSnapshot returns spec with its local context archived into a
// temporary file, and a function that removes it. Specs without a local
// context, or with a snapshot already, are returned as they are, with a
// cleanup that does nothing.
func TakeSnapshot(spec Spec) (Spec, func(), error) {
	if spec.Source == nil || spec.Snapshot != nil {
		return spec, func() {}, nil
	}
	snap, err := spec.Source.Snapshot("")
	if err != nil {
		return spec, func() {}, &Failure{Reason: ReasonContextRead, Message: "archiving the build context", Err: err}
	}
	spec.Snapshot = snap
	return spec, func() { _ = snap.Remove() }, nil
}

// ReproducibleLabels reports whether the build's history labels must
// leave out what varies from run to run: for reproducible Kaniko builds
// and for every build that may run directly, whose images are always
// reproducible.
func (s Spec) ReproducibleLabels() bool {
	return s.Reproducible || s.Executor == ExecutorDirect || s.Executor == ExecutorAuto
}

// ContextHash is the hash that identifies the spec's context: the
// snapshot's for a local context, ContextSHA256 otherwise.
func (s Spec) ContextHash() string {
	if s.Snapshot != nil {
		return s.Snapshot.SHA256
	}
	return s.ContextSHA256
}

// BuildSecret exposes one key of a Kubernetes Secret to RUN steps as a
// build secret. The value is mounted into the build pod and never enters
// the pod spec, the image or Terraform state.
type BuildSecret struct {
	// ID is what the Dockerfile names in --mount=type=secret,id=<ID>.
	ID string
	// SecretName and Key select the value in the build namespace.
	SecretName string
	Key        string
}

// RegistryAccess is how builds reach registries.
type RegistryAccess struct {
	// AuthSecret names a Secret in Namespace holding a Docker config
	// (type kubernetes.io/dockerconfigjson, or a config.json key).
	AuthSecret string
	// AuthSecretKey is the key of AuthSecret holding the Docker config,
	// once known; empty means .dockerconfigjson.
	AuthSecretKey string
	// Insecure pushes and pulls over plain HTTP; SkipTLSVerify accepts
	// any certificate. InsecureRegistries lists registries (host[:port])
	// to treat as plain HTTP for every pull and push.
	Insecure           bool
	SkipTLSVerify      bool
	InsecureRegistries []string
	// PushRetry and ImageDownloadRetry are Kaniko's own retry counts for
	// transient registry errors.
	PushRetry          int
	ImageDownloadRetry int
}

// PodOptions shape the Kaniko build pod; other executors ignore them.
type PodOptions struct {
	ServiceAccount string
	// Resources of the executor; empty means DefaultResources.
	Resources    corev1.ResourceRequirements
	NodeSelector map[string]string
	Tolerations  []corev1.Toleration
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
// capped because throttling only makes builds slower.
var DefaultResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("500m"),
		corev1.ResourceMemory: resource.MustParse("512Mi"),
	},
	Limits: corev1.ResourceList{
		corev1.ResourceMemory: resource.MustParse("2Gi"),
	},
}

var platformPattern = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)

// KnownPlatforms lists the os/arch pairs base images commonly provide; a
// platform outside it is most likely a typo.
var KnownPlatforms = map[string]bool{
	"linux/amd64": true, "linux/arm64": true, "linux/arm": true, "linux/386": true,
	"linux/ppc64le": true, "linux/s390x": true, "linux/riscv64": true, "linux/mips64le": true,
	"windows/amd64": true, "windows/arm64": true,
}

// ValidatePlatform reports whether platform is os/arch[/variant] with a
// known os/arch.
func ValidatePlatform(platform string) error {
	if !platformPattern.MatchString(platform) {
		return fmt.Errorf("platform %q is not of the form os/arch[/variant], for example linux/amd64", platform)
	}
	parts := strings.Split(platform, "/")
	if !KnownPlatforms[parts[0]+"/"+parts[1]] {
		return fmt.Errorf("platform %q is not a known os/arch (known: linux/amd64, linux/arm64, linux/arm, ...)", platform)
	}
	return nil
}

// DockerfilePath is the Dockerfile's path inside the context.
func (s Spec) DockerfilePath() string {
	if s.Source != nil {
		return s.Source.Dockerfile()
	}
	if s.Dockerfile == "" {
		return buildcontext.DefaultDockerfile
	}
	return s.Dockerfile
}

// Validate checks the spec for mistakes that would only surface later,
// inside a pod or a registry.
func (s Spec) Validate() error {
	var errs []error
	if s.Namespace == "" {
		errs = append(errs, errors.New("namespace is empty"))
	}
	if err := imageref.ValidateRepository(s.Repository); err != nil {
		errs = append(errs, err)
	}
	if len(s.Tags) == 0 {
		errs = append(errs, errors.New("at least one tag is required"))
	}
	for _, t := range s.Tags {
		if err := imageref.ValidateTag(t); err != nil {
			errs = append(errs, err)
		}
	}
	if (s.Source == nil) == (s.ContextURL == "") {
		errs = append(errs, errors.New("exactly one of a local context and a context URL is required"))
	}
	if s.Platform != "" {
		if err := ValidatePlatform(s.Platform); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Pod.Deadline < 0 {
		errs = append(errs, errors.New("deadline is negative"))
	}
	for _, sec := range s.Secrets {
		if sec.ID == "" || sec.SecretName == "" || sec.Key == "" {
			errs = append(errs, fmt.Errorf("build secret %q needs an id, a secret name and a key", sec.ID))
		}
	}
	return errors.Join(errs...)
}
