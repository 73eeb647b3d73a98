package build

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// Spec is everything one build needs, whichever executor runs it. The
// same Spec is planned and built: Executor.Plan and Executor.Build read
// the same fields.
type Spec struct {
	// Executor names the executor: ExecutorKaniko (also when empty),
	// ExecutorDirect or ExecutorAuto; see ChooseExecutor.
	Executor string
	// Namespace is where build pods run and where secrets the build
	// refers to live.
	Namespace string
	// Repository is where the image is pushed, as the cluster sees it,
	// without tag or digest (registry.kube-system.svc.cluster.local:5000/app).
	Repository string
	// Tags are pushed as Repository:tag; at least one.
	Tags []string

	// Context is what the build reads.
	Context Context

	BuildArgs map[string]string
	Target    string
	Labels    map[string]string
	// Platform is os/arch[/variant]; empty builds for the node's platform.
	Platform string
	// Platforms, two or more, build one image for each and push an OCI
	// image index of them; exclusive with Platform.
	Platforms []string

	// SkipArchitectureCheck builds even when an executable the Dockerfile
	// copies is built for another platform (see CheckArchitecture).
	SkipArchitectureCheck bool

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
	// Pin, when set, is what the plan predicted; the build must match it
	// (see Pin).
	Pin *Pin
	// KeepLayerTars says the image's layers are read again right after
	// the build (for its SBOM): a direct build with a layer cache keeps
	// their uncompressed tars too, so that reading them inflates nothing.
	// It changes no byte of the image.
	KeepLayerTars bool
}

// MultiPlatform reports whether the build makes an image index.
func (s Spec) MultiPlatform() bool { return len(s.Platforms) > 1 }

// TargetPlatforms are the platforms the build names, sorted: Platforms,
// or Platform alone; none when the executor decides.
func (s Spec) TargetPlatforms() []string {
	if len(s.Platforms) > 0 {
		out := append([]string(nil), s.Platforms...)
		sort.Strings(out)
		return out
	}
	if s.Platform != "" {
		return []string{s.Platform}
	}
	return nil
}

// Retention keeps the newest KeepLast builds of a resource.
type Retention struct {
	KeepLast int
	DryRun   bool
}

// ReproducibleLabels reports whether the build's history labels must
// leave out what varies from run to run: for reproducible Kaniko builds
// and for every build that may run directly, whose images are always
// reproducible.
func (s Spec) ReproducibleLabels() bool {
	return s.Reproducible || s.Executor == ExecutorDirect || s.Executor == ExecutorAuto
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
	if err := s.Context.validate(); err != nil {
		errs = append(errs, err)
	}
	if URLHasCredentials(s.Context.URL) {
		errs = append(errs, errors.New("the context URL carries credentials; give them in the context credentials Secret instead"))
	}
	if s.Platform != "" {
		if err := ValidatePlatform(s.Platform); err != nil {
			errs = append(errs, err)
		}
	}
	if s.Platform != "" && len(s.Platforms) > 0 {
		errs = append(errs, errors.New("a build has either one platform or several platforms"))
	}
	seen := map[string]bool{}
	for _, p := range s.Platforms {
		if err := ValidatePlatform(p); err != nil {
			errs = append(errs, err)
		}
		if seen[p] {
			errs = append(errs, fmt.Errorf("platform %s is named twice", p))
		}
		seen[p] = true
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
