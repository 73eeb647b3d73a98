# The feasibility study's image: a local directory holding a Dockerfile
# and a prebuilt binary, built in the cluster and pushed to the in-cluster
# registry.
resource "onesbuild_image" "app" {
  repository  = "registry.kube-system.svc.cluster.local:5000/new-image"
  tags        = ["latest", "v1.4.2"]
  context_dir = "${path.module}/app"

  build_args = {
    VERSION = "1.4.2"
  }
  labels = {
    "org.opencontainers.image.source" = "https://git.example.com/team/app"
  }

  resources {
    requests = { cpu = "500m", memory = "512Mi" }
    limits   = { memory = "1Gi" }
  }

  cache {
    enabled = true
    ttl     = "168h"
  }

  # Keep the last five builds of this resource in the registry.
  retention {
    keep_last = 5
  }

  timeouts {
    create = "30m"
  }
}

# The study's shape (a binary copied onto a base image) built without a
# pod: the provider assembles and pushes the image from this machine in
# a fraction of a second, and the same inputs always give the same digest.
resource "onesbuild_image" "fast" {
  repository    = "registry.kube-system.svc.cluster.local:5000/fast"
  context_dir   = "${path.module}/app"
  executor      = "direct" # or "auto": direct when it can, Kaniko otherwise
  creation_time = "2026-01-01T00:00:00Z"

  # What is inside and where it came from, attached as OCI referrers
  # (the image's digest stays the same); reproducible like the image.
  sbom {
    format = "spdx-json" # or "cyclonedx-json"
  }
  provenance {
    mode = "min" # "max" also records build argument values
  }
}

# A RUN step that needs a token: the value comes from a Kubernetes Secret
# and never enters the image, the pod spec or the state.
resource "onesbuild_image" "with_secret" {
  repository        = "registry.kube-system.svc.cluster.local:5000/with-secret"
  context_dir       = "${path.module}/app"
  dockerfile_inline = <<-EOT
    FROM registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1
    RUN --mount=type=secret,id=npmrc cp /run/secrets/npmrc /root/.npmrc && npm ci && rm /root/.npmrc
  EOT
  build_secret {
    id          = "npmrc"
    secret_name = "build-secrets"
    key         = "npmrc"
  }
}

# A generated context: files and Dockerfile written by Terraform itself.
resource "onesbuild_image" "config" {
  repository = "registry.kube-system.svc.cluster.local:5000/app-config"
  context_files = {
    "config.json" = jsonencode({ environment = "staging" })
  }
  dockerfile_inline = <<-EOT
    FROM registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1
    COPY config.json /etc/app/config.json
  EOT
}

# A context Kaniko fetches itself; triggers rebuild it when the source
# moves. The git credentials come from a Secret, never from the URL.
resource "onesbuild_image" "from_git" {
  repository  = "registry.kube-system.svc.cluster.local:5000/tool"
  context_url = "git://git.example.com/team/tool.git#refs/tags/v2.0.0"
  target      = "runtime"
  platform    = "linux/amd64"
  triggers = {
    tag = "v2.0.0"
  }
  context_credentials_secret = "git-credentials" # GIT_USERNAME, GIT_PASSWORD
  registry_auth_secret       = "registry-credentials"
  delete_on_destroy          = true
}

# Deploy exactly the digest that was built.
output "app_image" {
  value = onesbuild_image.app.image_ref
}
