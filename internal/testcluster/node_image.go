package testcluster

import (
	"context"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func nodeImageRecipe() string {
	return nodeRootfsRecipe() + "\n" + kubernetesComponent.recipe() + "\nnode-image/v2: CNI configured per node after create"
}

// nodeImagePresent reports whether Docker holds the kind node image
// built from the current recipe.
func nodeImagePresent(ctx context.Context) bool {
	got, err := output(ctx, cmd("docker", "image", "inspect", "-f", "{{index .Config.Labels \""+recipeLabel+"\"}}", nodeImageRepository+":"+KubernetesVersion))
	return err == nil && got == recipeHash(nodeImageRecipe())
}

// ensureNodeImage makes the kind node image present in Docker: already
// loaded with the current recipe, pulled from the mirror, or built from
// the node root file system and the Kubernetes binaries.
func (h *Harness) ensureNodeImage(ctx context.Context) error {
	tag := nodeImageRepository + ":" + KubernetesVersion
	want := recipeHash(nodeImageRecipe())
	if nodeImagePresent(ctx) {
		h.Progress.Printf("node image %s: present in Docker", tag)
		return nil
	}
	if h.Mirror != "" && !h.Offline {
		src := strings.TrimSuffix(h.Mirror, "/") + "/" + tag
		if _, err := output(ctx, cmd("docker", "pull", src)); err == nil {
			if _, err := output(ctx, cmd("docker", "tag", src, tag)); err == nil {
				h.Progress.Printf("node image %s: pulled from %s", tag, src)
				return nil
			}
		} else {
			h.Progress.Printf("node image: not available from %s (%s)", src, shortErr(err))
		}
	}
	return h.Progress.Step("build the kind node image "+tag, func() error {
		if err := kubernetesComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
			return err
		}
		rootfs, err := h.nodeRootfsLayer(ctx)
		if err != nil {
			return err
		}
		var entries []fileEntry
		for _, b := range []string{"kubelet", "kubeadm", "kubectl"} {
			entries = append(entries, fileEntry{Path: "/usr/bin/" + b, HostPath: kubernetesComponent.Binary(h.Cache, b), Mode: 0o755})
		}
		entries = append(entries, fileEntry{Path: "/kind/version", Content: []byte(KubernetesVersion)},
			// A whiteout: the root file system's single-node CNI
			// configuration goes; wirePodNetwork writes one per node.
			fileEntry{Path: "/etc/cni/net.d/.wh.10-ptp.conflist", Content: []byte{}})
		k8s, err := layer(entries)
		if err != nil {
			return err
		}
		img, err := assemble(nil, []v1.Layer{rootfs, k8s}, imageConfig{
			Entrypoint: []string{"/usr/local/bin/entrypoint", "/sbin/init"},
			Env:        []string{"container=docker", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			StopSignal: "SIGRTMIN+3",
			Labels:     map[string]string{recipeLabel: want},
		})
		if err != nil {
			return err
		}
		return dockerLoad(ctx, h.Cache, img, tag)
	})
}
