# Consume an image another configuration built: pin deployments to the
# digest "latest" points at now, and read its build history labels.
data "onesbuild_image" "base" {
  repository = "registry.kube-system.svc.cluster.local:5000/new-image"
  tag        = "latest"
}

output "base_image" {
  value = data.onesbuild_image.base.image_ref
}

output "base_built_at" {
  value = data.onesbuild_image.base.created
}

output "base_context" {
  value = data.onesbuild_image.base.context_sha256
}
