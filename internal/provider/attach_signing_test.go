package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

// signingFixture is an in-memory registry holding one linux/amd64
// image, a fake cluster holding a cosign key for it, and a resource
// model that asks for an SBOM, provenance and a signature of it.
type signingFixture struct {
	client *registry.Client
	repo   string
	digest string
	r      *imageResource
	plan   imageResourceModel
	key    *ecdsa.PrivateKey
}

// refuseAttachments makes the registry refuse every attachment's
// manifest (signature images, which have no artifactType, still go in).
type refuseAttachments struct{ next http.Handler }

func (h refuseAttachments) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/manifests/") {
		body, _ := io.ReadAll(req.Body)
		if strings.Contains(string(body), `"artifactType"`) {
			http.Error(w, `{"errors":[{"code":"DENIED","message":"no attachments here"}]}`, http.StatusForbidden)
			return
		}
		req.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	h.next.ServeHTTP(w, req)
}

func newSigningFixture(t *testing.T, wrap func(http.Handler) http.Handler) signingFixture {
	t.Helper()
	var h http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	const host = "registry.kube-system.svc.cluster.local:5000"
	c := &registry.Client{Hosts: map[string]string{host: u.Host}, Insecure: []string{host}}
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := img.ConfigFile()
	cfg.OS, cfg.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(u.Host+"/app:v1", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	dg, _ := img.Digest()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	password := []byte("pw")
	pemKey, err := signing.EncryptPrivateKey(key, password)
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "image-signing"},
		Data: map[string][]byte{signingKeyField: pemKey, signingPasswordField: password}}
	r := &imageResource{p: &providerData{registry: c, version: "test", cluster: rvCluster{fake.NewSimpleClientset(secret)}}}
	repo := host + "/app"
	plan := imageResourceModel{Repository: types.StringValue(repo), Digest: types.StringValue(dg.String()),
		ImageRef: types.StringValue(repo + "@" + dg.String()), Namespace: types.StringValue("default"),
		SBOM: &sbomModel{Format: types.StringNull()}, Provenance: &provenanceModel{Mode: types.StringNull()},
		Signing: &signingModel{KeySecret: types.StringValue("image-signing")}}
	planAttachments(&plan, nil, true)
	return signingFixture{client: c, repo: repo, digest: dg.String(), r: r, plan: plan, key: key}
}

func (f signingFixture) facts() buildFacts {
	at := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	return buildFacts{Started: at, Finished: at.Add(time.Second), Reproducible: true}
}

// TestAttachSignsEveryDocumentItWrites creates an image's SBOM,
// provenance and signature in one attach, the documents signed while
// they are pushed: each signature verifies, with the key, for the
// digest the document was pushed under, and each subject is signed
// once.
func TestAttachSignsEveryDocumentItWrites(t *testing.T) {
	ctx := context.Background()
	f := newSigningFixture(t, nil)
	m := f.plan
	var diags diag.Diagnostics
	records := f.r.attach(ctx, &m, nil, f.facts(), nil, &diags)
	if diags.HasError() {
		t.Fatal(diags)
	}
	sv, err := signing.LoadPrivateKey(mustEncrypt(t, f.key), []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{m.SBOMDigest.ValueString(), m.ProvenanceDigest.ValueString()}
	for _, d := range append([]string{f.digest}, docs...) {
		if !strings.HasPrefix(d, "sha256:") {
			t.Fatalf("attachment digests not recorded: sbom %v provenance %v", m.SBOMDigest, m.ProvenanceDigest)
		}
		if ok, err := f.client.Exists(ctx, f.repo, d); err != nil || !ok {
			t.Errorf("%s not in the registry (%v)", d, err)
		}
		if _, err := signing.Verify(ctx, f.client, f.repo, d, sv); err != nil {
			t.Errorf("the signature of %s does not verify: %v", d, err)
		}
	}
	signed := map[string]int{}
	var order []string
	for _, a := range records {
		if a.Kind == kindSignature {
			signed[a.Subject]++
			order = append(order, a.Subject)
		}
	}
	if len(signed) != 3 || signed[f.digest] != 1 || signed[docs[0]] != 1 || signed[docs[1]] != 1 {
		t.Errorf("signature records per subject %v; want the image and its two documents once each", signed)
	}
	if len(order) == 0 || order[0] != f.digest {
		t.Errorf("the image's signature is not recorded first: %v", order)
	}
	if sig := m.SignatureDigest.ValueString(); !strings.HasPrefix(sig, "sha256:") {
		t.Errorf("signature_digest %v", m.SignatureDigest)
	}
}

// TestFailedAttachRecordsTheSignaturesPushedMeanwhile refuses the
// documents' manifests: the apply fails, and the signatures made of the
// documents while they were pushed are recorded, so that deleting the
// image removes them from the registry.
func TestFailedAttachRecordsTheSignaturesPushedMeanwhile(t *testing.T) {
	ctx := context.Background()
	f := newSigningFixture(t, func(h http.Handler) http.Handler { return refuseAttachments{h} })
	m := f.plan
	var diags diag.Diagnostics
	records := f.r.attach(ctx, &m, nil, f.facts(), nil, &diags)
	if !diags.HasError() || !strings.Contains(diags.Errors()[0].Summary(), "Attachments Not Pushed") {
		t.Fatalf("want Attachments Not Pushed, got %v", diags)
	}
	var docSigs []registry.Attachment
	imageSigned := false
	for _, a := range records {
		switch {
		case a.Kind == kindSignature && a.Subject == f.digest:
			imageSigned = true
		case a.Kind == kindSignature:
			docSigs = append(docSigs, a)
		}
	}
	if !imageSigned || len(docSigs) != 2 {
		t.Fatalf("records %+v: want the image's signature and both documents'", records)
	}
	for _, a := range docSigs {
		if _, err := f.client.ResolveTag(ctx, f.repo, strings.Replace(a.Subject, ":", "-", 1)+".sig"); err != nil {
			t.Errorf("recorded signature of %s not in the registry: %v", a.Subject, err)
		}
	}
	if err := f.r.detach(ctx, f.repo, records); err != nil {
		t.Fatal(err)
	}
	for _, a := range docSigs {
		if _, err := f.client.ResolveTag(ctx, f.repo, strings.Replace(a.Subject, ":", "-", 1)+".sig"); err == nil {
			t.Errorf("the signature of the document %s that never arrived stays after detaching", a.Subject)
		}
	}
}

func mustEncrypt(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	pemKey, err := signing.EncryptPrivateKey(key, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	return pemKey
}

// toggledRegistry refuses, while told to, the documents' manifests and
// anything of one signature tag.
type toggledRegistry struct {
	next         http.Handler
	refuseDocs   atomic.Bool
	refuseSigTag atomic.Pointer[string]
}

func (h *toggledRegistry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if tag := h.refuseSigTag.Load(); tag != nil && strings.HasSuffix(req.URL.Path, "/manifests/"+*tag) {
		http.Error(w, `{"errors":[{"code":"DENIED","message":"not this tag"}]}`, http.StatusForbidden)
		return
	}
	if h.refuseDocs.Load() {
		refuseAttachments{h.next}.ServeHTTP(w, req)
		return
	}
	h.next.ServeHTTP(w, req)
}

// TestRetriedAttachRecordsEachSignatureOnce fails an attach (documents
// refused, the image's signature too), then retries it with the
// documents accepted and the image's signature still refused: each
// document's signature, made in both attempts, is recorded once.
func TestRetriedAttachRecordsEachSignatureOnce(t *testing.T) {
	ctx := context.Background()
	h := &toggledRegistry{}
	f := newSigningFixture(t, func(next http.Handler) http.Handler { h.next = next; return h })
	tag := strings.Replace(f.digest, ":", "-", 1) + ".sig"
	h.refuseSigTag.Store(&tag)
	h.refuseDocs.Store(true)
	m := f.plan
	var diags diag.Diagnostics
	records := f.r.attach(ctx, &m, nil, f.facts(), nil, &diags)
	if !diags.HasError() {
		t.Fatal("the first attach did not fail")
	}
	state := m
	nullUnknownAttachments(&state)
	plan := state
	planAttachments(&plan, &state, true)
	if !plan.SBOMDigest.IsUnknown() || !plan.SignatureDigest.IsUnknown() {
		t.Fatalf("the retry plans nothing: sbom %v signature %v", plan.SBOMDigest, plan.SignatureDigest)
	}
	h.refuseDocs.Store(false)
	diags = nil
	records = f.r.attach(ctx, &plan, &state, f.facts(), records, &diags)
	if !diags.HasError() {
		t.Fatal("the retry signed an image whose signature tag is refused")
	}
	perSubject := map[string]int{}
	for _, a := range records {
		if a.Kind == kindSignature {
			perSubject[a.Subject]++
		}
	}
	for subject, n := range perSubject {
		if n != 1 {
			t.Errorf("%s has %d signature records, want 1: %+v", subject, n, records)
		}
	}
	if len(perSubject) != 2 {
		t.Errorf("signatures recorded for %v; want the two documents'", perSubject)
	}
}
