package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

func TestImageDataSource_readsBuildHistory(t *testing.T) {
	e := newTestEnv(t)
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = "%[1]s/history"
  context_files     = { "x" = "y" }
  dockerfile_inline = "FROM scratch\nCOPY x /x\n"
  labels            = { team = "platform" }
}

data "onesbuild_image" "by_tag" {
  repository = onesbuild_image.app.repository
  tag        = "latest"
  depends_on = [onesbuild_image.app]
}

data "onesbuild_image" "by_digest" {
  repository = onesbuild_image.app.repository
  digest     = onesbuild_image.app.digest
}
`, clusterRegistry)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("data.onesbuild_image.by_tag", tfjsonpath.New("provider_version"), knownvalue.StringExact("test")),
				statecheck.ExpectKnownValue("data.onesbuild_image.by_tag", tfjsonpath.New("labels").AtMapKey("team"), knownvalue.StringExact("platform")),
				statecheck.ExpectKnownValue("data.onesbuild_image.by_tag", tfjsonpath.New("labels").AtMapKey(build.LabelCreated), knownvalue.StringRegexp(regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`))),
				statecheck.ExpectKnownValue("data.onesbuild_image.by_digest", tfjsonpath.New("image_size_bytes"), knownvalue.NotNull()),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				resource.TestCheckResourceAttrPair("data.onesbuild_image.by_tag", "digest", "onesbuild_image.app", "digest"),
				resource.TestCheckResourceAttrPair("data.onesbuild_image.by_tag", "context_sha256", "onesbuild_image.app", "context_sha256"),
				resource.TestCheckResourceAttrPair("data.onesbuild_image.by_digest", "image_ref", "onesbuild_image.app", "image_ref"),
			),
		}},
	})
}

func TestImageDataSource_errors(t *testing.T) {
	e := newTestEnv(t)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config:      e.providerBlock() + fmt.Sprintf("data \"onesbuild_image\" \"x\" {\n repository = \"%s/nothing\"\n tag = \"v1\"\n}\n", clusterRegistry),
				ExpectError: regexp.MustCompile(`(?s)Image Not Found.*nothing:v1`),
			},
			{
				Config:      e.providerBlock() + fmt.Sprintf("data \"onesbuild_image\" \"x\" {\n repository = \"%s/nothing\"\n}\n", clusterRegistry),
				ExpectError: regexp.MustCompile(`(?s)Missing Attribute Configuration.*tag,digest`),
			},
		},
	})
}

func TestImageResource_retention(t *testing.T) {
	e := newTestEnv(t)
	repo := clusterRegistry + "/kept"
	reg := &registry.Client{Hosts: map[string]string{clusterRegistry: e.registryHost}, Insecure: []string{clusterRegistry}}
	config := func(version string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %q
  context_files     = { "version" = %q }
  dockerfile_inline = "FROM scratch\nCOPY version /version\n"
  retention {
    keep_last = 2
  }
}
`, repo, version)
	}
	var digests []string
	record := func(s *terraform.State) error {
		digests = append(digests, s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"])
		return nil
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config("1"), Check: record},
			{Config: config("2"), Check: record},
			{
				Config: config("3"),
				Check: func(s *terraform.State) error {
					if err := record(s); err != nil {
						return err
					}
					ctx := context.Background()
					if _, err := reg.Describe(ctx, repo, digests[0]); err == nil {
						return fmt.Errorf("the oldest build %s survived keep_last = 2", digests[0])
					}
					for _, d := range digests[1:] {
						if _, err := reg.Describe(ctx, repo, d); err != nil {
							return fmt.Errorf("build %s within keep_last was deleted: %v", d, err)
						}
					}
					return expectHistoryTags(ctx, reg, repo, 2)
				},
			},
		},
	})
}

func TestImageResource_queueLimitsConcurrentBuilds(t *testing.T) {
	e := newTestEnv(t)
	config := strings.Replace(e.providerBlock(), "namespace ", "max_concurrent_builds = 1\n  namespace ", 1) + fmt.Sprintf(`
resource "onesbuild_image" "many" {
  count             = 3
  repository        = "%s/queued-${count.index}"
  context_files     = { "n" = "${count.index}" }
  dockerfile_inline = "FROM scratch\nCOPY n /n\n"
}
`, clusterRegistry)
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				queued := 0
				for i := 0; i < 3; i++ {
					if v := s.RootModule().Resources[fmt.Sprintf("onesbuild_image.many.%d", i)].Primary.Attributes["timings.queued"]; v != "0" {
						queued++
					}
				}
				if queued < 2 {
					return fmt.Errorf("%d of 3 builds waited in the queue with max_concurrent_builds = 1, want at least 2", queued)
				}
				return nil
			},
		}},
	})
}

// expectHistoryTags checks how many retention history tags the
// repository holds.
func expectHistoryTags(ctx context.Context, reg *registry.Client, repo string, want int) error {
	tags, err := reg.ListTags(ctx, repo)
	if err != nil {
		return err
	}
	history := 0
	for _, tag := range tags {
		if strings.HasPrefix(tag, "onesbuild-") {
			history++
		}
	}
	if history != want {
		return fmt.Errorf("%d history tags in %s (%v), want %d", history, repo, tags, want)
	}
	return nil
}
