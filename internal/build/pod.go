package build

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// KanikoArgs returns the executor's arguments for the request, in a
// stable order.
func KanikoArgs(r Request) []string {
	var args []string
	if r.WriteContext != nil {
		args = append(args, "--context=tar://stdin")
	} else {
		args = append(args, "--context="+r.ContextURL)
	}
	if r.Dockerfile != "" {
		args = append(args, "--dockerfile="+r.Dockerfile)
	}
	for _, t := range r.Tags {
		args = append(args, "--destination="+r.Repository+":"+t)
	}
	args = append(args, "--digest-file="+TerminationLog)
	for _, k := range sortedKeys(r.BuildArgs) {
		args = append(args, "--build-arg="+k+"="+r.BuildArgs[k])
	}
	if r.Target != "" {
		args = append(args, "--target="+r.Target)
	}
	for _, k := range sortedKeys(r.Labels) {
		args = append(args, "--label="+k+"="+r.Labels[k])
	}
	if r.Platform != "" {
		args = append(args, "--custom-platform="+r.Platform)
	}
	if r.Cache.Enabled {
		repo := r.Cache.Repo
		if repo == "" {
			repo = r.Repository + "/cache"
		}
		args = append(args, "--cache=true", "--cache-repo="+repo)
		if r.Cache.TTL > 0 {
			args = append(args, "--cache-ttl="+r.Cache.TTL.String())
		}
		if r.Cache.BaseImageClaim != "" {
			args = append(args, "--cache-dir="+baseImageCacheDir)
		}
	}
	if r.Insecure {
		args = append(args, "--insecure", "--insecure-pull")
	}
	if r.SkipTLSVerify {
		args = append(args, "--skip-tls-verify", "--skip-tls-verify-pull")
	}
	insecure := append([]string(nil), r.InsecureRegistries...)
	sort.Strings(insecure)
	for _, h := range insecure {
		args = append(args, "--insecure-registry="+h, "--skip-tls-verify-registry="+h)
	}
	if r.PushRetry > 0 {
		args = append(args, "--push-retry="+strconv.Itoa(r.PushRetry))
	}
	if r.ImageDownloadRetry > 0 {
		args = append(args, "--image-download-retry="+strconv.Itoa(r.ImageDownloadRetry))
	}
	return append(args, r.ExtraArgs...)
}

// PodFor returns the build pod for a request. It is a pure function: the
// same request always gives the same pod.
func PodFor(r Request) (*corev1.Pod, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	image := r.KanikoImage
	if image == "" {
		image = DefaultKanikoImage
	}
	streamed := r.WriteContext != nil
	resources := r.Resources
	if len(resources.Requests) == 0 && len(resources.Limits) == 0 {
		resources = *DefaultResources.DeepCopy()
	}
	container := corev1.Container{
		Name:                     ContainerName,
		Image:                    image,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		Args:                     KanikoArgs(r),
		Stdin:                    streamed,
		StdinOnce:                streamed,
		Resources:                resources,
		TerminationMessagePath:   TerminationLog,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
	}
	spec := corev1.PodSpec{
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: r.ServiceAccount,
		NodeSelector:       r.NodeSelector,
		Tolerations:        r.Tolerations,
		EnableServiceLinks: ptr(false),
		// Pods do not need API credentials to build, unless the user
		// picked a service account on purpose (workload identity).
		AutomountServiceAccountToken:  ptr(r.ServiceAccount != ""),
		TerminationGracePeriodSeconds: ptr(int64(5)),
	}
	if r.Deadline > 0 {
		spec.ActiveDeadlineSeconds = ptr(int64((r.Deadline + time.Second - 1) / time.Second))
	}
	if r.RegistryAuthSecret != "" {
		key := r.registryAuthKey
		if key == "" {
			key = corev1.DockerConfigJsonKey
		}
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name: dockerConfigVolume,
			VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: r.RegistryAuthSecret,
				Items:      []corev1.KeyToPath{{Key: key, Path: "config.json"}},
			}},
		})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name: dockerConfigVolume, MountPath: dockerConfigDir, ReadOnly: true,
		})
	}
	if r.Cache.Enabled && r.Cache.BaseImageClaim != "" {
		spec.Volumes = append(spec.Volumes, corev1.Volume{
			Name: baseImageCacheVolume,
			VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: r.Cache.BaseImageClaim, ReadOnly: true,
			}},
		})
		container.VolumeMounts = append(container.VolumeMounts, corev1.VolumeMount{
			Name: baseImageCacheVolume, MountPath: baseImageCacheDir, ReadOnly: true,
		})
	}
	spec.Containers = []corev1.Container{container}
	annotations := map[string]string{AnnotationRepository: r.Repository}
	if r.ContextSHA256 != "" {
		annotations[AnnotationContextSHA256] = r.ContextSHA256
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: podNamePrefix(r.Repository),
			Namespace:    r.Namespace,
			Labels: map[string]string{
				LabelManagedBy: ManagedBy,
				LabelName:      AppName,
				LabelComponent: Component,
			},
			Annotations: annotations,
		},
		Spec: spec,
	}, nil
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
