package registry

import (
	"encoding/base64"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestDockerConfigKeychain(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("builder:s3cret"))
	cfg := `{"auths":{"` + clusterRegistry + `":{"auth":"` + auth + `"},"https://index.docker.io/v1/":{"username":"hub","password":"pw"}}}`
	kc, err := DockerConfigKeychain([]byte(cfg), map[string]string{clusterRegistry: "localhost:5000"})
	if err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		clusterRegistry + "/app": "builder:s3cret",
		"localhost:5000/app":     "builder:s3cret", // the mapped address
		"busybox":                "hub:pw",
		"other.example.com/app":  "",
	} {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := kc.Resolve(r.Context())
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := a.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Username + ":" + cfg.Password; (want == "" && a != authn.Anonymous) || (want != "" && got != want) {
			t.Errorf("%s: credentials %q, want %q", ref, got, want)
		}
	}
	if _, err := DockerConfigKeychain([]byte(`{"auths":{"x":{"auth":"not base64!"}}}`), nil); err == nil {
		t.Error("a broken auth was accepted")
	}
}
