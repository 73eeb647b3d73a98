package attest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	slsa "github.com/in-toto/attestation/go/predicates/provenance/v1"
	attestation "github.com/in-toto/attestation/go/v1"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdxlib"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

const clusterRegistry = "registry.kube-system.svc.cluster.local:5000"

// fixture is a registry with a base image (a Debian package database)
// and an image built on it (a text file, a script, a symlink, a Go
// binary: this test's own executable).
type fixture struct {
	client      *registry.Client
	host        string
	repo, base  string
	digest      string
	baseDigest  string
	binary      []byte
	addedHashes map[string]string
}

const dpkgStatusFixture = `Package: libc6
Status: install ok installed
Architecture: amd64
Source: glibc
Version: 2.36-9+deb12u10
Description: GNU C Library
 continuation line: not a field

Package: removed-pkg
Status: deinstall ok config-files
Version: 1.0

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 12.4+deb12u11
`

// newFixture's /app/server is a small stand-in executable;
// newGoFixture's is this test's own binary, whose Go build information
// the SBOM reads (tens of MB, slow under the race detector).
func newFixture(t *testing.T, referrers bool) *fixture {
	t.Helper()
	return makeFixture(t, referrers, []byte("\x7fELF stand-in executable"))
}

func newGoFixture(t *testing.T, referrers bool) *fixture {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	return makeFixture(t, referrers, binary)
}

func makeFixture(t *testing.T, referrers bool, binary []byte) *fixture {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(referrers), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	f := &fixture{client: &registry.Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}},
		host: u.Host, repo: clusterRegistry + "/app", base: clusterRegistry + "/base", addedHashes: map[string]string{}}
	dir := func(n string) imagefstest.Entry {
		return imagefstest.Entry{Header: tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755}}
	}
	reg := func(n, content string, mode int64) imagefstest.Entry {
		return imagefstest.Entry{Header: tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: mode}, Content: content}
	}
	baseImg, err := mutate.AppendLayers(empty.Image, imagefstest.Layer(t, dir("var/"), dir("var/lib/"), dir("var/lib/dpkg/"),
		reg("var/lib/dpkg/status", dpkgStatusFixture, 0o644), reg("etc/os-release", "ID=debian\n", 0o644)))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := baseImg.ConfigFile()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	cfg.Created = v1.Time{Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	baseImg, _ = mutate.ConfigFile(baseImg, cfg)
	f.baseDigest = f.push(t, "base:v1", baseImg)

	f.binary = binary
	added := imagefstest.Layer(t, dir("app/"), reg("app/server", string(f.binary), 0o755), reg("app/message.txt", "Hello World\n", 0o644),
		reg("app/run.sh", "#!/bin/sh\nexec /app/server\n", 0o755),
		imagefstest.Entry{Header: tar.Header{Name: "app/current", Typeflag: tar.TypeSymlink, Linkname: "server", Mode: 0o777}},
		reg("tmp/scratch", "gone later", 0o644))
	later := imagefstest.Layer(t, imagefstest.Entry{Header: tar.Header{Name: "tmp/.wh.scratch", Typeflag: tar.TypeReg}})
	img, err := mutate.AppendLayers(baseImg, added, later)
	if err != nil {
		t.Fatal(err)
	}
	f.digest = f.push(t, "app:v1", img)
	for p, c := range map[string]string{"/app/server": string(f.binary), "/app/message.txt": "Hello World\n", "/app/run.sh": "#!/bin/sh\nexec /app/server\n", "/app/current": "server"} {
		sum := sha256.Sum256([]byte(c))
		f.addedHashes[p] = hex.EncodeToString(sum[:])
	}
	return f
}

func (f *fixture) push(t *testing.T, repoTag string, img v1.Image) string {
	t.Helper()
	ref, err := name.ParseReference(f.host+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

func (f *fixture) request(format, mode string) Request {
	return Request{SBOMFormat: format, ProvenanceMode: mode, Repository: f.repo, Digest: f.digest,
		BaseRef: f.base + ":v1", BaseDigest: f.baseDigest, Tool: "terraform-provider-onesbuild test",
		Provenance: ProvenanceInput{Executor: "direct", ProviderVersion: "test", Tags: []string{"v1"}, DockerfileSHA256: strings.Repeat("d", 64),
			BuildArgs: map[string]string{"VERSION": "1.2.3"}, ContextSHA256: strings.Repeat("c", 64), Reproducible: true}}
}

func (f *fixture) fetch(t *testing.T, digest string) registry.Artifact {
	t.Helper()
	a, err := f.client.Fetch(context.Background(), f.repo, digest)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAttachSPDXAndProvenance(t *testing.T) {
	for _, referrers := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrers API %v", referrers), func(t *testing.T) {
			ctx := context.Background()
			f := newGoFixture(t, referrers)
			got, err := Attach(ctx, f.client, f.request(FormatSPDX, ProvenanceMin))
			if err != nil {
				t.Fatal(err)
			}
			refs, err := f.client.Referrers(ctx, f.repo, f.digest)
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]string{}
			for _, r := range refs {
				types[r.Digest] = r.ArtifactType
			}
			if types[got.SBOM] != MediaTypeSPDX || types[got.Provenance] != MediaTypeInToto || len(refs) != 2 {
				t.Fatalf("referrers %+v, attached %+v", refs, got)
			}
			// The image itself is untouched: same digest under its tag.
			if d, err := f.client.ResolveTag(ctx, f.repo, "v1"); err != nil || d != f.digest {
				t.Fatalf("tag v1 now %s (%v), want %s", d, err, f.digest)
			}

			doc, err := spdxjson.Read(bytes.NewReader(f.fetch(t, got.SBOM).Content))
			if err != nil {
				t.Fatal(err)
			}
			if err := spdxlib.ValidateDocument(doc); err != nil {
				t.Fatalf("SPDX document does not validate: %v", err)
			}
			files := map[string]string{}
			for _, file := range doc.Files {
				for _, c := range file.Checksums {
					if c.Algorithm == "SHA256" {
						files[strings.TrimPrefix(file.FileName, ".")] = c.Value
					}
				}
			}
			if len(files) != len(f.addedHashes) {
				t.Errorf("SBOM lists files %v, want exactly %v (base files and whited-out ones excluded)", files, f.addedHashes)
			}
			for p, want := range f.addedHashes {
				if files[p] != want {
					t.Errorf("SBOM: %s sha256 %q, want %q", p, files[p], want)
				}
			}
			pkgs := map[string]string{}
			for _, p := range doc.Packages {
				pkgs[p.PackageName] = p.PackageVersion
			}
			if pkgs["libc6"] != "2.36-9+deb12u10" || pkgs["base-files"] == "" || pkgs["removed-pkg"] != "" {
				t.Errorf("Debian packages: %v", pkgs)
			}
			if pkgs[f.base+":v1"] != f.baseDigest {
				t.Errorf("base package: %v, want %s at %s", pkgs, f.base, f.baseDigest)
			}
			// A test binary records its main module only, no dependencies.
			if pkgs["github.com/onesbuild/terraform-provider-onesbuild"] != "(devel)" {
				t.Errorf("the Go module of /app/server missing: %v", pkgs)
			}
			if doc.CreationInfo.Created != "2025-01-02T03:04:05Z" {
				t.Errorf("created %q, want the image's creation time", doc.CreationInfo.Created)
			}

			// Provenance: an in-toto statement with a valid SLSA v1 predicate.
			raw := f.fetch(t, got.Provenance).Content
			var st attestation.Statement
			if err := protojson.Unmarshal(raw, &st); err != nil {
				t.Fatal(err)
			}
			if err := st.Validate(); err != nil {
				t.Fatalf("statement does not validate: %v", err)
			}
			pj, _ := protojson.Marshal(st.GetPredicate())
			var prov slsa.Provenance
			if err := protojson.Unmarshal(pj, &prov); err != nil {
				t.Fatal(err)
			}
			if err := prov.Validate(); err != nil {
				t.Fatalf("provenance does not validate: %v", err)
			}
			if st.Subject[0].Digest["sha256"] != strings.TrimPrefix(f.digest, "sha256:") {
				t.Errorf("subject %v", st.Subject)
			}
			deps := map[string]string{}
			for _, d := range prov.BuildDefinition.ResolvedDependencies {
				deps[d.Name] = d.Digest["sha256"]
			}
			if deps["base"] != strings.TrimPrefix(f.baseDigest, "sha256:") || deps["context"] != strings.Repeat("c", 64) {
				t.Errorf("resolved dependencies %v", deps)
			}
			if strings.Contains(string(raw), "1.2.3") || !strings.Contains(string(raw), "VERSION") {
				t.Errorf("min provenance must name build arguments without their values: %s", raw)
			}
			if prov.RunDetails.Metadata != nil && prov.RunDetails.Metadata.StartedOn != nil {
				t.Errorf("a reproducible build's provenance records a time: %s", raw)
			}

			// The same inputs attach the same documents.
			again, err := Attach(ctx, f.client, f.request(FormatSPDX, ProvenanceMin))
			if err != nil {
				t.Fatal(err)
			}
			if again.SBOM != got.SBOM || again.Provenance != got.Provenance {
				t.Errorf("attachments not reproducible: %+v then %+v", got, again)
			}
			if refs, _ := f.client.Referrers(ctx, f.repo, f.digest); len(refs) != 2 {
				t.Errorf("attaching again listed %d referrers, want 2", len(refs))
			}
		})
	}
}

func TestAttachMaxProvenanceNamesValues(t *testing.T) {
	f := newFixture(t, true)
	got, err := Attach(context.Background(), f.client, f.request("", ProvenanceMax))
	if err != nil {
		t.Fatal(err)
	}
	if got.SBOM != "" {
		t.Errorf("no SBOM asked, got %s", got.SBOM)
	}
	if raw := f.fetch(t, got.Provenance).Content; !strings.Contains(string(raw), `"VERSION":"1.2.3"`) {
		t.Errorf("max provenance lacks the build argument's value: %s", raw)
	}
}

func TestAttachCycloneDX(t *testing.T) {
	f := newFixture(t, false)
	got, err := Attach(context.Background(), f.client, f.request(FormatCycloneDX, ""))
	if err != nil {
		t.Fatal(err)
	}
	a := f.fetch(t, got.SBOM)
	if a.ArtifactType != MediaTypeCycloneDX {
		t.Fatalf("artifact type %s", a.ArtifactType)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(a.Content), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.Metadata.Component.Version != f.digest {
		t.Fatalf("BOM %v for %v", bom.SpecVersion, bom.Metadata.Component)
	}
	files := map[string]string{}
	names := map[string]bool{}
	for _, c := range *bom.Components {
		names[c.Name] = true
		if c.Type == cdx.ComponentTypeFile {
			for _, h := range *c.Hashes {
				if h.Algorithm == cdx.HashAlgoSHA256 {
					files[c.Name] = h.Value
				}
			}
		}
	}
	for p, want := range f.addedHashes {
		if files[p] != want {
			t.Errorf("BOM: %s sha256 %q, want %q", p, files[p], want)
		}
	}
	if !names["libc6"] || !names[f.base+":v1"] {
		t.Errorf("BOM components %v lack the package or the base", names)
	}
}

// TestConcurrentAttachesOnFallbackKeepEveryReferrer attaches to one
// subject from many goroutines at once on a registry without the
// referrers API, where each attach rewrites the fallback index.
func TestConcurrentAttachesOnFallbackKeepEveryReferrer(t *testing.T) {
	f := newFixture(t, false)
	const n = 12
	var wg sync.WaitGroup
	digests := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			digests[i], errs[i] = f.client.Attach(context.Background(), f.repo, f.digest,
				registry.Artifact{ArtifactType: "application/vnd.example+json", Content: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	refs, err := f.client.Referrers(context.Background(), f.repo, f.digest)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range refs {
		listed[r.Digest] = true
	}
	for _, d := range digests {
		if !listed[d] {
			t.Errorf("attachment %s lost from the fallback index (%d of %d listed)", d, len(refs), n)
		}
	}
}

func TestProvenanceRecordsTimesOnlyForUnreproducibleBuilds(t *testing.T) {
	start := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	in := ProvenanceInput{Mode: ProvenanceMin, Image: Image{Repository: "r/app", Digest: "sha256:" + strings.Repeat("a", 64)}, Executor: "kaniko",
		StartedOn: start, FinishedOn: start.Add(3 * time.Second), ExecutorImage: "r/kaniko:v1", ExecutorImageDigest: "sha256:" + strings.Repeat("e", 64)}
	raw, err := Provenance(in)
	if err != nil {
		t.Fatal(err)
	}
	var st statement
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatal(err)
	}
	if st.Predicate.RunDetails.Metadata == nil || st.Predicate.RunDetails.Metadata.StartedOn != "2026-12-03T10:00:00Z" {
		t.Errorf("a Kaniko build's provenance lacks its times: %s", raw)
	}
	if !strings.Contains(string(raw), strings.Repeat("e", 64)) {
		t.Errorf("the executor image's digest is not a resolved dependency: %s", raw)
	}
	in.Reproducible = true
	raw2, _ := Provenance(in)
	in.StartedOn = in.StartedOn.Add(time.Hour)
	raw3, _ := Provenance(in)
	if !bytes.Equal(raw2, raw3) {
		t.Errorf("a reproducible build's provenance depends on when it ran:\n%s\n%s", raw2, raw3)
	}
	if _, err := Provenance(ProvenanceInput{Mode: "full"}); err == nil {
		t.Error("an unknown mode was accepted")
	}
}
