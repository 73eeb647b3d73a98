# The parts of a reference: registry, repository (with the registry), tag
# and digest; a part the reference lacks is null.
locals {
  ref      = provider::onesbuild::parse_image_ref("registry.example.com/team/api:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
  registry = local.ref.registry # "registry.example.com"
  tag      = local.ref.tag      # "v1"
}
