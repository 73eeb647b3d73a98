package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// TerraformCLI is the Terraform-compatible binary acceptance tests drive.
type TerraformCLI struct {
	Path string
	// OpenTofu is true for tofu, which needs terraform-plugin-testing to
	// name providers under OpenTofu's registry host.
	OpenTofu bool
}

// Env returns the variables terraform-plugin-testing reads.
func (c TerraformCLI) Env() map[string]string {
	env := map[string]string{"TF_ACC_TERRAFORM_PATH": c.Path}
	if c.OpenTofu {
		env["TF_ACC_PROVIDER_NAMESPACE"] = "hashicorp"
		env["TF_ACC_PROVIDER_HOST"] = "registry.opentofu.org"
	}
	return env
}

// TerraformCLIOf finds a particular CLI: "terraform" (which must be on
// PATH: it cannot be built here), "tofu" (from PATH, else built from the
// Go module proxy into the cache), or "" for TerraformCLI's choice.
func (h *Harness) TerraformCLIOf(ctx context.Context, which string) (*TerraformCLI, error) {
	switch which {
	case "":
		return h.TerraformCLI(ctx)
	case "terraform":
		p, err := exec.LookPath("terraform")
		if err != nil {
			return nil, fmt.Errorf("terraform is not on PATH; install HashiCorp Terraform, or run the tests with OpenTofu (TF_CLI=tofu)")
		}
		return &TerraformCLI{Path: p}, nil
	case "tofu":
		if p, err := exec.LookPath("tofu"); err == nil {
			return &TerraformCLI{Path: p, OpenTofu: true}, nil
		}
		return h.builtOpenTofu(ctx)
	}
	return nil, fmt.Errorf("unknown CLI %q: terraform or tofu", which)
}

// TerraformCLI finds the CLI: TF_ACC_TERRAFORM_PATH when set, else
// terraform or tofu on PATH, else OpenTofu built from the Go module proxy
// into the cache.
func (h *Harness) TerraformCLI(ctx context.Context) (*TerraformCLI, error) {
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p != "" {
		return &TerraformCLI{Path: p, OpenTofu: strings.HasPrefix(filepath.Base(p), "tofu")}, nil
	}
	for _, name := range []string{"terraform", "tofu"} {
		if p, err := exec.LookPath(name); err == nil {
			return &TerraformCLI{Path: p, OpenTofu: name == "tofu"}, nil
		}
	}
	return h.builtOpenTofu(ctx)
}

// builtOpenTofu is OpenTofu built from the Go module proxy into the
// cache, for machines with neither CLI on PATH.
func (h *Harness) builtOpenTofu(ctx context.Context) (*TerraformCLI, error) {
	if err := opentofuComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
		return nil, err
	}
	return &TerraformCLI{Path: opentofuComponent.Binary(h.Cache, "tofu"), OpenTofu: true}, nil
}
