package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: kind
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
- name: prod
  cluster: {server: "https://prod.example.com"}
users:
- name: admin
  user: {token: from-file}
contexts:
- name: kind-onesbuild
  context: {cluster: kind, user: admin}
- name: prod
  context: {cluster: prod, user: admin}
current-context: kind-onesbuild
`

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestRESTConfig(t *testing.T) {
	path := writeKubeconfig(t)
	home := filepath.Dir(path)
	tests := []struct {
		name      string
		opts      ConnectionOptions
		env       map[string]string
		wantHost  string
		wantToken string
		// wantNoToken: no bearer token at all may be sent.
		wantNoToken bool
		wantErr     string
	}{
		{name: "config_path", opts: ConnectionOptions{ConfigPaths: []string{path}}, wantHost: "https://127.0.0.1:6443", wantToken: "from-file"},
		{name: "context", opts: ConnectionOptions{ConfigPaths: []string{path}, ConfigContext: "prod"}, wantHost: "https://prod.example.com"},
		{name: "KUBE_CONFIG_PATH", env: map[string]string{"KUBE_CONFIG_PATH": path}, wantHost: "https://127.0.0.1:6443"},
		{name: "KUBECONFIG list", env: map[string]string{"KUBECONFIG": "/does/not/matter-but-missing" + string(os.PathListSeparator) + path}, wantHost: "https://127.0.0.1:6443"},
		{name: "home expansion", opts: ConnectionOptions{ConfigPaths: []string{"~/config"}}, env: map[string]string{"HOME": home}, wantHost: "https://127.0.0.1:6443"},
		{name: "overrides on file", opts: ConnectionOptions{ConfigPaths: []string{path}, Token: "explicit"}, wantHost: "https://127.0.0.1:6443", wantToken: "explicit"},
		{name: "host and token only", opts: ConnectionOptions{Host: "https://10.0.0.1", Token: "t", Insecure: true}, wantHost: "https://10.0.0.1", wantToken: "t"},
		// The kubeconfig from the environment belongs to another cluster:
		// its token must not be sent to the explicitly configured host.
		{name: "explicit host ignores KUBECONFIG", opts: ConnectionOptions{Host: "https://10.0.0.1", Insecure: true, ClientCertificate: "cert", ClientKey: "key"},
			env: map[string]string{"KUBECONFIG": path}, wantHost: "https://10.0.0.1", wantNoToken: true},
		{name: "explicit token ignores KUBE_CONFIG_PATH", opts: ConnectionOptions{Host: "https://10.0.0.1", Token: "mine", Insecure: true},
			env: map[string]string{"KUBE_CONFIG_PATH": path}, wantHost: "https://10.0.0.1", wantToken: "mine"},
		{name: "missing file", opts: ConnectionOptions{ConfigPaths: []string{filepath.Join(home, "nope")}}, wantErr: "nope"},
		{name: "unknown context", opts: ConnectionOptions{ConfigPaths: []string{path}, ConfigContext: "staging"}, wantErr: "staging"},
		{name: "nothing", wantErr: "no cluster configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := RESTConfig(tt.opts, env(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != tt.wantHost {
				t.Errorf("host = %q, want %q", cfg.Host, tt.wantHost)
			}
			if tt.wantToken != "" && cfg.BearerToken != tt.wantToken {
				t.Errorf("token = %q, want %q", cfg.BearerToken, tt.wantToken)
			}
			if tt.wantNoToken && cfg.BearerToken != "" {
				t.Errorf("token %q from another kubeconfig sent to %s", cfg.BearerToken, cfg.Host)
			}
			if cfg.QPS < 50 {
				t.Errorf("QPS = %v", cfg.QPS)
			}
		})
	}
}

func TestRESTConfigExec(t *testing.T) {
	cfg, err := RESTConfig(ConnectionOptions{
		Host: "https://eks.example.com",
		Exec: &ExecOptions{APIVersion: "client.authentication.k8s.io/v1beta1", Command: "aws", Args: []string{"eks", "get-token"}, Env: map[string]string{"AWS_PROFILE": "ci"}},
	}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ExecProvider == nil || cfg.ExecProvider.Command != "aws" || len(cfg.ExecProvider.Env) != 1 {
		t.Fatalf("exec provider = %+v", cfg.ExecProvider)
	}
}

func TestNoConfigurationIsTyped(t *testing.T) {
	_, err := RESTConfig(ConnectionOptions{}, env(nil))
	if !errors.Is(err, ErrNoConfiguration) {
		t.Fatalf("err = %v", err)
	}
}
