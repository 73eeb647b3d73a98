package provider

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

var testProviderData = &providerData{
	namespace: "builds", defaultExecutor: build.ExecutorAuto, kanikoImage: "kaniko:1",
	insecureRegistries: []string{"reg:5000"}, pushRetry: 3, imageDownloadRetry: 2,
}

// model is a configuration as Terraform hands it to the provider:
// every attribute null unless set.
func model() imageResourceModel {
	return imageResourceModel{
		Repository: types.StringValue("reg:5000/app"), Tags: types.ListValueMust(types.StringType, []attr.Value{types.StringValue("latest")}),
		ContextDir: types.StringNull(), ContextFiles: types.MapValueMust(types.StringType, map[string]attr.Value{"Dockerfile": types.StringValue("FROM b\n")}),
		ContextURL: types.StringNull(), Dockerfile: types.StringNull(), DockerfileInline: types.StringNull(),
		BuildArgs: types.MapNull(types.StringType), Target: types.StringNull(), Labels: types.MapNull(types.StringType),
		Platform: types.StringNull(), Platforms: types.SetNull(types.StringType), PlatformNodeSelectors: types.MapNull(types.MapType{ElemType: types.StringType}), SkipArchitectureCheck: types.BoolNull(), ExtraArgs: types.ListNull(types.StringType), Triggers: types.MapNull(types.StringType),
		RegistryAuthSecret: types.StringNull(), Insecure: types.BoolNull(), SkipTLSVerify: types.BoolNull(),
		Namespace: types.StringNull(), ServiceAccount: types.StringNull(), AutomountToken: types.BoolNull(), NodeSelector: types.MapNull(types.StringType),
		KanikoImage: types.StringNull(), DeleteOnDestroy: types.BoolNull(), KeepBuildPod: types.BoolNull(),
		Reproducible: types.BoolNull(), Executor: types.StringNull(), CreationTime: types.StringNull(),
		ContextCredentialsSecret: types.StringNull(),
	}
}

func TestSpecFromModel(t *testing.T) {
	m := model()
	m.BuildArgs = types.MapValueMust(types.StringType, map[string]attr.Value{"V": types.StringValue("1")})
	m.ContextURL, m.ContextFiles = types.StringValue("git://host/app.git#main"), types.MapNull(types.StringType)
	m.Dockerfile, m.ContextCredentialsSecret = types.StringValue("docker/Dockerfile"), types.StringValue("git-creds")
	m.Retention = &retentionModel{KeepLast: types.Int64Value(3), DryRun: types.BoolNull()}
	spec, known := m.spec(testProviderData, time.Minute)
	if !known {
		t.Fatal("a fully known model read as unknown")
	}
	if spec.Executor != build.ExecutorAuto || spec.Namespace != "builds" || spec.Pod.Image != "kaniko:1" || spec.Pod.Deadline != time.Minute {
		t.Errorf("provider defaults not applied: %+v", spec)
	}
	if spec.Context.URL != "git://host/app.git#main" || spec.Context.Local() || spec.Context.DockerfilePath() != "docker/Dockerfile" || spec.Context.CredentialsSecret != "git-creds" {
		t.Errorf("context = %+v", spec.Context)
	}
	if spec.Context.SHA256() != build.URLHash("git://host/app.git#main") {
		t.Error("a URL context is identified by the hash of its URL")
	}
	if spec.BuildArgs["V"] != "1" || spec.Retention == nil || spec.Retention.KeepLast != 3 || spec.Registry.PushRetry != 3 {
		t.Errorf("spec = %+v", spec)
	}
	if !spec.Created.Equal(time.Unix(0, 0)) {
		t.Errorf("creation time %v, want the epoch", spec.Created)
	}
}

// TestSpecUnknownValues: a plan made before another resource is applied
// has unknown values; every one makes the spec unknown, never an error.
func TestSpecUnknownValues(t *testing.T) {
	for name, change := range map[string]func(*imageResourceModel){
		"a build argument": func(m *imageResourceModel) {
			m.BuildArgs = types.MapValueMust(types.StringType, map[string]attr.Value{"URL": types.StringUnknown()})
		},
		"a context file": func(m *imageResourceModel) {
			m.ContextFiles = types.MapValueMust(types.StringType, map[string]attr.Value{"Dockerfile": types.StringUnknown()})
		},
		"the context files": func(m *imageResourceModel) { m.ContextFiles = types.MapUnknown(types.StringType) },
		"a tag": func(m *imageResourceModel) {
			m.Tags = types.ListValueMust(types.StringType, []attr.Value{types.StringUnknown()})
		},
		"a label":         func(m *imageResourceModel) { m.Labels = types.MapUnknown(types.StringType) },
		"the platform":    func(m *imageResourceModel) { m.Platform = types.StringUnknown() },
		"a node selector": func(m *imageResourceModel) { m.NodeSelector = types.MapUnknown(types.StringType) },
		"a build secret": func(m *imageResourceModel) {
			m.BuildSecrets = []buildSecretModel{{ID: types.StringUnknown(), SecretName: types.StringValue("s"), Key: types.StringValue("k")}}
		},
		"a toleration": func(m *imageResourceModel) { m.Tolerations = []tolerationModel{{Key: types.StringUnknown()}} },
	} {
		t.Run(name, func(t *testing.T) {
			m := model()
			change(&m)
			if _, known := m.spec(testProviderData, 0); known {
				t.Error("the spec reads as known")
			}
		})
	}
	if _, known := model().spec(testProviderData, 0); !known {
		t.Error("the base model reads as unknown")
	}
}

// fakeEngine records what the plan asked.
type fakeEngine struct {
	asked []build.Spec
	plan  build.Plan
	err   error
}

func (f *fakeEngine) Plan(_ context.Context, spec build.Spec) (build.Plan, error) {
	f.asked = append(f.asked, spec)
	return f.plan, f.err
}

func (f *fakeEngine) Build(context.Context, build.Spec) (*build.Result, error) {
	return nil, errors.New("a plan never builds")
}

func TestPlanExecutor(t *testing.T) {
	ctx := context.Background()
	spec, _ := model().spec(testProviderData, 0)

	engine := &fakeEngine{plan: build.Plan{Executor: build.ExecutorDirect}}
	got, err := planExecutor(ctx, engine, spec, true)
	if err != nil || got.Executor != build.ExecutorDirect || len(engine.asked) != 1 || engine.asked[0].Repository != spec.Repository {
		t.Fatalf("known spec: plan %+v, err %v, asked %d", got, err, len(engine.asked))
	}

	engine = &fakeEngine{}
	if got, err := planExecutor(ctx, engine, spec, false); err != nil || got.Executor != "" || len(engine.asked) != 0 {
		t.Errorf("unknown spec: plan %+v, err %v; want it decided at apply without asking", got, err)
	}
	kanikoSpec := spec
	kanikoSpec.Executor = build.ExecutorKaniko
	if got, _ := planExecutor(ctx, engine, kanikoSpec, false); got.Executor != build.ExecutorKaniko {
		t.Errorf("Kaniko builds whatever the values turn out to be: %+v", got)
	}

	declined := &build.Failure{Reason: build.ReasonNotEligible, Message: "RUN on line 2"}
	if _, err := planExecutor(ctx, &fakeEngine{err: declined}, spec, true); !errors.Is(err, declined) {
		t.Errorf("err = %v, want the engine's", err)
	}
}
