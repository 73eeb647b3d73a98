# Quickstart: build the feasibility study's image inside a kind cluster
# and push it to the cluster's registry. `make demo` runs it against the
# harness cluster; see the README for running it by hand.
terraform {
  required_providers {
    onesbuild = {
      source = "onesbuild/onesbuild"
    }
  }
}

variable "kubeconfig" {
  description = "Kubeconfig of the cluster to build in."
  type        = string
}

variable "kaniko_image" {
  description = "Kaniko executor image, as the cluster's nodes pull it."
  type        = string
  default     = "localhost:5000/osscontainertools/kaniko:v1.26.3-debug"
}

variable "executor" {
  description = "kaniko (a pod in the cluster), direct (no pod, from this machine) or auto."
  type        = string
  default     = "kaniko"
}

variable "registry" {
  description = "Registry as pods see it; Kaniko pushes here."
  type        = string
  default     = "registry.kube-system.svc.cluster.local:5000"
}

variable "registry_from_host" {
  description = "The same registry as this machine reaches it."
  type        = string
  default     = "localhost:5000"
}

provider "onesbuild" {
  config_path         = var.kubeconfig
  kaniko_image        = var.kaniko_image
  insecure_registries = [var.registry]
  registry_hosts      = { (var.registry) = var.registry_from_host }
}

# app/ holds the study's Dockerfile and the hello server binary (`main`),
# which make demo compiles from hello/.
resource "onesbuild_image" "hello" {
  repository  = "${var.registry}/new-image"
  tags        = ["latest"]
  context_dir = "${path.module}/app"
  executor    = var.executor
}

output "digest" {
  value = onesbuild_image.hello.digest
}

output "image_ref" {
  value = onesbuild_image.hello.image_ref
}

output "image_size_bytes" {
  value = onesbuild_image.hello.image_size_bytes
}

output "timings" {
  value = onesbuild_image.hello.timings
}

output "executor_used" {
  value = onesbuild_image.hello.executor_used
}
