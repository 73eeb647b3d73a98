package build

import (
	"strings"
	"time"
)

// Labels the engine writes into every image it builds, so that any
// registry tool shows where an image came from.
const (
	LabelCreated         = "org.opencontainers.image.created"
	LabelSource          = "org.opencontainers.image.source"
	LabelContextSHA256   = "dev.onesbuild.context-sha256"
	LabelProviderVersion = "dev.onesbuild.provider-version"
)

// HistoryLabels are the labels that record a build's inputs. A
// reproducible build carries only what identifies its inputs: the
// context hash, the source URL without credentials, and the fixed
// creation time; the wall-clock time and the provider's version, which
// vary from run to run and machine to machine, are left out. The user's
// labels override these.
func HistoryLabels(spec Spec, providerVersion string, now time.Time) map[string]string {
	labels := map[string]string{}
	if h := spec.Context.SHA256(); h != "" {
		labels[LabelContextSHA256] = h
	}
	if spec.ReproducibleLabels() {
		labels[LabelCreated] = spec.Created.UTC().Format(time.RFC3339)
	} else {
		labels[LabelCreated] = now.UTC().Format(time.RFC3339)
		if providerVersion != "" {
			labels[LabelProviderVersion] = providerVersion
		}
	}
	if u := spec.Context.URL; u != "" && !strings.HasPrefix(u, "dir://") {
		labels[LabelSource] = RedactURL(u)
	}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	return labels
}
