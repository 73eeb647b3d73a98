package kube

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ConnectionOptions selects and overrides cluster credentials. Every
// field is optional.
type ConnectionOptions struct {
	// ConfigPaths are kubeconfig files, merged in order. When empty, the
	// KUBE_CONFIG_PATH, KUBE_CONFIG_PATHS and KUBECONFIG variables are
	// read (path lists, like KUBECONFIG).
	ConfigPaths []string
	// ConfigContext picks a context from the kubeconfig.
	ConfigContext string

	// Host, Token and the PEM-encoded certificates override or replace
	// the kubeconfig's cluster and user.
	Host                 string
	Token                string
	ClusterCACertificate string
	ClientCertificate    string
	ClientKey            string
	Insecure             bool
	Exec                 *ExecOptions

	// UserAgent is sent with every request.
	UserAgent string
}

// ExecOptions configures a client-go credential plugin.
type ExecOptions struct {
	APIVersion string
	Command    string
	Args       []string
	Env        map[string]string
}

// ErrNoConfiguration means nothing told us how to reach a cluster.
var ErrNoConfiguration = errors.New("no cluster configuration: set config_path (or KUBE_CONFIG_PATH/KUBECONFIG), or host with credentials, or run inside a cluster")

// configPathEnv are read in order when ConfigPaths is empty.
var configPathEnv = []string{"KUBE_CONFIG_PATH", "KUBE_CONFIG_PATHS", "KUBECONFIG"}

// RESTConfig resolves the options into a client configuration. getenv is
// os.Getenv outside tests.
//
// A connection given explicitly (a host with a token, client
// certificates or an exec plugin) without a config path uses only what
// was given: KUBECONFIG and friends are not read underneath it, or the
// credentials of whatever cluster they point at could be sent to this
// host.
func RESTConfig(o ConnectionOptions, getenv func(string) string) (*rest.Config, error) {
	explicit := o.Host != "" || o.Token != "" || o.ClientCertificate != "" || o.Exec != nil
	if explicit && len(o.ConfigPaths) == 0 {
		getenv = func(string) string { return "" }
	}
	paths, err := configPaths(o.ConfigPaths, getenv)
	if err != nil {
		return nil, err
	}
	var cfg *rest.Config
	switch {
	case len(paths) > 0 || explicit:
		rules := &clientcmd.ClientConfigLoadingRules{Precedence: paths}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides(o)).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("loading cluster configuration from %s: %w", describePaths(paths), err)
		}
	case getenv("KUBERNETES_SERVICE_HOST") != "":
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("loading in-cluster configuration: %w", err)
		}
	default:
		return nil, ErrNoConfiguration
	}
	if o.UserAgent != "" {
		cfg.UserAgent = o.UserAgent
	}
	// Many builds in one apply each watch a pod and follow a log; the
	// client-go defaults (5 QPS) would serialise them.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

func configPaths(explicit []string, getenv func(string) string) ([]string, error) {
	paths, fromEnv := explicit, false
	if len(paths) == 0 {
		for _, name := range configPathEnv {
			if v := getenv(name); v != "" {
				paths, fromEnv = filepath.SplitList(v), true
				break
			}
		}
	}
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		expanded, err := expandHome(p, getenv)
		if err != nil {
			return nil, err
		}
		if _, err := os.Stat(expanded); err != nil {
			// Like kubectl, tolerate missing entries in a path list from
			// the environment; a file named in the configuration must exist.
			if fromEnv && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("kubeconfig %s: %w", expanded, err)
		}
		out = append(out, expanded)
	}
	return out, nil
}

func expandHome(p string, getenv func(string) string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("expanding %s: %w", p, err)
		}
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

func describePaths(paths []string) string {
	if len(paths) == 0 {
		return "provider arguments"
	}
	return strings.Join(paths, ", ")
}

func overrides(o ConnectionOptions) *clientcmd.ConfigOverrides {
	ov := &clientcmd.ConfigOverrides{CurrentContext: o.ConfigContext}
	if o.Host != "" {
		ov.ClusterInfo.Server = o.Host
	}
	if o.ClusterCACertificate != "" {
		ov.ClusterInfo.CertificateAuthorityData = []byte(o.ClusterCACertificate)
	}
	if o.Insecure {
		ov.ClusterInfo.InsecureSkipTLSVerify = true
	}
	if o.Token != "" {
		ov.AuthInfo.Token = o.Token
	}
	if o.ClientCertificate != "" {
		ov.AuthInfo.ClientCertificateData = []byte(o.ClientCertificate)
	}
	if o.ClientKey != "" {
		ov.AuthInfo.ClientKeyData = []byte(o.ClientKey)
	}
	if o.Exec != nil {
		exec := &clientcmdapi.ExecConfig{
			APIVersion:      o.Exec.APIVersion,
			Command:         o.Exec.Command,
			Args:            o.Exec.Args,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}
		for k, v := range o.Exec.Env {
			exec.Env = append(exec.Env, clientcmdapi.ExecEnvVar{Name: k, Value: v})
		}
		ov.AuthInfo.Exec = exec
	}
	return ov
}

// ClientsFromKubeconfig connects with the current context of one
// kubeconfig file, as the harness, its tests and scripts do.
func ClientsFromKubeconfig(path string) (*rest.Config, kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, nil, fmt.Errorf("loading kubeconfig %s: %w", path, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("creating a client from %s: %w", path, err)
	}
	return cfg, client, nil
}
