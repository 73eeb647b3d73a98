package testcluster

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// registryConfig enables deletes, which delete_on_destroy and the
// benchmark's cold runs need.
const registryConfig = `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
`

func (h *Harness) registryImageTag() string { return registryImageRepo + ":" + DistributionVersion }

// ensureRegistry runs the registry container on the kind network with a
// named volume, so its data survives container and cluster recreation.
//
// The container carries a label with the hash of its image and its run
// arguments; a container made from another image or configuration is
// replaced (its data volume stays), so that a change to either takes
// effect.
func (h *Harness) ensureRegistry(ctx context.Context) error {
	if err := h.ensureNetwork(ctx); err != nil {
		return err
	}
	if err := h.ensureRegistryDockerImage(ctx); err != nil {
		return err
	}
	imageID, err := output(ctx, cmd("docker", "image", "inspect", "-f", "{{.Id}}", h.registryImageTag()))
	if err != nil {
		return err
	}
	args := h.registryRunArgs()
	want := recipeHash(imageID + "\n" + strings.Join(args, " "))
	state, _ := output(ctx, cmd("docker", "inspect", "-f", "{{.State.Running}} {{index .Config.Labels \""+recipeLabel+"\"}}", h.RegistryName))
	running, got, _ := strings.Cut(state, " ")
	switch {
	case running == "true" && got == want:
		h.Progress.Printf("registry container %s is running", h.RegistryName)
	case running == "false" && got == want:
		if _, err := output(ctx, cmd("docker", "start", h.RegistryName)); err != nil {
			return err
		}
	default:
		if running != "" {
			h.Progress.Printf("registry container %s was made from another image or configuration; replacing it (its data stays)", h.RegistryName)
			if _, err := output(ctx, cmd("docker", "rm", "-f", h.RegistryName)); err != nil {
				return err
			}
		}
		run := append([]string{"run", "-d", "--label", recipeLabel + "=" + want}, args...)
		if _, err := output(ctx, cmd("docker", run...)); err != nil {
			return err
		}
	}
	return waitHTTP(ctx, "http://"+h.hostRegistry()+"/v2/", 60*time.Second)
}

// registryRunArgs are the docker run arguments of the registry container
// after its label.
func (h *Harness) registryRunArgs() []string {
	return []string{"--restart=always", "--name", h.RegistryName,
		"--network", kindNetwork, "-v", registryVolume + ":/var/lib/registry",
		"-e", "REGISTRY_STORAGE_DELETE_ENABLED=true",
		"-p", "127.0.0.1:" + strconv.Itoa(h.RegistryPort) + ":5000", h.registryImageTag()}
}

func (h *Harness) ensureNetwork(ctx context.Context) error {
	if _, err := output(ctx, cmd("docker", "network", "inspect", kindNetwork)); err == nil {
		return nil
	}
	_, err := output(ctx, cmd("docker", "network", "create", kindNetwork))
	return err
}

func (h *Harness) ensureRegistryDockerImage(ctx context.Context) error {
	tag := h.registryImageTag()
	if _, err := output(ctx, cmd("docker", "image", "inspect", tag)); err == nil {
		return nil
	}
	for _, src := range h.remoteSources("onesbuild/registry:"+DistributionVersion, "docker.io/library/registry:3") {
		if _, err := output(ctx, cmd("docker", "pull", src)); err == nil {
			_, err = output(ctx, cmd("docker", "tag", src, tag))
			if err == nil {
				h.Progress.Printf("registry image pulled from %s", src)
				return nil
			}
		} else {
			h.Progress.Printf("registry image: not available from %s (%s)", src, shortErr(err))
		}
	}
	return h.Progress.Step("build the registry image (distribution "+DistributionVersion+") from source", func() error {
		img, err := h.registryServerImage(ctx)
		if err != nil {
			return err
		}
		return dockerLoad(ctx, h.Cache, img, tag)
	})
}

// registryServerImage is the distribution registry as an image: the
// registry container runs it, and tests run it as a pod.
func (h *Harness) registryServerImage(ctx context.Context) (v1.Image, error) {
	if err := distributionComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
		return nil, err
	}
	base, err := layer(staticBase())
	if err != nil {
		return nil, err
	}
	files, err := layer([]fileEntry{
		{Path: "/bin/registry", HostPath: distributionComponent.Binary(h.Cache, "registry"), Mode: 0o755},
		{Path: "/etc/distribution/config.yml", Content: []byte(registryConfig)},
		{Path: "/var/lib/registry", Dir: true, Mode: 0o755},
	})
	if err != nil {
		return nil, err
	}
	return assemble(nil, []v1.Layer{base, files}, imageConfig{
		Entrypoint: []string{"/bin/registry"}, Cmd: []string{"serve", "/etc/distribution/config.yml"},
	})
}

// registryIP is the registry container's address on the kind network,
// which the in-cluster Service points at.
func (h *Harness) registryIP(ctx context.Context) (string, error) {
	ip, err := output(ctx, cmd("docker", "inspect", "-f", "{{(index .NetworkSettings.Networks \""+kindNetwork+"\").IPAddress}}", h.RegistryName))
	if err != nil {
		return "", err
	}
	if ip == "" {
		return "", fmt.Errorf("registry container %s has no address on the %s network", h.RegistryName, kindNetwork)
	}
	return ip, nil
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	return poll(ctx, 500*time.Millisecond, timeout, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode < 500 {
			return true, nil
		}
		return false, fmt.Errorf("status %s", resp.Status)
	}, func(last error) error {
		return fmt.Errorf("%s did not answer within %s: %v", url, timeout, last)
	})
}
