package attest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Provenance modes, as the resource's provenance block names them.
const (
	ProvenanceMin = "min"
	ProvenanceMax = "max"
)

// Types an in-toto statement and its attachment are known by.
const (
	MediaTypeInToto         = "application/vnd.in-toto+json"
	StatementType           = "https://in-toto.io/Statement/v1"
	PredicateSLSAProvenance = "https://slsa.dev/provenance/v1"
	// AnnotationPredicateType names an in-toto attachment's predicate, as
	// BuildKit's and cosign's attachments do.
	AnnotationPredicateType = "in-toto.io/predicate-type"
)

// BuilderID identifies the builder in provenance: the provider.
const BuilderID = "https://registry.terraform.io/providers/onesbuild/onesbuild"

// ProvenanceInput is everything a provenance statement says.
type ProvenanceInput struct {
	Mode string
	// Image is the subject; PlatformDigests (platform to manifest digest)
	// are subjects too, for an index.
	Image           Image
	PlatformDigests map[string]string
	Tags            []string
	Executor        string
	ProviderVersion string
	// DockerfileSHA256 is the hex SHA-256 of the Dockerfile the build read.
	DockerfileSHA256 string
	Target           string
	Platforms        []string
	// BuildArgs are the build arguments: only their names in "min", also
	// their values in "max". Build secrets are never among them.
	BuildArgs map[string]string
	// ContextSHA256 is the build context's identity (context_sha256);
	// ContextURL, a remote context's location, credentials removed.
	ContextSHA256 string
	ContextURL    string
	Base          *Base
	// ExecutorImage and its digest, for a Kaniko build.
	ExecutorImage       string
	ExecutorImageDigest string
	// Reproducible says the same inputs give the same image; such builds
	// record no times, so their statement is reproducible too.
	Reproducible bool
	StartedOn    time.Time
	FinishedOn   time.Time
}

// The statement's JSON shape: in-toto Statement v1 with an SLSA v1
// provenance predicate. Struct order fixes the field order, and
// encoding/json sorts map keys, so equal inputs give equal bytes.
type statement struct {
	Type          string      `json:"_type"`
	Subject       []subject   `json:"subject"`
	PredicateType string      `json:"predicateType"`
	Predicate     slsaPayload `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

type slsaPayload struct {
	BuildDefinition buildDefinition `json:"buildDefinition"`
	RunDetails      runDetails      `json:"runDetails"`
}

type buildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   externalParameters   `json:"externalParameters"`
	InternalParameters   map[string]any       `json:"internalParameters,omitempty"`
	ResolvedDependencies []resourceDescriptor `json:"resolvedDependencies,omitempty"`
}

type externalParameters struct {
	Repository     string            `json:"repository"`
	Tags           []string          `json:"tags,omitempty"`
	Dockerfile     map[string]string `json:"dockerfile,omitempty"`
	Target         string            `json:"target,omitempty"`
	Platforms      []string          `json:"platforms,omitempty"`
	BuildArgNames  []string          `json:"buildArgNames,omitempty"`
	BuildArgValues map[string]string `json:"buildArgs,omitempty"`
}

type resourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest"`
}

type runDetails struct {
	Builder  builder   `json:"builder"`
	Metadata *metadata `json:"metadata,omitempty"`
}

type builder struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

type metadata struct {
	StartedOn  string `json:"startedOn,omitempty"`
	FinishedOn string `json:"finishedOn,omitempty"`
}

// BuildType names what a build of each executor means.
func BuildType(executor string) string {
	return "https://onesbuild.invalid/buildtypes/" + executor + "/v1"
}

func digestMap(d string) map[string]string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return map[string]string{"sha256": d}
	}
	return map[string]string{alg: hex}
}

// Provenance writes the in-toto statement.
func Provenance(in ProvenanceInput) ([]byte, error) {
	switch in.Mode {
	case ProvenanceMin, ProvenanceMax, "":
	default:
		return nil, fmt.Errorf("unknown provenance mode %q (want %s or %s)", in.Mode, ProvenanceMin, ProvenanceMax)
	}
	st := statement{Type: StatementType, PredicateType: PredicateSLSAProvenance}
	st.Subject = append(st.Subject, subject{Name: in.Image.Repository, Digest: digestMap(in.Image.Digest)})
	platforms := make([]string, 0, len(in.PlatformDigests))
	for p := range in.PlatformDigests {
		platforms = append(platforms, p)
	}
	sort.Strings(platforms)
	for _, p := range platforms {
		st.Subject = append(st.Subject, subject{Name: in.Image.Repository + "#" + p, Digest: digestMap(in.PlatformDigests[p])})
	}
	ext := externalParameters{Repository: in.Image.Repository, Tags: in.Tags, Target: in.Target, Platforms: in.Platforms}
	if in.DockerfileSHA256 != "" {
		ext.Dockerfile = map[string]string{"sha256": in.DockerfileSHA256}
	}
	for k := range in.BuildArgs {
		ext.BuildArgNames = append(ext.BuildArgNames, k)
	}
	sort.Strings(ext.BuildArgNames)
	if in.Mode == ProvenanceMax && len(in.BuildArgs) > 0 {
		ext.BuildArgValues = in.BuildArgs
	}
	def := buildDefinition{BuildType: BuildType(in.Executor), ExternalParameters: ext,
		InternalParameters: map[string]any{"executor": in.Executor, "reproducible": in.Reproducible}}
	if in.ExecutorImage != "" && in.Mode == ProvenanceMax {
		def.InternalParameters["executorImage"] = in.ExecutorImage
	}
	if b := in.Base; b != nil && b.Digest != "" {
		def.ResolvedDependencies = append(def.ResolvedDependencies, resourceDescriptor{Name: "base", URI: "oci://" + b.Ref, Digest: digestMap(b.Digest)})
	}
	if in.ContextSHA256 != "" {
		ctx := resourceDescriptor{Name: "context", Digest: map[string]string{"sha256": in.ContextSHA256}}
		if in.ContextURL != "" {
			ctx.URI = in.ContextURL
		}
		def.ResolvedDependencies = append(def.ResolvedDependencies, ctx)
	}
	if in.ExecutorImageDigest != "" {
		def.ResolvedDependencies = append(def.ResolvedDependencies, resourceDescriptor{Name: "executor", URI: "oci://" + in.ExecutorImage, Digest: digestMap(in.ExecutorImageDigest)})
	}
	st.Predicate.BuildDefinition = def
	st.Predicate.RunDetails.Builder = builder{ID: BuilderID, Version: map[string]string{"terraform-provider-onesbuild": in.ProviderVersion}}
	if !in.Reproducible && !in.StartedOn.IsZero() {
		st.Predicate.RunDetails.Metadata = &metadata{StartedOn: in.StartedOn.UTC().Format(time.RFC3339), FinishedOn: in.FinishedOn.UTC().Format(time.RFC3339)}
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("writing the provenance statement: %w", err)
	}
	return raw, nil
}
