// Package tfcli drives a Terraform-compatible CLI (terraform or tofu) on
// a working directory, with a provider installed from a local plugin
// directory through dev_overrides, as the acceptance tests and the
// benchmark's apply scenarios do. It writes the configuration, runs the
// CLI with -chdir and TF_CLI_CONFIG_FILE, returns failures with the tail
// of the CLI's output, and reads the resources of `show -json`.
//
// It knows nothing of testing or of the plugin framework: callers that
// are tests wrap it with their own t.Fatal.
package tfcli
