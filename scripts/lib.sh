# Shell helpers shared by the scripts in this directory; source it.

# write_dev_overrides RC_FILE BIN_DIR writes a Terraform/OpenTofu CLI
# configuration that takes the onesbuild provider from BIN_DIR, under both
# registries' addresses, so nothing is downloaded for it.
write_dev_overrides() {
  cat >"$1" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/onesbuild/onesbuild" = "$2"
    "registry.opentofu.org/onesbuild/onesbuild" = "$2"
  }
  direct {}
}
RC
}
