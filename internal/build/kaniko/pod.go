package kaniko

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// ContainerName is the name of the executor container in every build pod.
const ContainerName = "kaniko"

// Labels and annotations put on every build pod; the provider and
// operators select by them.
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

const (
	// TerminationLog is where Kaniko writes the digest; the kubelet copies
	// the file into the container status' termination message.
	TerminationLog = "/dev/termination-log"
	// dockerConfigDir is where Kaniko looks for registry credentials.
	dockerConfigDir    = "/kaniko/.docker"
	dockerConfigVolume = "docker-config"
	// baseImageCacheDir is where Kaniko's warmer and executor keep base
	// images (--cache-dir).
	baseImageCacheDir    = "/cache"
	baseImageCacheVolume = "base-image-cache"
	// secretsDir holds build secrets. Kaniko never snapshots /kaniko, so
	// they cannot end up in a layer.
	secretsDir = "/kaniko/onesbuild-secrets"
)

var nonNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// podNamePrefix derives a readable GenerateName from the repository's
// last path element, so "kubectl get pods" tells builds apart.
func podNamePrefix(repository string) string {
	base := repository[strings.LastIndex(repository, "/")+1:]
	base = strings.Trim(nonNameChars.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	if base == "" {
		return "onesbuild-"
	}
	return "onesbuild-" + base + "-"
}

// secretVolumeName is the pod volume of build secret number i.
func secretVolumeName(i int) string { return "build-secret-" + strconv.Itoa(i) }

// Args returns the executor's arguments for the spec, in a stable order.
// Nothing secret is among them: a URL context's credentials are expected
// in Context.CredentialsSecret, a URL with a query string (a presigned
// URL) comes from the Secret in.ContextURLSecret through an environment
// variable, build secrets are mounted files.
func Args(s build.Spec, in PodInputs) []string {
	var args []string
	switch {
	case s.Context.Local():
		args = append(args, "--context=tar://stdin")
	case in.ContextURLSecret != "":
		args = append(args, "--context=$("+contextURLEnv+")")
	default:
		args = append(args, "--context="+s.Context.URL)
	}
	args = append(args, "--dockerfile="+s.Context.DockerfilePath())
	for _, t := range s.Tags {
		args = append(args, "--destination="+s.Repository+":"+t)
	}
	args = append(args, "--digest-file="+TerminationLog)
	for _, k := range sortedKeys(s.BuildArgs) {
		args = append(args, "--build-arg="+k+"="+s.BuildArgs[k])
	}
	if s.Target != "" {
		args = append(args, "--target="+s.Target)
	}
	for _, k := range sortedKeys(s.Labels) {
		args = append(args, "--label="+k+"="+s.Labels[k])
	}
	if s.Platform != "" {
		args = append(args, "--custom-platform="+s.Platform)
	}
	if s.Reproducible {
		args = append(args, "--reproducible")
	}
	// With compressed caching (Kaniko's default) every new layer is kept
	// compressed in memory, so a 3 GiB incompressible COPY was OOMKilled
	// under the default 2Gi limit; without it Kaniko streams the layer
	// from disk and compresses it once more when pushing. extra_args can
	// turn it back on.
	args = append(args, "--compressed-caching=false")
	for i, sec := range s.Secrets {
		args = append(args, "--secret=id="+sec.ID+",src="+secretsDir+"/"+secretVolumeName(i)+"/"+sec.Key)
	}
	if c := s.Pod.Cache; c.Enabled {
		repo := c.Repo
		if repo == "" {
			repo = s.Repository + "/cache"
		}
		args = append(args, "--cache=true", "--cache-repo="+repo)
		if c.TTL > 0 {
			args = append(args, "--cache-ttl="+c.TTL.String())
		}
		if c.BaseImageClaim != "" {
			args = append(args, "--cache-dir="+baseImageCacheDir)
		}
	}
	reg := s.Registry
	if reg.Insecure {
		args = append(args, "--insecure", "--insecure-pull")
	}
	if reg.SkipTLSVerify {
		args = append(args, "--skip-tls-verify", "--skip-tls-verify-pull")
	}
	insecure := append([]string(nil), reg.InsecureRegistries...)
	sort.Strings(insecure)
	for _, h := range insecure {
		args = append(args, "--insecure-registry="+h, "--skip-tls-verify-registry="+h)
	}
	if reg.PushRetry > 0 {
		args = append(args, "--push-retry="+strconv.Itoa(reg.PushRetry))
	}
	if reg.ImageDownloadRetry > 0 {
		args = append(args, "--image-download-retry="+strconv.Itoa(reg.ImageDownloadRetry))
	}
	return append(args, s.Pod.ExtraArgs...)
}

// PodInputs is what the executor learns from the cluster before it
// creates a pod, and the pod spec depends on.
type PodInputs struct {
	// RegistryAuthKey is the key of the registry credentials Secret that
	// holds the Docker config; empty means .dockerconfigjson.
	RegistryAuthKey string
	// Nonce is unique to this pod creation (LabelNonce).
	Nonce string
	// Session names the process creating the pod (LabelSession).
	Session string
	// ContextURLSecret names the per-build Secret that holds a URL
	// context whose query string may grant access (ContextURLKey).
	ContextURLSecret string
}

// The per-build Secret of a URL context with a query string, and the
// variable the executor reads it from.
const (
	ContextURLKey = "context-url"
	contextURLEnv = "ONESBUILD_CONTEXT_URL"
)

// PodFor returns the build pod for a spec. It is a pure function: the
// same spec and inputs always give the same pod.
func PodFor(s build.Spec, in PodInputs) (*corev1.Pod, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	image := s.Pod.Image
	if image == "" {
		image = build.DefaultKanikoImage
	}
	streamed := s.Context.Local()
	resources := s.Pod.Resources
	if len(resources.Requests) == 0 && len(resources.Limits) == 0 {
		resources = *build.DefaultResources.DeepCopy()
	}
	container := corev1.Container{
		Name:                     ContainerName,
		Image:                    image,
		ImagePullPolicy:          pullPolicy(s.Pod.ImagePullPolicy),
		Args:                     Args(s, in),
		Stdin:                    streamed,
		StdinOnce:                streamed,
		Resources:                resources,
		TerminationMessagePath:   TerminationLog,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		// Kaniko runs as root inside its container and needs the default
		// capabilities to unpack file systems and run RUN steps as other
		// users; it never needs more than it starts with.
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false),
		},
	}
	spec := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: s.Pod.ServiceAccount,
		NodeSelector:       s.Pod.NodeSelector,
		Tolerations:        s.Pod.Tolerations,
		EnableServiceLinks: ptr(false),
		// Builds need no API credentials; a RUN step could read them.
		AutomountServiceAccountToken:  ptr(s.Pod.AutomountServiceAccountToken),
		TerminationGracePeriodSeconds: ptr(int64(terminationGrace)),
		SecurityContext: &corev1.PodSecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	if s.Pod.Deadline > 0 {
		spec.ActiveDeadlineSeconds = ptr(int64((s.Pod.Deadline + time.Second - 1) / time.Second))
	}
	if name := s.Registry.AuthSecret; name != "" {
		key := in.RegistryAuthKey
		if key == "" {
			key = corev1.DockerConfigJsonKey
		}
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name: dockerConfigVolume,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: name,
				Items:      []corev1.KeyToPath{{Key: key, Path: "config.json"}},
			}},
		})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name: dockerConfigVolume, MountPath: dockerConfigDir, ReadOnly: true,
		})
	}
	for i, sec := range s.Secrets {
		vol := secretVolumeName(i)
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name: vol,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName:  sec.SecretName,
				Items:       []corev1.KeyToPath{{Key: sec.Key, Path: sec.Key}},
				DefaultMode: ptr(int32(0o400)),
			}},
		})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name: vol, MountPath: secretsDir + "/" + vol, ReadOnly: true,
		})
	}
	if len(s.Secrets) > 0 {
		// v1.26 of the fork implements RUN --mount=type=secret behind this
		// flag; it becomes the default in v1.27.
		container.Env = append(container.Env, corev1.EnvVar{Name: "FF_KANIKO_RUN_MOUNT_SECRET", Value: "true"})
	}
	if in.ContextURLSecret != "" {
		container.Env = append(container.Env, corev1.EnvVar{Name: contextURLEnv, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: in.ContextURLSecret}, Key: ContextURLKey},
		}})
	}
	if name := s.Context.CredentialsSecret; name != "" {
		container.EnvFrom = append(container.EnvFrom, corev1.EnvFromSource{
			SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}},
		})
	}
	if c := s.Pod.Cache; c.Enabled && c.BaseImageClaim != "" {
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name: baseImageCacheVolume,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: c.BaseImageClaim, ReadOnly: true,
			}},
		})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name: baseImageCacheVolume, MountPath: baseImageCacheDir, ReadOnly: true,
		})
	}
	spec.Containers = []corev1.Container{container}
	annotations := map[string]string{AnnotationRepository: s.Repository}
	if h := s.Context.SHA256(); h != "" {
		annotations[AnnotationContextSHA256] = h
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: podNamePrefix(s.Repository),
			Namespace:    s.Namespace,
			Labels:       podLabels(s, in),
			Annotations:  annotations,
		},
		Spec: spec,
	}, nil
}

// podLabels are the pod's labels: what it is, the image it builds, and
// the process and creation it belongs to.
func podLabels(s build.Spec, in PodInputs) map[string]string {
	l := map[string]string{
		LabelManagedBy: ManagedBy,
		LabelName:      AppName,
		LabelComponent: Component,
		LabelBuildKey:  BuildKey(s),
	}
	if in.Nonce != "" {
		l[LabelNonce] = in.Nonce
	}
	if in.Session != "" {
		l[LabelSession] = in.Session
	}
	return l
}

func pullPolicy(p corev1.PullPolicy) corev1.PullPolicy {
	if p == "" {
		return corev1.PullIfNotPresent
	}
	return p
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ptr[T any](v T) *T { return &v }
