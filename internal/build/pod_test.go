package build

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite golden files")

func streamed(w io.Writer) error { return nil }

func baseRequest() Request {
	return Request{
		Namespace:     "builds",
		Repository:    "registry.kube-system.svc.cluster.local:5000/new-image",
		Tags:          []string{"latest"},
		WriteContext:  streamed,
		ContextSHA256: "sha256:" + strings.Repeat("ab", 32),
		Dockerfile:    "Dockerfile",
		KanikoImage:   "localhost:5000/kaniko-executor:v1.24.0",
		Deadline:      20 * time.Minute,
	}
}

func TestPodForGolden(t *testing.T) {
	full := baseRequest()
	full.Tags = []string{"latest", "v1"}
	full.BuildArgs = map[string]string{"VERSION": "1.2.3", "A": "first"}
	full.Target = "runtime"
	full.Labels = map[string]string{"org.opencontainers.image.source": "https://example.com/repo"}
	full.Platform = "linux/amd64"
	full.Cache = Cache{Enabled: true, TTL: 6 * time.Hour, BaseImageClaim: "kaniko-base-images"}
	full.RegistryAuthSecret = "regcred"
	full.Insecure = true
	full.InsecureRegistries = []string{"registry.kube-system.svc.cluster.local:5000", "mirror.local:5000"}
	full.ServiceAccount = "builder"
	full.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	full.NodeSelector = map[string]string{"kubernetes.io/arch": "amd64"}
	full.Tolerations = []corev1.Toleration{{Key: "builds", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	full.PushRetry = 3
	full.ImageDownloadRetry = 2
	full.ExtraArgs = []string{"--snapshot-mode=redo"}

	url := baseRequest()
	url.WriteContext = nil
	url.ContextURL = "git://github.com/example/app.git#refs/heads/main"
	url.Deadline = 90 * time.Second

	for name, req := range map[string]Request{"minimal": baseRequest(), "full": full, "context_url": url} {
		t.Run(name, func(t *testing.T) {
			pod, err := PodFor(req)
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
	pod, err := PodFor(baseRequest())
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
	if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
		t.Error("build container must not be privileged")
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

func TestValidateRequest(t *testing.T) {
	tests := map[string]func(*Request){
		"no namespace":     func(r *Request) { r.Namespace = "" },
		"bad repository":   func(r *Request) { r.Repository = "new-image" },
		"no tags":          func(r *Request) { r.Tags = nil },
		"bad tag":          func(r *Request) { r.Tags = []string{"-x"} },
		"two contexts":     func(r *Request) { r.ContextURL = "git://x" },
		"no context":       func(r *Request) { r.WriteContext = nil },
		"unknown platform": func(r *Request) { r.Platform = "linux/amd65" },
		"bad platform":     func(r *Request) { r.Platform = "amd64" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			r := baseRequest()
			mutate(&r)
			if err := r.Validate(); err == nil {
				t.Fatal("Validate accepted an invalid request")
			}
			if _, err := PodFor(r); err == nil {
				t.Fatal("PodFor accepted an invalid request")
			}
		})
	}
	for _, p := range []string{"linux/amd64", "linux/arm64/v8", "linux/arm/v7"} {
		if err := ValidatePlatform(p); err != nil {
			t.Errorf("ValidatePlatform(%q) = %v", p, err)
		}
	}
}
