// Package kube connects to a Kubernetes cluster the way users know from
// kubectl and the hashicorp/kubernetes provider (kubeconfig files and
// contexts, explicit credentials, exec credential plugins, in-cluster
// service accounts) and streams data into containers through the attach
// subresource.
package kube
