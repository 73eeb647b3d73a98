package tfcli

import (
	"strings"
	"testing"
)

const showJSON = `{
  "format_version": "1.0",
  "terraform_version": "1.9.0",
  "values": {
    "root_module": {
      "resources": [
        {"address": "onesbuild_image.app[0]", "mode": "managed", "type": "onesbuild_image", "name": "app", "index": 0,
         "values": {"digest": "sha256:aaaa", "timings": {"total": 1.25, "push": 0.5}, "tags": ["latest"], "build_pod": null}},
        {"address": "onesbuild_image.app[1]", "mode": "managed", "type": "onesbuild_image", "name": "app", "index": 1,
         "values": {"digest": "sha256:bbbb", "timings": null}},
        {"address": "onesbuild_image.odd", "values": {"digest": 7, "timings": {"total": "slow"}}}
      ],
      "child_modules": [
        {"resources": [{"address": "module.m.onesbuild_image.x", "values": {"digest": "sha256:cccc"}}]}
      ]
    }
  }
}`

func TestParseState(t *testing.T) {
	s, err := ParseState([]byte(showJSON))
	if err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, r := range s.Resources {
		addrs = append(addrs, r.Address)
	}
	if got := strings.Join(addrs, " "); got != "onesbuild_image.app[0] onesbuild_image.app[1] onesbuild_image.odd" {
		t.Errorf("root module resources = %s", got)
	}
	app, ok := s.Resource("onesbuild_image.app[0]")
	if !ok {
		t.Fatal("onesbuild_image.app[0] not found")
	}
	if d, err := app.StringAttr("digest"); err != nil || d != "sha256:aaaa" {
		t.Errorf("digest = %q, %v", d, err)
	}
	if pod, err := app.StringAttr("build_pod"); err != nil || pod != "" {
		t.Errorf("a null attribute = %q, %v, want empty", pod, err)
	}
	if total, err := app.MapNumberAttr("timings", "total"); err != nil || total != 1.25 {
		t.Errorf("timings.total = %v, %v", total, err)
	}
	if q, err := app.MapNumberAttr("timings", "queued"); err != nil || q != 0 {
		t.Errorf("an absent key = %v, %v, want 0", q, err)
	}
	if _, ok := s.Resource("module.m.onesbuild_image.x"); ok {
		t.Error("a child module's resource was read as the root module's")
	}
	second, _ := s.Resource("onesbuild_image.app[1]")
	if total, err := second.MapNumberAttr("timings", "total"); err != nil || total != 0 {
		t.Errorf("null timings = %v, %v, want 0", total, err)
	}
	odd, _ := s.Resource("onesbuild_image.odd")
	if _, err := odd.StringAttr("digest"); err == nil || !strings.Contains(err.Error(), "onesbuild_image.odd: attribute digest is float64") {
		t.Errorf("a number read as a string: %v", err)
	}
	if _, err := odd.MapNumberAttr("timings", "total"); err == nil || !strings.Contains(err.Error(), `timings["total"] is string`) {
		t.Errorf("a string read as a number: %v", err)
	}
	if _, err := app.MapNumberAttr("tags", "x"); err == nil || !strings.Contains(err.Error(), "attribute tags is []interface {}, not a map") {
		t.Errorf("a list read as a map: %v", err)
	}
}

func TestParseStateWithoutState(t *testing.T) {
	s, err := ParseState([]byte(`{"format_version":"1.0"}`))
	if err != nil || len(s.Resources) != 0 {
		t.Errorf("state = %+v, %v, want no resources", s, err)
	}
	if _, ok := s.Resource("onesbuild_image.app"); ok {
		t.Error("a resource found in no state")
	}
}
