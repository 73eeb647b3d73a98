// Package kube is the project's Kubernetes plumbing: it connects the way
// users know from kubectl and the hashicorp/kubernetes provider
// (kubeconfig files and contexts, explicit credentials, exec credential
// plugins, in-cluster service accounts) behind the Cluster interface,
// lazily (Connection), streams data into containers (PodAttacher),
// forwards local ports to Services (ServiceForward, LazyServiceForward),
// reads Secrets, tells which platforms the nodes a pod could land on
// have (Nodes), reads the kubelet's container statistics, and runs pods
// until they log what a test waits for.
//
// Files by concern: cluster.go (Cluster, Connection, LazyServiceForward),
// config.go (connection options), attach.go, portforward.go, secrets.go,
// nodes.go, stats.go, run.go. kubetest holds the fake clientset and
// kubelet of the tests.
package kube
