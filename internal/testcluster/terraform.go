package testcluster

import (
	"context"
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
	if err := opentofuComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
		return nil, err
	}
	return &TerraformCLI{Path: opentofuComponent.Binary(h.Cache, "tofu"), OpenTofu: true}, nil
}
