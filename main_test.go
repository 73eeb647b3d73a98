package main

import (
	"maps"
	"slices"
	"testing"
)

func TestSilencedLogs(t *testing.T) {
	cases := []struct {
		name    string
		environ []string
		silent  bool
	}{
		{"nothing asks for logs", []string{"HOME=/root", "TF_CLI_CONFIG_FILE=/x"}, true},
		{"a log path alone logs nothing", []string{"TF_LOG_PATH=/tmp/tf.log"}, true},
		{"an empty TF_LOG is unset", []string{"TF_LOG="}, true},
		{"TF_LOG", []string{"TF_LOG=trace"}, false},
		{"providers only", []string{"TF_LOG_PROVIDER=debug"}, false},
		{"this provider only", []string{"TF_LOG_PROVIDER_ONESBUILD_KANIKO=info"}, false},
		{"the SDK only", []string{"TF_LOG_SDK_PROTO=trace"}, false},
		{"core only still says someone reads logs", []string{"TF_LOG_CORE=trace"}, false},
		{"Windows: any case", []string{"tf_log=trace"}, false},
		{"Windows: providers in mixed case", []string{"Tf_Log_Provider=debug"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := silencedLogs(c.environ)
			if !c.silent {
				if got != nil {
					t.Fatalf("silencedLogs(%q) = %v, want nothing changed", c.environ, got)
				}
				return
			}
			if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, slices.Sorted(slices.Values(sdkLogLevels))) {
				t.Fatalf("silencedLogs(%q) sets %v, want %v", c.environ, keys, sdkLogLevels)
			}
			for name, value := range got {
				if value != "off" {
					t.Errorf("%s = %q, want off", name, value)
				}
			}
		})
	}
}
