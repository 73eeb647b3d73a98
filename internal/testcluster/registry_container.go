package testcluster

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
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
func (h *Harness) ensureRegistry(ctx context.Context) error {
	running, _ := output(ctx, cmd("docker", "inspect", "-f", "{{.State.Running}}", h.RegistryName))
	if err := h.ensureNetwork(ctx); err != nil {
		return err
	}
	switch running {
	case "true":
		h.Progress.Printf("registry container %s is running", h.RegistryName)
	case "false":
		if _, err := output(ctx, cmd("docker", "start", h.RegistryName)); err != nil {
			return err
		}
	default:
		if err := h.ensureRegistryDockerImage(ctx); err != nil {
			return err
		}
		_, err := output(ctx, cmd("docker", "run", "-d", "--restart=always", "--name", h.RegistryName,
			"--network", kindNetwork, "-v", registryVolume+":/var/lib/registry",
			"-e", "REGISTRY_STORAGE_DELETE_ENABLED=true",
			"-p", "127.0.0.1:"+strconv.Itoa(h.RegistryPort)+":5000", h.registryImageTag()))
		if err != nil {
			return err
		}
	}
	return waitHTTP(ctx, "http://"+h.hostRegistry()+"/v2/", 60*time.Second)
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
		if err := distributionComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
			return err
		}
		base, err := layer(staticBase())
		if err != nil {
			return err
		}
		files, err := layer([]fileEntry{
			{Path: "/bin/registry", HostPath: distributionComponent.Binary(h.Cache, "registry"), Mode: 0o755},
			{Path: "/etc/distribution/config.yml", Content: []byte(registryConfig)},
			{Path: "/var/lib/registry", Dir: true, Mode: 0o755},
		})
		if err != nil {
			return err
		}
		img, err := assemble(nil, []v1.Layer{base, files}, imageConfig{
			Entrypoint: []string{"/bin/registry"}, Cmd: []string{"serve", "/etc/distribution/config.yml"},
		})
		if err != nil {
			return err
		}
		return dockerLoad(ctx, h.Cache, img, tag)
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
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer within %s: %v", url, timeout, last)
}
