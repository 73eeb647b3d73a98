package imageref

import (
	"strings"
	"testing"
)

func TestValidateRepository(t *testing.T) {
	good := []string{
		"registry.kube-system.svc.cluster.local:5000/new-image",
		"localhost:5000/team/app",
		"localhost/app",
		"ghcr.io/org/app-name_1",
	}
	for _, r := range good {
		if err := ValidateRepository(r); err != nil {
			t.Errorf("ValidateRepository(%q) = %v", r, err)
		}
	}
	bad := map[string]string{
		"":                          "empty",
		"new-image":                 "registry host",
		"library/app":               "registry host",
		"localhost:5000/App":        "lower case",
		"localhost:5000/app:latest": "tag",
		"localhost:5000/app@sha256:" + strings.Repeat("a", 64): "digest",
		"localhost:5000/ap p": "not valid",
	}
	for r, want := range bad {
		err := ValidateRepository(r)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateRepository(%q) = %v, want an error mentioning %q", r, err, want)
		}
	}
}

func TestValidateTagAndDigest(t *testing.T) {
	for _, tag := range []string{"latest", "v1.2.3", "a_b-c", strings.Repeat("x", 128)} {
		if err := ValidateTag(tag); err != nil {
			t.Errorf("ValidateTag(%q) = %v", tag, err)
		}
	}
	for _, tag := range []string{"", "-x", ".x", "a/b", "a:b", strings.Repeat("x", 129)} {
		if err := ValidateTag(tag); err == nil {
			t.Errorf("ValidateTag(%q) accepted", tag)
		}
	}
	if err := ValidateDigest("sha256:" + strings.Repeat("0f", 32)); err != nil {
		t.Error(err)
	}
	for _, d := range []string{"sha256:" + strings.Repeat("A", 64), "sha512:" + strings.Repeat("a", 64), "sha256:abc", strings.Repeat("a", 64)} {
		if ValidateDigest(d) == nil {
			t.Errorf("ValidateDigest(%q) accepted", d)
		}
	}
}

func TestParseRef(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	ref, err := ParseRef("localhost:5000/app@" + d)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Repository != "localhost:5000/app" || ref.Digest != d || ref.String() != "localhost:5000/app@"+d {
		t.Fatalf("ParseRef = %+v", ref)
	}
	for _, s := range []string{"localhost:5000/app", "localhost:5000/app@sha256:x", "app@" + d} {
		if _, err := ParseRef(s); err == nil {
			t.Errorf("ParseRef(%q) accepted", s)
		}
	}
	if Registry("registry.kube-system.svc.cluster.local:5000/a/b") != "registry.kube-system.svc.cluster.local:5000" {
		t.Error("Registry() wrong")
	}
}
