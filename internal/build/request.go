package build

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// ContainerName is the name of the executor container in every build pod.
const ContainerName = "kaniko"

// Labels put on every build pod; the provider and operators select by them.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelName      = "app.kubernetes.io/name"
	LabelComponent = "app.kubernetes.io/component"
	ManagedBy      = "terraform-provider-onesbuild"
	AppName        = "onesbuild"
	Component      = "image-build"

	AnnotationRepository    = "onesbuild.dev/repository"
	AnnotationContextSHA256 = "onesbuild.dev/context-sha256"
)

// DefaultKanikoImage is the executor image used when none is configured.
// It needs a shell-free executor only; the -debug variant works as well.
const DefaultKanikoImage = "gcr.io/kaniko-project/executor:v1.24.0"

// DefaultResources are the executor's requests and limits when a request
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

// Request is everything one build needs.
type Request struct {
	// Namespace the build pod runs in.
	Namespace string
	// Repository is where the image is pushed, as the cluster sees it,
	// without tag or digest (registry.kube-system.svc.cluster.local:5000/app).
	Repository string
	// Tags are pushed as Repository:tag; at least one.
	Tags []string

	// Context, exactly one of: WriteContext streams a gzip tar that Kaniko
	// reads from stdin; ContextURL is fetched by Kaniko itself (git://,
	// s3://, gs://, https://...tar.gz, dir://).
	WriteContext func(w io.Writer) error
	ContextURL   string
	// ContextSHA256 identifies the context; recorded on the pod.
	ContextSHA256 string

	// Dockerfile is the Dockerfile's path inside the context.
	Dockerfile string
	BuildArgs  map[string]string
	Target     string
	Labels     map[string]string
	// Platform is os/arch[/variant]; empty builds for the node's platform.
	Platform string

	Cache Cache

	// RegistryAuthSecret names a Secret in Namespace holding a Docker
	// config (type kubernetes.io/dockerconfigjson, or a config.json key);
	// it is mounted where Kaniko reads registry credentials.
	RegistryAuthSecret string
	// registryAuthKey is the Secret key holding the Docker config, found by
	// the pre-flight check.
	registryAuthKey string

	// Insecure pushes and pulls over plain HTTP; SkipTLSVerify accepts
	// any certificate. InsecureRegistries lists registries (host[:port])
	// to treat as plain HTTP for every pull and push.
	Insecure           bool
	SkipTLSVerify      bool
	InsecureRegistries []string

	ServiceAccount string
	// Resources of the executor; empty means DefaultResources.
	Resources    corev1.ResourceRequirements
	NodeSelector map[string]string
	Tolerations  []corev1.Toleration
	KanikoImage  string
	// ExtraArgs are appended to Kaniko's arguments unchanged.
	ExtraArgs []string

	// PushRetry and ImageDownloadRetry are Kaniko's own retry counts for
	// transient registry errors.
	PushRetry          int
	ImageDownloadRetry int

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

var platformPattern = regexp.MustCompile(`^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$`)

// KnownPlatforms lists the os/arch pairs Kaniko's base images commonly
// provide; a platform outside it is most likely a typo.
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

// Validate checks the request for mistakes that would only surface inside
// the pod.
func (r Request) Validate() error {
	var errs []error
	if r.Namespace == "" {
		errs = append(errs, errors.New("namespace is empty"))
	}
	if err := imageref.ValidateRepository(r.Repository); err != nil {
		errs = append(errs, err)
	}
	if len(r.Tags) == 0 {
		errs = append(errs, errors.New("at least one tag is required"))
	}
	for _, t := range r.Tags {
		if err := imageref.ValidateTag(t); err != nil {
			errs = append(errs, err)
		}
	}
	if (r.WriteContext == nil) == (r.ContextURL == "") {
		errs = append(errs, errors.New("exactly one of a streamed context and a context URL is required"))
	}
	if r.Platform != "" {
		if err := ValidatePlatform(r.Platform); err != nil {
			errs = append(errs, err)
		}
	}
	if r.Deadline < 0 {
		errs = append(errs, errors.New("deadline is negative"))
	}
	return errors.Join(errs...)
}
