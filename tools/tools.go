//go:build generate

// Package tools pins the documentation generator that
// scripts/generate.sh (make generate) runs.
package tools

import (
	_ "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs"
)
