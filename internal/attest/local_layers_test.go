package attest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	spdxjson "github.com/spdx/tools-golang/json"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/imagefs/imagefstest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// blobServer is an in-memory registry that serves one blob as told:
// refused, or replaced by other bytes.
type blobServer struct {
	next    http.Handler
	digest  string
	refuse  atomic.Bool
	replace atomic.Pointer[[]byte]
	gets    atomic.Int32
}

func (s *blobServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && s.digest != "" && strings.HasSuffix(r.URL.Path, "/blobs/"+s.digest) {
		s.gets.Add(1)
		if s.refuse.Load() {
			http.Error(w, "refused", http.StatusInternalServerError)
			return
		}
		if b := s.replace.Load(); b != nil {
			_, _ = w.Write(*b)
			return
		}
	}
	s.next.ServeHTTP(w, r)
}

// localLayerFixture is an image of one added layer (a file bigger than
// any read-ahead) in a registry whose serving of that layer the test
// controls.
type localLayerFixture struct {
	f       *fixture
	srv     *blobServer
	layer   v1.Layer
	blob    []byte
	content string
}

func newLocalLayerFixture(t *testing.T) localLayerFixture {
	t.Helper()
	srv := &blobServer{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	u, _ := url.Parse(hs.URL)
	f := &fixture{client: &registry.Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}},
		host: u.Host, repo: clusterRegistry + "/app"}
	// Incompressible, so that the blob is larger than what readers read
	// ahead; and, as hex, compressed or not, larger than parallelHashMin,
	// so that the file's and the layer's hashes run on goroutines of
	// their own.
	random := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(random)
	content := hex.EncodeToString(random)
	layer := imagefstest.Layer(t, imagefstest.Entry{Header: tar.Header{Name: "app/data.txt", Typeflag: tar.TypeReg, Mode: 0o644}, Content: content})
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	img, _ = mutate.ConfigFile(img, cfg)
	f.digest = f.push(t, "app:v1", img)
	d, _ := layer.Digest()
	srv.digest = d.String()
	rc, _ := layer.Compressed()
	blob, _ := io.ReadAll(rc)
	if len(blob) < parallelHashMin {
		t.Fatalf("the fixture's compressed layer is %d bytes, under parallelHashMin", len(blob))
	}
	return localLayerFixture{f: f, srv: srv, layer: layer, blob: blob, content: content}
}

// local serves blob as the layer's local copy.
func (x localLayerFixture) local(blob []byte) LocalLayers {
	wantDiffID, _ := x.layer.DiffID()
	wantDigest, _ := x.layer.Digest()
	return func(diffID, digest v1.Hash, tar bool) (io.ReadCloser, bool) {
		if tar || diffID != wantDiffID || digest != wantDigest {
			return nil, false
		}
		return io.NopCloser(bytes.NewReader(blob)), true
	}
}

// sbomFile is the sha256 the SBOM attached with local records for
// /app/data.txt, or the error attaching gave.
func (x localLayerFixture) sbomFile(t *testing.T, local LocalLayers) (string, error) {
	t.Helper()
	// A client of its own: one client keeps small blobs it has read.
	f := *x.f
	f.client = &registry.Client{Hosts: x.f.client.Hosts, Insecure: x.f.client.Insecure}
	got, err := Attach(context.Background(), f.client, Request{SBOMFormat: FormatSPDX, Repository: x.f.repo, Digest: x.f.digest, Tool: "test", LocalLayers: local})
	if err != nil {
		return "", err
	}
	doc, err := spdxjson.Read(bytes.NewReader(x.f.fetch(t, got.SBOM).Content))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range doc.Files {
		if file.FileName == "/app/data.txt" || file.FileName == "./app/data.txt" || file.FileName == "app/data.txt" {
			for _, c := range file.Checksums {
				if c.Algorithm == "SHA256" {
					return c.Value, nil
				}
			}
		}
	}
	t.Fatalf("the SBOM does not list /app/data.txt: %+v", doc.Files)
	return "", nil
}

func TestSBOMReadsTheLayerOnThisMachine(t *testing.T) {
	x := newLocalLayerFixture(t)
	sum := sha256.Sum256([]byte(x.content))
	want := hex.EncodeToString(sum[:])

	x.srv.refuse.Store(true)
	got, err := x.sbomFile(t, x.local(x.blob))
	if err != nil || got != want {
		t.Fatalf("with the layer here and the registry refusing it: %s, %v; want %s", got, err, want)
	}
	if n := x.srv.gets.Load(); n != 0 {
		t.Errorf("the layer was downloaded %d times though it is on this machine", n)
	}
	if _, err := x.sbomFile(t, nil); err == nil {
		t.Error("without the local layer, a registry refusing the layer did not fail the SBOM: the test proves nothing")
	}
}

// TestSBOMIsNeverWrittenFromADamagedLayer damages the layer where the
// tar walk does not look (the gzip trailer's last byte): here, a
// damaged local copy gives way to the registry's; from the registry,
// the attach fails rather than attach an SBOM of unverified bytes.
func TestSBOMIsNeverWrittenFromADamagedLayer(t *testing.T) {
	x := newLocalLayerFixture(t)
	sum := sha256.Sum256([]byte(x.content))
	want := hex.EncodeToString(sum[:])
	damaged := append([]byte{}, x.blob...)
	damaged[len(damaged)-1] ^= 0xff

	got, err := x.sbomFile(t, x.local(damaged))
	if err != nil || got != want {
		t.Fatalf("a damaged local layer: %s, %v; want the registry's layer read, %s", got, err, want)
	}
	if x.srv.gets.Load() == 0 {
		t.Error("a damaged local layer was used, not the registry's")
	}

	x.srv.replace.Store(&damaged)
	if _, err := x.sbomFile(t, nil); err == nil {
		t.Error("an SBOM was attached from a layer the registry served with other bytes than its digest's")
	}
	x.srv.refuse.Store(true)
	if _, err := x.sbomFile(t, x.local(damaged)); err == nil {
		t.Error("an SBOM was attached from a damaged local layer when the registry could not serve it")
	}
}

// TestSBOMOfAnUncompressedLayerIsVerifiedToo: a layer that is a plain
// tar (labelled so, or labelled gzip) is read to its end as well, so
// content damaged inside a file the SBOM hashes fails the attach.
func TestSBOMOfAnUncompressedLayerIsVerifiedToo(t *testing.T) {
	for _, mt := range []types.MediaType{types.OCIUncompressedLayer, types.OCILayer} {
		srv := &blobServer{next: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
		hs := httptest.NewServer(srv)
		u, _ := url.Parse(hs.URL)
		f := &fixture{client: &registry.Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}},
			host: u.Host, repo: clusterRegistry + "/app"}
		random := make([]byte, 64<<10)
		rand.New(rand.NewSource(2)).Read(random)
		var tarball bytes.Buffer
		tw := tar.NewWriter(&tarball)
		content := hex.EncodeToString(random)
		_ = tw.WriteHeader(&tar.Header{Name: "app/data.txt", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))})
		_, _ = io.WriteString(tw, content)
		_ = tw.Close()
		layer := static.NewLayer(tarball.Bytes(), mt)
		img, err := mutate.AppendLayers(empty.Image, layer)
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := img.ConfigFile()
		cfg.OS, cfg.Architecture = "linux", "amd64"
		img, _ = mutate.ConfigFile(img, cfg)
		f.digest = f.push(t, "app:v1", img)
		d, _ := layer.Digest()
		srv.digest = d.String()
		damaged := append([]byte{}, tarball.Bytes()...)
		for i := 600; i < 700; i++ {
			damaged[i] ^= 0x55
		}
		srv.replace.Store(&damaged)
		x := localLayerFixture{f: f, srv: srv}
		if got, err := x.sbomFile(t, nil); err == nil {
			t.Errorf("%s: an SBOM was attached from a damaged layer, listing sha256 %s for /app/data.txt", mt, got)
		}
		hs.Close()
	}
}

// localTar serves tarball as the layer's kept tar and, when blob is
// set, blob as its compressed copy.
func (x localLayerFixture) localTar(tarball, blob []byte) LocalLayers {
	wantDiffID, _ := x.layer.DiffID()
	wantDigest, _ := x.layer.Digest()
	return func(diffID, digest v1.Hash, tar bool) (io.ReadCloser, bool) {
		switch {
		case tar && diffID == wantDiffID:
			return io.NopCloser(bytes.NewReader(tarball)), true
		case !tar && blob != nil && diffID == wantDiffID && digest == wantDigest:
			return io.NopCloser(bytes.NewReader(blob)), true
		}
		return nil, false
	}
}

// TestSBOMReadsTheKeptTar: a layer's tar kept on this machine is read
// instead of any blob, and only when it is the layer's diff ID: a tar
// with bytes where the walk does not look (after the end of the archive)
// gives way to the compressed copy on this machine, then to the
// registry's layer, and fails the attach when neither can serve it.
func TestSBOMReadsTheKeptTar(t *testing.T) {
	x := newLocalLayerFixture(t)
	sum := sha256.Sum256([]byte(x.content))
	want := hex.EncodeToString(sum[:])
	rc, err := x.layer.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	tarball, _ := io.ReadAll(rc)
	rc.Close()

	x.srv.refuse.Store(true)
	got, err := x.sbomFile(t, x.localTar(tarball, nil))
	if err != nil || got != want {
		t.Fatalf("with the tar here and the registry refusing the layer: %s, %v; want %s", got, err, want)
	}
	if n := x.srv.gets.Load(); n != 0 {
		t.Errorf("the layer was downloaded %d times though its tar is on this machine", n)
	}

	// Bytes after the end-of-archive blocks: the tar walk never sees
	// them, only the digest does.
	damaged := append(append([]byte{}, tarball...), make([]byte, 512)...)
	damaged[len(damaged)-1] = 0xff
	if _, err := x.sbomFile(t, x.localTar(damaged, nil)); err == nil {
		t.Error("an SBOM was attached from a damaged tar when the registry could not serve the layer")
	}
	// A damaged tar gives way to the compressed copy on this machine
	// first, with the registry still refusing.
	x.srv.gets.Store(0)
	got, err = x.sbomFile(t, x.localTar(damaged, x.blob))
	if err != nil || got != want {
		t.Errorf("a damaged tar beside a good compressed copy: %s, %v; want the copy read, %s", got, err, want)
	}
	if n := x.srv.gets.Load(); n != 0 {
		t.Errorf("the layer was downloaded %d times though a good compressed copy is on this machine", n)
	}
	x.srv.refuse.Store(false)
	got, err = x.sbomFile(t, x.localTar(damaged, nil))
	if err != nil || got != want {
		t.Fatalf("a damaged tar: %s, %v; want the registry's layer read, %s", got, err, want)
	}
	if x.srv.gets.Load() == 0 {
		t.Error("a damaged tar was used, not the registry's layer")
	}
}
