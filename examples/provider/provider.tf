# Connect through a kubeconfig file, as kubectl does.
provider "onesbuild" {
  config_path    = "~/.kube/config"
  config_context = "kind-onesbuild"

  # Defaults for every build; resources may override them.
  namespace    = "builds"
  kaniko_image = "registry.internal.example.com/kaniko-project/executor:v1.24.0-debug"

  # The in-cluster registry speaks plain HTTP. From the machine running
  # Terraform it is reachable through a port-forward or a published port.
  insecure_registries = ["registry.kube-system.svc.cluster.local:5000"]
  registry_hosts = {
    "registry.kube-system.svc.cluster.local:5000" = "localhost:5000"
  }

  max_concurrent_builds = 4
  push_retry            = 5
  image_download_retry  = 5
}

# Or with explicit credentials, for example from a cloud provider's
# cluster resource, and an exec plugin for short-lived tokens.
provider "onesbuild" {
  alias                  = "eks"
  host                   = "https://EXAMPLE.gr7.eu-west-1.eks.amazonaws.com"
  cluster_ca_certificate = file("${path.module}/cluster-ca.pem")

  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", "example"]
  }
}
