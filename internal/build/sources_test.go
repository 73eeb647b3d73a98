package build

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// linkedContext is a context directory with the Dockerfile df, a link
// to Kaniko's registry credentials and a virtual environment's absolute
// link, as a legitimate context has.
func linkedContext(t *testing.T, df string) Spec {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "venv", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"creds": "/kaniko/.docker", "venv/bin/python": "/usr/bin/python3"} {
		if err := os.Symlink(target, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
			t.Fatal(err)
		}
	}
	return Spec{Context: Context{Source: &buildcontext.Source{Dir: dir}}}
}

func TestCheckSourcesRefusesLinksOutOfTheContext(t *testing.T) {
	for _, tt := range []struct {
		name, dockerfile string
		want             []string // nil: no error
	}{
		{"through the link", "FROM scratch\nCOPY creds/config.json /x\n",
			[]string{"COPY on line 2: the source creds/config.json goes through the symbolic link creds, which points to /kaniko/.docker, outside the build context", "Put what the link points to into the context"}},
		{"through a variable", "FROM scratch\nENV C=creds\nCOPY $C/config.json /x\n", []string{"COPY on line 3: the source $C/config.json goes through the symbolic link creds"}},
		{"the link's directory", "FROM scratch\nCOPY creds/ /x/\n", []string{"the symbolic link creds"}},
		{"a wildcard", "FROM scratch\nCOPY cr*/config.json /x\n", []string{"the symbolic link creds"}},
		{"ADD opens the link", "FROM scratch\nADD creds /x\n", []string{"ADD on line 2", "ADD opens the file it names"}},
		{"the link itself", "FROM scratch\nCOPY creds /x\n", nil},
		{"a virtual environment", "FROM scratch\nCOPY venv/ /venv/\nCOPY venv/bin/python /usr/local/bin/\n", nil},
		{"another stage's files", "FROM scratch AS s\nFROM scratch\nCOPY --from=s creds/config.json /x\n", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := linkedContext(t, tt.dockerfile)
			check := func(when string, spec Spec) {
				err := CheckSources(spec, nil)
				var f *Failure
				switch {
				case tt.want == nil && err != nil:
					t.Errorf("%s: err = %v", when, err)
				case tt.want != nil && (!errors.As(err, &f) || f.Reason != ReasonDockerfile):
					t.Errorf("%s: err = %v, want a Dockerfile failure", when, err)
				case tt.want != nil:
					for _, w := range tt.want {
						if !strings.Contains(f.Message, w) {
							t.Errorf("%s: message %q does not say %q", when, f.Message, w)
						}
					}
				}
			}
			check("plan", spec)
			snapped, cleanup, err := TakeSnapshot(context.Background(), spec)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			check("build", snapped)
		})
	}
}

func TestCheckSourcesWithBaseImages(t *testing.T) {
	spec := Spec{Context: Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": "FROM evil\nCOPY app /app\n", "app": "x"}}}}
	if err := CheckSources(spec, nil); err != nil {
		t.Fatalf("without the base's configuration: %v", err)
	}
	for name, bases := range map[string]BaseImages{
		"a trigger":                 {"evil": {"": {OnBuild: []string{"COPY ../.docker/config.json /x"}}}},
		"the trigger of a platform": {"evil": {"linux/amd64": {}, "linux/s390x": {OnBuild: []string{"ADD ../.docker/config.json /x"}}}},
		"the environment":           {"evil": {"": {Env: []string{"UP=.."}, OnBuild: []string{"COPY $UP/.docker/config.json /x"}}}},
	} {
		var f *Failure
		if err := CheckSources(spec, bases); !errors.As(err, &f) || f.Reason != ReasonDockerfile || !strings.Contains(err.Error(), "ONBUILD trigger of the base image evil (FROM on line 1)") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	spec.Platform = "linux/amd64"
	if err := CheckSources(spec, BaseImages{"evil": {"linux/amd64": {}, "linux/s390x": {OnBuild: []string{"COPY ../x /x"}}}}); err != nil {
		t.Errorf("the trigger of a platform the build does not use: %v", err)
	}
}

func TestCheckSourcesPredefinedArguments(t *testing.T) {
	// TARGETPLATFORM has two components on amd64 and three on arm/v7:
	// only the former climbs out.
	spec := Spec{Context: Context{Source: &buildcontext.Source{Files: map[string]string{"Dockerfile": "FROM b\nARG TARGETPLATFORM\nCOPY $TARGETPLATFORM/../../../x /x\n"}}}}
	spec.Platform = "linux/arm/v7"
	if err := CheckSources(spec, nil); err != nil {
		t.Errorf("linux/arm/v7: %v", err)
	}
	spec.Platform = "linux/amd64"
	if err := CheckSources(spec, nil); err == nil {
		t.Error("linux/amd64: not refused")
	}
	spec.Platform = ""
	if err := CheckSources(spec, nil); err == nil {
		t.Error("no platform: not refused, though a node may be linux/amd64")
	}
}

func TestBaseImagesLookup(t *testing.T) {
	b := BaseImages{"one": {"": {Env: []string{"A=1"}}}, "multi": {"linux/arm64/v8": {Env: []string{"A=arm"}}, "linux/amd64": {Env: []string{"A=amd"}}}}
	for _, tt := range []struct {
		ref, platform, want string
		ok                  bool
	}{
		{"one", "linux/s390x", "A=1", true},
		{"multi", "linux/amd64", "A=amd", true},
		{"multi", "linux/arm64/v8", "A=arm", true},
		{"multi", "linux/s390x", "", false},
		{"unknown", "linux/amd64", "", false},
	} {
		c, ok := b.lookup(tt.ref, tt.platform)
		if ok != tt.ok || strings.Join(c.Env, ",") != tt.want {
			t.Errorf("lookup(%s, %s) = %v, %v", tt.ref, tt.platform, c, ok)
		}
	}
	var none BaseImages
	if _, ok := none.lookup("one", ""); ok {
		t.Error("nil BaseImages found a base")
	}
}
