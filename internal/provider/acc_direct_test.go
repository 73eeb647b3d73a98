package provider

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/testcluster"
)

// TestAccImageResource_directStudyImage builds the study's image without
// a pod, runs it in the cluster, rebuilds it after a taint with the same
// digest, and shows auto sending a RUN step to Kaniko.
func TestAccImageResource_directStudyImage(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	dir := studyContext(t)
	repo := uniqueRepo(a, "direct-study")
	config := func(executor, dockerfileInline string) string {
		inline := ""
		if dockerfileInline != "" {
			inline = fmt.Sprintf("dockerfile_inline = %q", dockerfileInline)
		}
		return a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "study" {
  repository  = %[1]q
  context_dir = %[2]q
  executor    = %[3]q
  %[4]s
}
`, repo, dir, executor, inline)
	}
	same := statecheck.CompareValue(compare.ValuesSame())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{
			{
				Config: config("direct", ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("executor_used"), knownvalue.StringExact("direct")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("build_pod"), knownvalue.Null()),
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("base_image_digest"), knownvalue.StringRegexp(digestPattern)),
					same.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest")),
				},
				Check: func(s *terraform.State) error {
					digest := stateAttr(s, "onesbuild_image.study", "digest")
					run, err := kube.RunUntilLines(ctx, a.client, "default", a.env.NodeRegistry+repo[len(a.env.ClusterRegistry):]+"@"+digest,
						[]string{"Hello World", "Server started on port 8081"})
					if err != nil {
						return err
					}
					t.Logf("direct build in %ss; its image logged %q", stateAttr(s, "onesbuild_image.study", "timings.total"), run.Lines)
					return nil
				},
			},
			{
				// Taint and apply again: bit for bit the same image.
				Taint:  []string{"onesbuild_image.study"},
				Config: config("direct", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					same.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest")),
				},
			},
			{
				// A RUN step cannot be built directly: direct fails at plan ...
				Config:      config("direct", "FROM "+a.env.BaseImage+"\nCOPY main /main\nRUN test -s /main\n"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Dockerfile Not Eligible For A Direct Build.*RUN on line 3`),
			},
			{
				// ... and auto sends it to Kaniko, saying so in the plan.
				Config: config("auto", "FROM "+a.env.BaseImage+"\nCOPY main /main\nRUN test -s /main\n"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("executor_used"), knownvalue.StringExact("kaniko")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("executor_used"), knownvalue.StringExact("kaniko")),
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("build_pod"), knownvalue.NotNull()),
				},
			},
			{
				// auto with the study's Dockerfile builds directly.
				Config: config("auto", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("executor_used"), knownvalue.StringExact("direct")),
					same.AddStateValue("onesbuild_image.study", tfjsonpath.New("digest")),
				},
			},
		},
	})
}

// TestAccImageResource_tenDirectBuildsInOneApply pushes ten images in one
// apply, each from its own context.
func TestAccImageResource_tenDirectBuildsInOneApply(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	repo := uniqueRepo(a, "direct-ten")
	config := a.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "many" {
  count             = 10
  repository        = %[1]q
  tags              = ["build-${count.index}"]
  executor          = "direct"
  context_files     = { "main" = "binary ${count.index}" }
  dockerfile_inline = "FROM %[2]s\nWORKDIR /usr/local/app\nCOPY main /usr/local/app/main\nENTRYPOINT [\"/usr/local/app/main\"]\n"
}
`, repo, a.env.BaseImage)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				seen := map[string]int{}
				for i := 0; i < 10; i++ {
					digest := stateAttr(s, fmt.Sprintf("onesbuild_image.many.%d", i), "digest")
					if prev, dup := seen[digest]; dup {
						return fmt.Errorf("builds %d and %d have the same digest %s", prev, i, digest)
					}
					seen[digest] = i
					got, err := a.reg.ResolveTag(ctx, repo, fmt.Sprintf("build-%d", i))
					if err != nil || got != digest {
						return fmt.Errorf("build-%d = %s (%v), state says %s", i, got, err, digest)
					}
				}
				return nil
			},
		}},
	})
}

// TestAccImageResource_directThroughPortForward builds into a registry
// that runs as a pod in the cluster and that this machine reaches only
// through the API server, then reads it back through the data source.
func TestAccImageResource_directThroughPortForward(t *testing.T) {
	a := newAccEnv(t)
	ctx := context.Background()
	ns := fmt.Sprintf("pf-registry-%d", time.Now().UnixNano()%1_000_000)
	startRegistryPod(t, a, ns)
	inCluster := "registry." + ns + ".svc.cluster.local:5000"
	repo := inCluster + "/study"
	dir := studyContext(t)
	config := fmt.Sprintf(`
provider "onesbuild" {
  config_path            = %[1]q
  insecure_registries    = [%[2]q, %[3]q]
  registry_hosts         = { %[2]q = %[4]q }
  registry_port_forwards = { %[3]q = "%[5]s/registry" }
}

resource "onesbuild_image" "study" {
  repository  = %[6]q
  context_dir = %[7]q
  executor    = "direct"
}

data "onesbuild_image" "pushed" {
  repository = onesbuild_image.study.repository
  digest     = onesbuild_image.study.digest
}
`, a.env.Kubeconfig, a.env.ClusterRegistry, inCluster, a.env.HostRegistry, ns, repo, dir)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: a.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("executor_used"), knownvalue.StringExact("direct")),
				statecheck.ExpectKnownValue("onesbuild_image.study", tfjsonpath.New("image_size_bytes"), knownvalue.NotNull()),
				statecheck.CompareValuePairs("onesbuild_image.study", tfjsonpath.New("digest"), "data.onesbuild_image.pushed", tfjsonpath.New("digest"), compare.ValuesSame()),
			},
			Check: func(s *terraform.State) error {
				// Nothing on this machine reaches the registry but the tunnel.
				direct := &registry.Client{Insecure: []string{inCluster}, Timeout: 3 * time.Second}
				if _, err := direct.ResolveTag(ctx, repo, "latest"); err == nil {
					return fmt.Errorf("the in-cluster registry %s answered without the port-forward", inCluster)
				}
				return nil
			},
		}},
	})
}

// startRegistryPod runs the distribution registry as a Deployment with a
// Service in a namespace of its own, removed when the test ends.
func startRegistryPod(t *testing.T, a *accEnv, ns string) {
	t.Helper()
	ctx := context.Background()
	if _, err := a.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = a.client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	labels := map[string]string{"app": "registry"}
	replicas := int32(1)
	deploy := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "registry", Image: a.env.NodeRegistry + "/" + testcluster.RegistryServerImage,
					Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 5000}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/v2/", Port: intstr.FromString("http")}}, PeriodSeconds: 1},
				}}},
			},
		},
	}
	if _, err := a.client.AppsV1().Deployments(ns).Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "registry", Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 5000, TargetPort: intstr.FromString("http")}}},
	}
	if _, err := a.client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, err := a.client.AppsV1().Deployments(ns).Get(ctx, "registry", metav1.GetOptions{})
		if err == nil && d.Status.ReadyReplicas == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry pod in %s did not become ready: %v", ns, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
