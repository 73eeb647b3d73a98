package tfcli

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteDevOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "terraformrc")
	if err := WriteDevOverrides(path, "onesbuild/onesbuild", "/work/plugins"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `provider_installation {
  dev_overrides {
    "registry.terraform.io/onesbuild/onesbuild" = "/work/plugins"
    "registry.opentofu.org/onesbuild/onesbuild" = "/work/plugins"
  }
  direct {}
}
`
	if string(got) != want {
		t.Errorf("terraformrc =\n%s\nwant\n%s", got, want)
	}
}

func TestRequiredProvider(t *testing.T) {
	got := RequiredProvider("onesbuild", "onesbuild/onesbuild")
	want := "terraform {\n  required_providers {\n    onesbuild = { source = \"onesbuild/onesbuild\" }\n  }\n}\n"
	if got != want {
		t.Errorf("RequiredProvider =\n%s\nwant\n%s", got, want)
	}
}
