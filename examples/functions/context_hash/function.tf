# Tag an image built elsewhere by the same hash onesbuild_image records,
# with the same ignore rules, instead of filesha256 over a fileset.
locals {
  api_context = provider::onesbuild::context_hash("${path.module}/services/api", {})
  # The Dockerfile's path in the context, or an inline Dockerfile, as the
  # resource's dockerfile and dockerfile_inline take them.
  worker_context = provider::onesbuild::context_hash("${path.module}/services", { dockerfile = "worker/Dockerfile" })
}

resource "terraform_data" "api_pipeline" {
  triggers_replace = [local.api_context]
}
