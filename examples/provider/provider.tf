# Connect through a kubeconfig file, as kubectl does.
provider "onesbuild" {
  config_path    = "~/.kube/config"
  config_context = "kind-onesbuild"

  # Defaults for every build; resources may override them.
  namespace    = "builds"
  kaniko_image = "registry.internal.example.com/osscontainertools/kaniko:v1.26.3-debug"

  # kaniko (a pod per build, any Dockerfile), direct (no pod, COPY-only
  # Dockerfiles, reproducible) or auto (direct where it can).
  default_executor = "auto"

  # The in-cluster registry speaks plain HTTP. From the machine running
  # Terraform it is reachable through a port-forward or a published port.
  insecure_registries = ["registry.kube-system.svc.cluster.local:5000"]
  registry_hosts = {
    "registry.kube-system.svc.cluster.local:5000" = "localhost:5000"
  }

  max_concurrent_builds = 4
  push_retry            = 5
  image_download_retry  = 5
  # Autoscaled build pools: wait up to ten minutes for a node.
  unschedulable_timeout = "10m"
}

# A registry that only the cluster reaches, through the API server as
# kubectl port-forward does (direct builds, drift, retention, data source).
provider "onesbuild" {
  alias               = "tunnel"
  config_path         = "~/.kube/config"
  insecure_registries = ["registry.kube-system.svc.cluster.local:5000"]
  registry_port_forwards = {
    "registry.kube-system.svc.cluster.local:5000" = "kube-system/registry"
  }
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
