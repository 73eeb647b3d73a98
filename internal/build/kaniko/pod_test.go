package kaniko

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

var update = flag.Bool("update", false, "rewrite golden files")

func baseSpec() build.Spec {
	return build.Spec{
		Namespace:  "builds",
		Repository: "registry.kube-system.svc.cluster.local:5000/new-image",
		Tags:       []string{"latest"},
		Context:    build.Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": "FROM scratch\n"}}},
		Pod:        build.PodOptions{Image: "localhost:5000/kaniko-executor:v1.26.3", Deadline: 20 * time.Minute},
	}
}

// archived is spec with its context archived, as builds see it.
func archived(t *testing.T, spec build.Spec) build.Spec {
	t.Helper()
	spec, cleanup, err := build.TakeSnapshot(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return spec
}

func TestPodForGolden(t *testing.T) {
	full := baseSpec()
	full.Tags = []string{"latest", "v1"}
	full.BuildArgs = map[string]string{"VERSION": "1.2.3", "A": "first"}
	full.Target = "runtime"
	full.Labels = map[string]string{"org.opencontainers.image.source": "https://example.com/repo"}
	full.Platform = "linux/amd64"
	full.Reproducible = true
	full.Secrets = []build.BuildSecret{{ID: "npmrc", SecretName: "build-secrets", Key: "npmrc"}}
	full.Registry = build.RegistryAccess{
		AuthSecret: "regcred", Insecure: true, PushRetry: 3, ImageDownloadRetry: 2,
		InsecureRegistries: []string{"registry.kube-system.svc.cluster.local:5000", "mirror.local:5000"},
	}
	full.Pod.Cache = build.Cache{Enabled: true, TTL: 6 * time.Hour, BaseImageClaim: "kaniko-base-images"}
	full.Pod.ServiceAccount = "builder"
	full.Pod.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	full.Pod.NodeSelector = map[string]string{"kubernetes.io/arch": "amd64"}
	full.Pod.Tolerations = []corev1.Toleration{{Key: "builds", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	full.Pod.ExtraArgs = []string{"--snapshot-mode=redo"}

	url := baseSpec()
	url.Context = build.Context{URL: "git://github.com/example/app.git#refs/heads/main", CredentialsSecret: "git-credentials"}
	url.Pod.Deadline = 90 * time.Second

	presigned := baseSpec()
	presigned.Context = build.Context{URL: "https://bucket.example.com/ctx.tar.gz?X-Amz-Signature=deadbeef"}

	inputs := map[string]PodInputs{"full": {RegistryAuthKey: "config.json", Nonce: "n0nce", Session: "s3ss10n"},
		"context_url_presigned": {ContextURLSecret: "onesbuild-context-url-x7k2p"}}
	for name, req := range map[string]build.Spec{"minimal": archived(t, baseSpec()), "full": archived(t, full), "context_url": url, "context_url_presigned": presigned} {
		t.Run(name, func(t *testing.T) {
			pod, err := PodFor(req, inputs[name])
			if err != nil {
				t.Fatal(err)
			}
			got, err := yaml.Marshal(pod)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "pod-"+name+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if string(got) != string(want) {
				t.Errorf("pod differs from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

func TestPodForRules(t *testing.T) {
	pod, err := PodFor(baseSpec(), PodInputs{})
	if err != nil {
		t.Fatal(err)
	}
	c := pod.Spec.Containers[0]
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Error("restart policy must be Never")
	}
	if pod.Spec.ActiveDeadlineSeconds == nil || *pod.Spec.ActiveDeadlineSeconds != 1200 {
		t.Errorf("active deadline = %v, want 1200", pod.Spec.ActiveDeadlineSeconds)
	}
	if c.SecurityContext == nil || (c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged) {
		t.Error("build container must have a security context and must not be privileged")
	} else if ape := c.SecurityContext.AllowPrivilegeEscalation; ape == nil || *ape {
		t.Error("build container must not allow privilege escalation")
	}
	if sc := pod.Spec.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("build pod must use the RuntimeDefault seccomp profile")
	}
	if !c.Stdin || !c.StdinOnce {
		t.Error("a streamed context needs stdin and stdinOnce")
	}
	if pod.Name != "" || pod.GenerateName != "onesbuild-new-image-" {
		t.Errorf("name %q generateName %q", pod.Name, pod.GenerateName)
	}
	if pod.Labels[LabelManagedBy] != ManagedBy || pod.Labels[LabelName] != AppName {
		t.Errorf("labels = %v", pod.Labels)
	}
	if *pod.Spec.AutomountServiceAccountToken {
		t.Error("service account token must not be mounted without a service account")
	}
}

func TestPodNamePrefix(t *testing.T) {
	tests := map[string]string{
		"localhost:5000/App_Server.v2":                            "onesbuild-app-server-v2-",
		"localhost:5000/team/" + strings.Repeat("very-long-", 10): "onesbuild-very-long-very-long-very-long-very-long-",
		"localhost:5000/___":                                      "onesbuild-",
	}
	for repo, want := range tests {
		if got := podNamePrefix(repo); got != want {
			t.Errorf("podNamePrefix(%q) = %q, want %q", repo, got, want)
		}
	}
}

func TestValidateSpec(t *testing.T) {
	tests := map[string]func(*build.Spec){
		"no namespace":     func(r *build.Spec) { r.Namespace = "" },
		"bad repository":   func(r *build.Spec) { r.Repository = "new-image" },
		"no tags":          func(r *build.Spec) { r.Tags = nil },
		"bad tag":          func(r *build.Spec) { r.Tags = []string{"-x"} },
		"two contexts":     func(r *build.Spec) { r.Context.URL = "git://x" },
		"no context":       func(r *build.Spec) { r.Context.Source = nil },
		"unknown platform": func(r *build.Spec) { r.Platform = "linux/amd65" },
		"bad platform":     func(r *build.Spec) { r.Platform = "amd64" },
		"secret without key": func(r *build.Spec) {
			r.Secrets = []build.BuildSecret{{ID: "x", SecretName: "s"}}
		},
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			r := baseSpec()
			mutate(&r)
			if err := r.Validate(); err == nil {
				t.Fatal("Validate accepted an invalid request")
			}
			if _, err := PodFor(r, PodInputs{}); err == nil {
				t.Fatal("PodFor accepted an invalid request")
			}
		})
	}
	for _, p := range []string{"linux/amd64", "linux/arm64/v8", "linux/arm/v7"} {
		if err := build.ValidatePlatform(p); err != nil {
			t.Errorf("ValidatePlatform(%q) = %v", p, err)
		}
	}
}

func TestArgsCarryNoSecrets(t *testing.T) {
	s := baseSpec()
	s.Secrets = []build.BuildSecret{{ID: "token", SecretName: "ci", Key: "gh-token"}}
	s.Context.CredentialsSecret = "git-creds"
	pod, err := PodFor(s, PodInputs{})
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(pod.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--secret=id=token,src="+secretsDir+"/build-secret-0/gh-token") {
		t.Errorf("build secret not passed as a file: %s", args)
	}
	mounted := false
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		mounted = mounted || (m.MountPath == secretsDir+"/build-secret-0" && m.ReadOnly)
	}
	if !mounted {
		t.Error("build secret volume not mounted read-only under /kaniko")
	}
	if ef := pod.Spec.Containers[0].EnvFrom; len(ef) != 1 || ef[0].SecretRef == nil || ef[0].SecretRef.Name != "git-creds" {
		t.Errorf("context credentials not passed from the secret: %+v", ef)
	}
}
