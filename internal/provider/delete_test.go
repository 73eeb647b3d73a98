package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// testRegistryClient reads the test environment's registry as the
// provider does.
func testRegistryClient(e *testEnv) *registry.Client {
	return &registry.Client{Hosts: map[string]string{clusterRegistry: e.registryHost}, Insecure: []string{clusterRegistry}}
}

// expectGone fails unless every digest is gone from repo.
func expectGone(ctx context.Context, reg *registry.Client, repo string, digests ...string) error {
	for _, d := range digests {
		if _, err := reg.Describe(ctx, repo, d); err == nil {
			tags, _ := reg.ListTags(ctx, repo)
			return fmt.Errorf("%s@%s still in the registry after destroy; tags %v", repo, d, tags)
		}
	}
	return nil
}

// TestImageResource_deleteOnDestroyDeletesPlatformImages: the image of a
// multi-platform build is an index; destroying it deletes the platform
// images it lists too, which nothing else uses.
func TestImageResource_deleteOnDestroyDeletesPlatformImages(t *testing.T) {
	e := newTestEnv(t)
	pushMultiBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/multi:1\nARG TARGETARCH\nCOPY main /app/main-$TARGETARCH\n")
	repo := clusterRegistry + "/multi-delete"
	reg := testRegistryClient(e)
	var built []string
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy: func(*terraform.State) error {
			return expectGone(context.Background(), reg, repo, built...)
		},
		Steps: []resource.TestStep{{
			Config: e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %[1]q
  context_dir       = %[2]q
  executor          = "direct"
  platforms         = ["linux/amd64", "linux/arm64"]
  delete_on_destroy = true
}
`, repo, dir),
			Check: func(s *terraform.State) error {
				a := s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes
				built = []string{a["digest"], a["platform_digests.linux/amd64"], a["platform_digests.linux/arm64"]}
				for _, d := range built {
					if !digestPattern.MatchString(d) {
						return fmt.Errorf("digests %v", built)
					}
				}
				return nil
			},
		}},
	})
}

// tagsOf lists repo's tags, sorted, each with the digest it points at.
func tagsOf(ctx context.Context, reg *registry.Client, repo string) (map[string]string, error) {
	tags, err := reg.ListTags(ctx, repo)
	if err != nil {
		return nil, err
	}
	sort.Strings(tags)
	at := map[string]string{}
	for _, t := range tags {
		d, err := reg.ResolveTag(ctx, repo, t)
		if err != nil {
			return nil, err
		}
		at[t] = d
	}
	return at, nil
}

// TestImageResource_deleteOnDestroyWithRetention: with retention, destroy
// hands the history over and delete_on_destroy still deletes the image
// only this resource uses; only the older build, kept when its instance
// was replaced without delete_on_destroy, is handed over.
func TestImageResource_deleteOnDestroyWithRetention(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\n")
	repo := clusterRegistry + "/retained"
	reg := testRegistryClient(e)
	config := func(deleteOnDestroy bool) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %[1]q
  context_dir       = %[2]q
  executor          = "direct"
  delete_on_destroy = %[3]t
  retention {
    keep_last = 3
  }
}
`, repo, dir, deleteOnDestroy)
	}
	var first, second string
	digest := func(to *string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			*to = s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"]
			return nil
		}
	}
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy: func(*terraform.State) error {
			ctx := context.Background()
			if err := expectGone(ctx, reg, repo, second); err != nil {
				return err
			}
			if _, err := reg.Describe(ctx, repo, first); err != nil {
				return fmt.Errorf("the older build, kept by retention, was deleted: %w", err)
			}
			tags, err := tagsOf(ctx, reg, repo)
			if err != nil {
				return err
			}
			if len(tags) != 1 {
				return fmt.Errorf("tags after destroy %v, want the older build's history tag alone, handed over", tags)
			}
			for tag, d := range tags {
				if !strings.HasPrefix(tag, "onesbuild-orphan-") || d != first {
					return fmt.Errorf("tags after destroy %v, want an orphaned history tag at %s", tags, first)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: config(false), Check: digest(&first)},
			{
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(dir, "main"), []byte("binary v2"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: config(true),
				Check: func(s *terraform.State) error {
					if err := digest(&second)(s); err != nil {
						return err
					}
					if second == first {
						return fmt.Errorf("the changed context gave the same digest %s", first)
					}
					if _, err := reg.Describe(context.Background(), repo, first); err != nil {
						return fmt.Errorf("the first build, replaced without delete_on_destroy, is gone: %w", err)
					}
					return expectHistoryTags(context.Background(), reg, repo, 2)
				},
			},
		},
	})
}

// TestImageResource_createBeforeDestroyKeepsTheReplacementsHistory: a
// create_before_destroy replacement with the same repository and tags
// (the same history key) builds before the old instance is destroyed;
// the old one must not hand the live replacement's history over.
func TestImageResource_createBeforeDestroyKeepsTheReplacementsHistory(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\n")
	repo := clusterRegistry + "/cbd-history"
	reg := testRegistryClient(e)
	config := e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository  = %[1]q
  tags        = ["prod"]
  context_dir = %[2]q
  executor    = "direct"
  retention {
    keep_last = 3
  }
  lifecycle {
    create_before_destroy = true
  }
}
`, repo, dir)
	var first string
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{Config: config, Check: func(s *terraform.State) error {
				first = s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"]
				return nil
			}},
			{
				PreConfig: func() {
					if err := os.WriteFile(filepath.Join(dir, "main"), []byte("binary v2"), 0o644); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				Check: func(s *terraform.State) error {
					ctx := context.Background()
					second := s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"]
					tags, err := tagsOf(ctx, reg, repo)
					if err != nil {
						return err
					}
					key := registry.HistoryKey(repo, []string{"prod"})
					held := map[string]bool{}
					for tag, d := range tags {
						switch {
						case strings.HasPrefix(tag, "onesbuild-orphan-"):
							return fmt.Errorf("the live resource's history was handed over: %v", tags)
						case strings.HasPrefix(tag, "onesbuild-"+key+"-"):
							held[d] = true
						}
					}
					if !held[first] || !held[second] || tags["prod"] != second {
						return fmt.Errorf("tags %v: want prod at %s and history tags of both builds", tags, second)
					}
					return nil
				},
			},
			{
				// A taint: the replacement gives the same digest, so the
				// registry cannot tell its history tag from the old
				// instance's; what this apply pushed can.
				Config: config,
				Taint:  []string{"onesbuild_image.app"},
				Check: func(s *terraform.State) error {
					tags, err := tagsOf(context.Background(), reg, repo)
					if err != nil {
						return err
					}
					for tag := range tags {
						if strings.HasPrefix(tag, "onesbuild-orphan-") {
							return fmt.Errorf("the live resource's history was handed over after a taint: %v", tags)
						}
					}
					// The rebuild's tag replaced the older tag of the same
					// image (retention counts images): one tag for each.
					return expectHistoryTags(context.Background(), reg, repo, 2)
				},
			},
		},
	})
}

// TestImageResource_createBeforeDestroyTagChangeRemovesTheOldTag: a
// create_before_destroy replacement for a change of tags that gives the
// same digest (a reproducible direct build) keeps the image the old
// instance had; the old instance's destroy removes the tag the
// replacement dropped, so that destroying the replacement deletes the
// image.
func TestImageResource_createBeforeDestroyTagChangeRemovesTheOldTag(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /main\n")
	repo := clusterRegistry + "/cbd-tags"
	reg := testRegistryClient(e)
	config := func(tag string) string {
		return e.providerBlock() + fmt.Sprintf(`
resource "onesbuild_image" "app" {
  repository        = %[1]q
  tags              = ["latest", %[3]q]
  context_dir       = %[2]q
  executor          = "direct"
  delete_on_destroy = true
  lifecycle {
    create_before_destroy = true
  }
}
`, repo, dir, tag)
	}
	var first string
	resource.UnitTest(t, resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		CheckDestroy: func(*terraform.State) error {
			ctx := context.Background()
			if err := expectGone(ctx, reg, repo, first); err != nil {
				return err
			}
			if tags, err := tagsOf(ctx, reg, repo); err != nil || len(tags) > 0 {
				return fmt.Errorf("after destroy the repository has tags %v (%v)", tags, err)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{Config: config("v1"), Check: func(s *terraform.State) error {
				first = s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"]
				return nil
			}},
			{
				Config: config("v2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("onesbuild_image.app", plancheck.ResourceActionCreateBeforeDestroy),
				}},
				Check: func(s *terraform.State) error {
					if d := s.RootModule().Resources["onesbuild_image.app"].Primary.Attributes["digest"]; d != first {
						return fmt.Errorf("the replacement gave %s, the first build %s: the test needs one digest", d, first)
					}
					tags, err := tagsOf(context.Background(), reg, repo)
					if err != nil {
						return err
					}
					if want := map[string]string{"latest": first, "v2": first}; fmt.Sprint(tags) != fmt.Sprint(want) {
						return fmt.Errorf("tags after the replacement %v, want %v", tags, want)
					}
					return nil
				},
			},
		},
	})
}

func TestImageKeptDetail(t *testing.T) {
	ref := clusterRegistry + "/app@sha256:" + strings.Repeat("a", 64)
	for name, tc := range map[string]struct {
		d            registry.Deletion
		want, absent []string
	}{
		"untagged": {
			d:      registry.Deletion{KeptBecause: "other tags point at it: stable", Untagged: []string{"v1"}},
			want:   []string{ref, "other tags point at it: stable", "tags were removed: v1", "Nothing to do"},
			absent: []string{"does not delete tags"},
		},
		"left": {
			d:      registry.Deletion{KeptBecause: "another resource pushed the same image in this run", Left: []string{"v1"}},
			want:   []string{"does not delete tags", "pointing at the image: v1", "count as another user", "outside Terraform"},
			absent: []string{"Nothing to do"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := imageKeptDetail(ref, tc.d)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("detail %q lacks %q", got, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("detail %q says %q", got, a)
				}
			}
		})
	}
}
