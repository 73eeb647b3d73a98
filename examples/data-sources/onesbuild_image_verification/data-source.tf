# Build, attach and sign with a key the cluster holds (a Secret written
# by `cosign generate-key-pair k8s://default/image-signing`) ...
resource "onesbuild_image" "app" {
  repository  = "registry.kube-system.svc.cluster.local:5000/app"
  context_dir = "${path.module}/app"
  executor    = "direct"

  sbom {}
  provenance {}
  signing {
    key_secret = "image-signing"
  }
}

# ... and deploy only what verifies: a failed check is an error, so
# nothing that reads image_ref from here is planned.
data "onesbuild_image_verification" "app" {
  image_ref          = onesbuild_image.app.image_ref
  public_key         = file("${path.module}/cosign.pub")
  require_sbom       = true
  require_provenance = true
}

output "verified_image" {
  value = data.onesbuild_image_verification.app.id
}
