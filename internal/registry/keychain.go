package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// dockerConfig is the part of a Docker config.json (or a
// kubernetes.io/dockerconfigjson Secret) that holds credentials.
type dockerConfig struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// configKeychain answers with the credentials of a Docker config, for the
// registries as the cluster names them: a registry this process reaches
// under a mapped address gets the credentials of its cluster name.
type configKeychain struct {
	auths map[string]authn.AuthConfig
	hosts map[string]string
}

// DockerConfigKeychain parses a Docker config (the content of a
// .dockerconfigjson or config.json key) into a keychain. hosts is the
// client's cluster-name-to-address map, so that credentials stored for
// registry.kube-system.svc.cluster.local:5000 are used when talking to
// the address it maps to. Registries reached through the client's
// Forwards need no entry: the client asks for them under their cluster
// name.
func DockerConfigKeychain(data []byte, hosts map[string]string) (authn.Keychain, error) {
	var cfg dockerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parsing the Docker config: %w", err)
	}
	kc := &configKeychain{auths: map[string]authn.AuthConfig{}, hosts: hosts}
	for host, a := range cfg.Auths {
		ac := authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("the Docker config's auth for %s is not base64", host)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("the Docker config's auth for %s is not user:password", host)
			}
			ac.Username, ac.Password = user, pass
		}
		kc.auths[normalizeHost(host)] = ac
	}
	return kc, nil
}

// normalizeHost reduces the keys Docker configs use ("https://host/v1/",
// "host") to host[:port].
func normalizeHost(h string) string {
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	h, _, _ = strings.Cut(h, "/")
	if h == "docker.io" || h == "registry-1.docker.io" {
		return "index.docker.io"
	}
	return h
}

// Resolve implements authn.Keychain.
func (k *configKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	reg := normalizeHost(target.RegistryStr())
	if a, ok := k.auths[reg]; ok {
		return authn.FromConfig(a), nil
	}
	for cluster, mapped := range k.hosts {
		if normalizeHost(mapped) == reg {
			if a, ok := k.auths[normalizeHost(cluster)]; ok {
				return authn.FromConfig(a), nil
			}
		}
	}
	return authn.Anonymous, nil
}

// forwardKeychain answers for the local address of a port-forward with
// the credentials of the registry it reaches, as the cluster names it:
// Docker configs and pull Secrets store them under that name, never
// under the local port the tunnel happened to get.
type forwardKeychain struct {
	inner authn.Keychain
	c     *Client
}

// Resolve implements authn.Keychain.
func (k forwardKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	if cluster, ok := k.c.forwardedName(target.RegistryStr()); ok {
		if reg, err := name.NewRegistry(cluster, name.WeakValidation); err == nil {
			a, err := k.inner.Resolve(reg)
			if err != nil {
				return nil, err
			}
			if a != authn.Anonymous {
				return a, nil
			}
		}
	}
	return k.inner.Resolve(target)
}

// WithKeychain returns a copy of the client that tries kc first, then
// the client's own keychain.
func (c *Client) WithKeychain(kc authn.Keychain) *Client {
	own := c.Keychain
	if own == nil {
		own = authn.DefaultKeychain
	}
	c.state() // created before the copy, so that both share it
	sharedInit.Lock()
	copied := *c
	sharedInit.Unlock()
	copied.Keychain = authn.NewMultiKeychain(kc, own)
	copied.reads = nil
	return &copied
}
