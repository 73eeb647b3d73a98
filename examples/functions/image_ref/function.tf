# Pin a Deployment to a digest another pipeline reported, with the
# repository and the digest checked before anything is planned.
variable "api_digest" {
  type = string
}

locals {
  api_image = provider::onesbuild::image_ref("registry.example.com/team/api", var.api_digest)
}
