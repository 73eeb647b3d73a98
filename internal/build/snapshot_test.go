package build

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

func TestSnapshotContextRecordsWhatWasRead(t *testing.T) {
	src := &buildcontext.Source{Files: map[string]string{"Dockerfile": "FROM scratch\n", "a": "1"}}
	want, err := src.Hash(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var snap *buildcontext.Snapshot
	res, err := SnapshotContext{Next: builds(func(_ context.Context, s Spec) (*Result, error) {
		snap = s.Context.Snapshot()
		content, err := snap.ReadFile("a")
		if err != nil || string(content) != "1" {
			t.Errorf("snapshot file a = %q, %v", content, err)
		}
		return &Result{}, nil
	})}.Build(context.Background(), Spec{Context: Context{Source: src}})
	if err != nil {
		t.Fatal(err)
	}
	if res.ContextSHA256 != want.SHA256 {
		t.Errorf("recorded hash %s, want %s", res.ContextSHA256, want.SHA256)
	}
	if _, err := snap.Open(); err == nil {
		t.Error("the snapshot was not removed after the build")
	}
}

func TestReadDockerfileThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	const content = "FROM scratch\n"
	if err := os.WriteFile(filepath.Join(dir, "docker", "Dockerfile.prod"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("docker/Dockerfile.prod", filepath.Join(dir, "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	c := Context{Source: &buildcontext.Source{Dir: dir}}
	planned, err := c.ReadDockerfile()
	if err != nil || string(planned) != content {
		t.Fatalf("ReadDockerfile before the snapshot = %q, %v", planned, err)
	}
	spec, cleanup, err := TakeSnapshot(context.Background(), Spec{Context: c})
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if built, err := spec.Context.ReadDockerfile(); err != nil || string(built) != content {
		t.Fatalf("ReadDockerfile from the snapshot = %q, %v; the plan read %q", built, err, planned)
	}
}
