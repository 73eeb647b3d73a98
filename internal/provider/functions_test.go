package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// The functions run in Terraform's process as in OpenTofu's: the unit
// test drives the CLI make test finds, the acceptance test the CLI of
// make testacc and make testacc-tofu, so both run every case.
func TestFunctions(t *testing.T)    { resource.UnitTest(t, functionsTestCase(t)) }
func TestAccFunctions(t *testing.T) { resource.Test(t, functionsTestCase(t)) }

// requiredProviders declares the provider under the source the test
// framework serves it as: provider functions are only found through a
// required_providers entry.
func requiredProviders() string {
	host := os.Getenv("TF_ACC_PROVIDER_HOST")
	if host == "" {
		host = "registry.terraform.io"
	}
	namespace := os.Getenv("TF_ACC_PROVIDER_NAMESPACE")
	if namespace == "" {
		namespace = "hashicorp"
	}
	return fmt.Sprintf(`
terraform {
  required_providers {
    onesbuild = { source = "%s/%s/onesbuild" }
  }
}
`, host, namespace)
}

func functionsTestCase(t *testing.T) resource.TestCase {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile":                    "FROM " + clusterRegistry + "/base:1\nCOPY main /main\n",
		"build/Dockerfile":              "FROM " + clusterRegistry + "/base:1\nCOPY main /other\n",
		"build/Dockerfile.dockerignore": "notes.txt\n",
		".dockerignore":                 "ignored\n",
		"main":                          "binary",
		"ignored":                       "not in the context",
		"notes.txt":                     "in the context unless build/Dockerfile is used",
	}
	for p, c := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inline := "FROM " + clusterRegistry + "/base:1\nCOPY notes.txt /notes\n"
	hash := func(src buildcontext.Source) string {
		src.Dir = dir
		sum, err := src.Hash(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return sum.SHA256
	}
	plain, viaPath, viaInline := hash(buildcontext.Source{}), hash(buildcontext.Source{DockerfilePath: "build/Dockerfile"}),
		hash(buildcontext.Source{DockerfileInline: inline})
	if plain == viaPath || plain == viaInline || viaPath == viaInline {
		t.Fatalf("the three contexts should hash apart: %s %s %s", plain, viaPath, viaInline)
	}
	digest := "sha256:" + fmt.Sprintf("%064x", 1)

	config := requiredProviders() + e.providerBlock() + fmt.Sprintf(`
locals {
  dir    = %[1]q
  inline = %[2]q
}

resource "onesbuild_image" "plain" {
  repository  = "%[3]s/functions-plain"
  context_dir = local.dir
  executor    = "direct"
}

resource "onesbuild_image" "path" {
  repository  = "%[3]s/functions-path"
  context_dir = local.dir
  dockerfile  = "build/Dockerfile"
  executor    = "direct"
}

resource "onesbuild_image" "inline" {
  repository        = "%[3]s/functions-inline"
  context_dir       = local.dir
  dockerfile_inline = local.inline
  executor          = "direct"
}

output "plain"  { value = provider::onesbuild::context_hash(local.dir, {}) }
output "path"   { value = provider::onesbuild::context_hash(local.dir, { dockerfile = "build/Dockerfile" }) }
output "inline" { value = provider::onesbuild::context_hash(local.dir, { dockerfile_inline = local.inline }) }

output "ref"    { value = provider::onesbuild::image_ref("%[3]s/app", %[4]q) }
output "pinned" { value = provider::onesbuild::parse_image_ref("%[3]s/team/app:v1@%[4]s") }
output "tagged" { value = provider::onesbuild::parse_image_ref("%[3]s/app:v1") }
output "round"  { value = provider::onesbuild::parse_image_ref(onesbuild_image.plain.image_ref) }
`, dir, inline, clusterRegistry, digest)

	fails := func(call string, message string) resource.TestStep {
		return resource.TestStep{
			Config:      requiredProviders() + fmt.Sprintf("output \"x\" { value = %s }\n", call),
			ExpectError: regexp.MustCompile(message),
		}
	}
	return resource.TestCase{
		ProtoV6ProviderFactories: e.factories(),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					// The function's hash is exactly what a build records,
					// with each way of naming the Dockerfile.
					statecheck.ExpectKnownOutputValue("plain", knownvalue.StringExact(plain)),
					statecheck.ExpectKnownValue("onesbuild_image.plain", tfjsonpath.New("context_sha256"), knownvalue.StringExact(plain)),
					statecheck.ExpectKnownOutputValue("path", knownvalue.StringExact(viaPath)),
					statecheck.ExpectKnownValue("onesbuild_image.path", tfjsonpath.New("context_sha256"), knownvalue.StringExact(viaPath)),
					statecheck.ExpectKnownOutputValue("inline", knownvalue.StringExact(viaInline)),
					statecheck.ExpectKnownValue("onesbuild_image.inline", tfjsonpath.New("context_sha256"), knownvalue.StringExact(viaInline)),

					statecheck.ExpectKnownOutputValue("ref", knownvalue.StringExact(clusterRegistry+"/app@"+digest)),
					statecheck.ExpectKnownOutputValue("pinned", knownvalue.ObjectExact(map[string]knownvalue.Check{
						"registry":   knownvalue.StringExact(clusterRegistry),
						"repository": knownvalue.StringExact(clusterRegistry + "/team/app"),
						"tag":        knownvalue.StringExact("v1"),
						"digest":     knownvalue.StringExact(digest),
					})),
					statecheck.ExpectKnownOutputValue("tagged", knownvalue.ObjectExact(map[string]knownvalue.Check{
						"registry":   knownvalue.StringExact(clusterRegistry),
						"repository": knownvalue.StringExact(clusterRegistry + "/app"),
						"tag":        knownvalue.StringExact("v1"),
						"digest":     knownvalue.Null(),
					})),
					statecheck.ExpectKnownOutputValue("round", knownvalue.ObjectExact(map[string]knownvalue.Check{
						"registry":   knownvalue.StringExact(clusterRegistry),
						"repository": knownvalue.StringExact(clusterRegistry + "/functions-plain"),
						"tag":        knownvalue.Null(),
						"digest":     knownvalue.StringRegexp(digestPattern),
					})),
				},
			},
			fails(`provider::onesbuild::context_hash("`+dir+`", { dockerfil = "Dockerfile" })`, `options has no key "dockerfil"`),
			fails(`provider::onesbuild::context_hash("`+filepath.Join(dir, "missing")+`", {})`, `could not be hashed`),
			fails(`provider::onesbuild::context_hash("`+dir+`", { dockerfile = "../Dockerfile" })`, `could not be hashed`),
			fails(`provider::onesbuild::image_ref("app", "`+digest+`")`, `registry`),
			fails(`provider::onesbuild::image_ref("`+clusterRegistry+`/app", "sha256:abc")`, `digest`),
			fails(`provider::onesbuild::image_ref("`+clusterRegistry+`/app:v1", "`+digest+`")`, `tag`),
			fails(`provider::onesbuild::parse_image_ref("`+clusterRegistry+`/app:-bad")`, `tag`),
			fails(`provider::onesbuild::parse_image_ref("`+clusterRegistry+`/app@sha256:XYZ")`, `digest`),
			// The framework destroys with the last step's configuration.
			{Config: requiredProviders() + `output "x" { value = provider::onesbuild::parse_image_ref("` + clusterRegistry + `/app").tag }`},
		},
	}
}
