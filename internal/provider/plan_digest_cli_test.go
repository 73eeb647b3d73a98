package provider

// Plans saved and applied out of order, driven through the real terraform CLI against an in-process
// provider (reattach), for sequences terraform-plugin-testing cannot
// express (two saved plans, apply the first; -refresh=false).

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-sdk/v2/plugin"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/tfcli"
)

type savedPlanCLI struct {
	t *testing.T
	d *tfcli.Dir
}

func serveSavedPlanCLI(t *testing.T, e *testEnv) *savedPlanCLI {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := providerserver.NewProtocol6WithError(NewWithOptions("test", Options{Cluster: e.cluster})())()
	if err != nil {
		t.Fatal(err)
	}
	cfg, closeCh, err := plugin.DebugServe(ctx, &plugin.ServeOpts{
		GRPCProviderV6Func:  func() tfprotov6.ProviderServer { return srv },
		Logger:              hclog.New(&hclog.LoggerOptions{Output: io.Discard}),
		NoLogOutputOverride: true,
		ProviderAddr:        providerAddress(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-closeCh })
	reattach, _ := json.Marshal(map[string]any{providerAddress(): map[string]any{
		"Protocol": cfg.Protocol, "ProtocolVersion": cfg.ProtocolVersion, "Pid": cfg.Pid, "Test": cfg.Test,
		"Addr": map[string]string{"Network": cfg.Addr.Network, "String": cfg.Addr.String},
	}})
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if cli == "" {
		cli = "terraform"
	}
	return &savedPlanCLI{t: t, d: &tfcli.Dir{CLI: cli, Path: t.TempDir(), ConfigFile: "/dev/null",
		Env: []string{"TF_REATTACH_PROVIDERS=" + string(reattach), "CHECKPOINT_DISABLE=1"}}}
}

// providerAddress is the provider's address for the CLI the tests run
// (OpenTofu names providers under its own registry host).
func providerAddress() string {
	host := os.Getenv("TF_ACC_PROVIDER_HOST")
	if host == "" {
		host = "registry.terraform.io"
	}
	return host + "/hashicorp/onesbuild"
}

func (tf *savedPlanCLI) write(config string) {
	if err := tf.d.Write(config); err != nil {
		tf.t.Fatal(err)
	}
}

func (tf *savedPlanCLI) run(args ...string) (string, error) {
	out, err := tf.d.Run(context.Background(), append(args[:1:1], append([]string{"-no-color"}, args[1:]...)...)...)
	tf.t.Logf("$ %s %s\n%s", filepath.Base(tf.d.CLI), strings.Join(args, " "), trimOutput(string(out)))
	return string(out), err
}

func (tf *savedPlanCLI) must(args ...string) string {
	out, err := tf.run(args...)
	if err != nil {
		tf.t.Fatalf("terraform %v: %v", args, err)
	}
	return out
}

func trimOutput(s string) string {
	if len(s) > 4000 {
		return s[:1500] + "\n...\n" + s[len(s)-2500:]
	}
	return s
}

func (tf *savedPlanCLI) planned(planfile, attr string) string {
	raw, err := tf.d.Run(context.Background(), "show", "-json", planfile)
	if err != nil {
		tf.t.Fatal(err)
	}
	out := string(raw)
	var p struct {
		ResourceChanges []struct {
			Address string
			Change  struct{ After map[string]any }
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		tf.t.Fatal(err)
	}
	for _, rc := range p.ResourceChanges {
		if rc.Address == "onesbuild_image.app" {
			s, _ := rc.Change.After[attr].(string)
			return s
		}
	}
	return ""
}

func (tf *savedPlanCLI) state(attr string) string {
	raw, err := tf.d.Run(context.Background(), "state", "show", "-no-color", "onesbuild_image.app")
	if err != nil {
		tf.t.Fatal(err)
	}
	out := string(raw)
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == attr && f[1] == "=" {
			return strings.Trim(f[2], `"`)
		}
	}
	return ""
}

// (6) Two plans in a row, then the first is applied, with the context as
// it was at the first plan. Expected: the apply builds the first plan's
// digest (or fails with a clean diagnostic).
func TestPlanDigest_twoPlansThenApplyFirst(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	tf := serveSavedPlanCLI(t, e)
	tf.write(executorConfig(e, dir, "direct"))
	tf.must("init")
	tf.must("apply", "-auto-approve")
	writeFile(t, filepath.Join(dir, "main"), "binary v2")
	tf.must("plan", "-out=p1")
	d1 := tf.planned("p1", "digest")
	writeFile(t, filepath.Join(dir, "main"), "binary v3")
	tf.must("plan", "-out=p2")
	d2 := tf.planned("p2", "digest")
	t.Logf("p1 digest %s, p2 digest %s", d1, d2)
	writeFile(t, filepath.Join(dir, "main"), "binary v2") // back to p1's context
	out, err := tf.run("apply", "p1")
	if err != nil {
		t.Fatalf("apply p1 with p1's context failed: %v", err)
	}
	_ = out
	if got := tf.state("digest"); got != d1 {
		t.Errorf("applied %s, p1 showed %s", got, d1)
	}
}

// (8) -refresh=false: plans reuse the nonce stored in state.
func TestPlanDigest_refreshFalse(t *testing.T) {
	e := newTestEnv(t)
	pushBaseNamed(t, e, "1")
	tf := serveSavedPlanCLI(t, e)
	config := func(v string) string {
		return e.providerBlock() + `
resource "onesbuild_image" "app" {
  repository    = "` + clusterRegistry + `/rf"
  context_files = { "Dockerfile" = "FROM ` + clusterRegistry + `/base:1\nCOPY v /v\n", "v" = "` + v + `" }
  executor      = "direct"
}
`
	}
	tf.write(config("1"))
	tf.must("init")
	tf.must("apply", "-auto-approve")
	tf.must("apply", "-auto-approve") // a refresh whose private state is kept
	tf.write(config("2"))
	tf.must("plan", "-refresh=false", "-out=p1")
	b1 := tf.planned("p1", "base_image_digest")
	moved := pushBaseNamed(t, e, "2")
	tf.must("plan", "-refresh=false", "-out=p2")
	b2 := tf.planned("p2", "base_image_digest")
	t.Logf("p1 base %q, p2 base %q, tag now at %s", b1, b2, moved)
	if b2 != "" && b2 != moved {
		t.Errorf("second -refresh=false plan shows base %s, the tag is at %s (stale prediction reused)", b2, moved)
	}
	tf.must("apply", "p2")
	if got := tf.state("base_image_digest"); got != moved {
		t.Errorf("applied on base %s; the tag was at %s at plan time", got, moved)
	}
}

// (6) terraform apply without a saved plan, with the memory fallback
// cleared between the plan and apply phases is not possible here;
// instead check plain apply converges.
func TestPlanDigest_applyWithoutSavedPlan(t *testing.T) {
	e := newTestEnv(t)
	pushBase(t, e)
	dir := directContext(t, "FROM "+clusterRegistry+"/base:1\nCOPY main /app/main\n")
	tf := serveSavedPlanCLI(t, e)
	tf.write(executorConfig(e, dir, "direct"))
	tf.must("init")
	tf.must("apply", "-auto-approve")
	writeFile(t, filepath.Join(dir, "main"), "binary v2")
	tf.must("apply", "-auto-approve")
	if got, want := tf.state("context_sha256"), hashOf(t, dir); got != want {
		t.Errorf("context_sha256 %s want %s", got, want)
	}
}
