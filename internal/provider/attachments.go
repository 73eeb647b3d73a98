package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/attest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/kube"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

type sbomModel struct {
	Format types.String `tfsdk:"format"`
}

type provenanceModel struct {
	Mode types.String `tfsdk:"mode"`
}

type signingModel struct {
	KeySecret types.String `tfsdk:"key_secret"`
	KMSKey    types.String `tfsdk:"kms_key"`
}

// kindSignature marks a signature image among the recorded attachments.
const kindSignature = "signature"

// The keys of a signing Secret, as cosign generate-key-pair k8s://...
// writes them.
const (
	signingKeyField      = "cosign.key"
	signingPasswordField = "cosign.password"
)

// signingKey names the key that signs, "" for none: a change of key
// signs again in place.
func (m imageResourceModel) signingKey() string {
	switch {
	case m.Signing == nil:
		return ""
	case m.Signing.KMSKey.ValueString() != "":
		return "kms " + m.Signing.KMSKey.ValueString()
	}
	return "secret " + m.Signing.KeySecret.ValueString()
}

// privateKeyBuildFacts keeps what a build learnt that its attachments
// record and the configuration does not hold, so that an attachment
// deleted out of band is written again as it was.
const privateKeyBuildFacts = "build_facts"

// buildFacts are those facts.
type buildFacts struct {
	BaseImage           string    `json:"base_image,omitempty"`
	ExecutorImage       string    `json:"executor_image,omitempty"`
	ExecutorImageDigest string    `json:"executor_image_digest,omitempty"`
	DockerfileSHA256    string    `json:"dockerfile_sha256,omitempty"`
	Reproducible        bool      `json:"reproducible,omitempty"`
	Started             time.Time `json:"started"`
	Finished            time.Time `json:"finished"`
}

// factsOf records what a build learnt.
func factsOf(spec build.Spec, res *build.Result, started, finished time.Time) buildFacts {
	return buildFacts{BaseImage: res.BaseImage, ExecutorImage: res.ExecutorImage, ExecutorImageDigest: res.ExecutorImageDigest,
		DockerfileSHA256: res.DockerfileSHA256, Reproducible: res.Executor == build.ExecutorDirect || spec.Reproducible,
		Started: started, Finished: finished}
}

// known says the facts were recorded by a build.
func (f buildFacts) known() bool { return !f.Started.IsZero() }

func (f buildFacts) raw() []byte {
	raw, _ := json.Marshal(f)
	return raw
}

func readFacts(ctx context.Context, p privateGetter) buildFacts {
	var f buildFacts
	if raw, _ := p.GetKey(ctx, privateKeyBuildFacts); len(raw) > 0 {
		_ = json.Unmarshal(raw, &f)
	}
	return f
}

func (m imageResourceModel) sbomFormat() string {
	if m.SBOM == nil {
		return ""
	}
	if f := m.SBOM.Format.ValueString(); f != "" {
		return f
	}
	return attest.FormatSPDX
}

func (m imageResourceModel) provenanceMode() string {
	if m.Provenance == nil {
		return ""
	}
	if mode := m.Provenance.Mode.ValueString(); mode != "" {
		return mode
	}
	return attest.ProvenanceMin
}

// planAttachments plans sbom_digest, provenance_digest and
// signature_digest: unknown where an attachment will be written (a new
// image, a changed block, one deleted out of band, which Read found),
// null where none is asked, what state holds otherwise. A changed block
// is an in-place update. Without build facts (an imported image) no
// provenance is written, and planAttachments says so.
func planAttachments(plan *imageResourceModel, state *imageResourceModel, facts bool) (provenanceRefused bool) {
	plan.SBOMDigest = plannedAttachment(plan.sbomFormat(), state, func(s *imageResourceModel) (string, types.String) { return s.sbomFormat(), s.SBOMDigest })
	plan.ProvenanceDigest = plannedAttachment(plan.provenanceMode(), state, func(s *imageResourceModel) (string, types.String) {
		return s.provenanceMode(), s.ProvenanceDigest
	})
	if plan.Provenance != nil && plan.Provenance.Mode.IsUnknown() {
		plan.ProvenanceDigest = types.StringUnknown()
	}
	if plan.ProvenanceDigest.IsUnknown() && state != nil && !facts {
		plan.ProvenanceDigest, provenanceRefused = state.ProvenanceDigest, true
	}
	if plan.SBOM != nil && plan.SBOM.Format.IsUnknown() {
		plan.SBOMDigest = types.StringUnknown()
	}
	plan.SignatureDigest = plannedAttachment(plan.signingKey(), state, func(s *imageResourceModel) (string, types.String) {
		return s.signingKey(), s.SignatureDigest
	})
	if plan.Signing != nil && (plan.Signing.KeySecret.IsUnknown() || plan.Signing.KMSKey.IsUnknown() || plan.SBOMDigest.IsUnknown() || plan.ProvenanceDigest.IsUnknown()) {
		// A key from a resource not applied yet; or new attachments,
		// which are signed too and may add to the signature image.
		plan.SignatureDigest = types.StringUnknown()
	}
	return provenanceRefused
}

func plannedAttachment(want string, state *imageResourceModel, of func(*imageResourceModel) (string, types.String)) types.String {
	if want == "" {
		return types.StringNull()
	}
	if state == nil {
		return types.StringUnknown()
	}
	had, digest := of(state)
	if had != want || digest.IsNull() || digest.IsUnknown() || digest.ValueString() == "" {
		return types.StringUnknown()
	}
	return digest
}

// attachmentRequest is what attaching to the model's image needs.
func (r *imageResource) attachmentRequest(m imageResourceModel, facts buildFacts, sbom, provenance bool) attest.Request {
	digests, _ := mapStrings(m.PlatformDigests)
	buildArgs, _ := mapStrings(m.BuildArgs)
	tags, _ := listStrings(m.Tags)
	platforms, _ := listStrings(m.Platforms)
	sort.Strings(platforms)
	if len(platforms) == 0 && m.Platform.ValueString() != "" {
		platforms = []string{m.Platform.ValueString()}
	}
	req := attest.Request{
		Repository: m.Repository.ValueString(), Digest: m.Digest.ValueString(), PlatformDigests: digests,
		BaseRef: facts.BaseImage, BaseDigest: m.BaseImageDigest.ValueString(),
		Tool:  "terraform-provider-onesbuild " + r.p.version,
		Cache: sharedDatabases,
		// A direct build's layers are in the layer cache: the SBOM reads
		// them there, not from the registry.
		LocalLayers: func(diffID, digest v1.Hash, tar bool) (io.ReadCloser, bool) {
			return direct.OpenCachedLayer(cacheDir("layers"), diffID, digest, tar)
		},
		Provenance: attest.ProvenanceInput{
			Tags: tags, Executor: m.ExecutorUsed.ValueString(), ProviderVersion: r.p.version,
			DockerfileSHA256: facts.DockerfileSHA256, Target: m.Target.ValueString(), Platforms: platforms,
			BuildArgs: buildArgs, ContextSHA256: m.ContextSHA256.ValueString(), ContextURL: build.RedactURL(m.ContextURL.ValueString()),
			ExecutorImage: facts.ExecutorImage, ExecutorImageDigest: facts.ExecutorImageDigest,
			Reproducible: facts.Reproducible, StartedOn: facts.Started, FinishedOn: facts.Finished,
		},
	}
	if sbom {
		req.SBOMFormat = m.sbomFormat()
	}
	if provenance {
		req.ProvenanceMode = m.provenanceMode()
	}
	return req
}

// sharedDatabases keeps the package databases of base layers between
// builds and runs.
var sharedDatabases = &attest.DatabaseCache{Dir: cacheDir("sbom-layers")}

// privateKeyAttachments lists every attachment the resource made, with
// its subject, so that a replaced or removed one and, with
// delete_on_destroy, all of them go from the registry.
const privateKeyAttachments = "attachments"

type privateSetter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

func readAttachmentRecords(ctx context.Context, p privateGetter) []registry.Attachment {
	var out []registry.Attachment
	if p == nil {
		return nil
	}
	if raw, _ := p.GetKey(ctx, privateKeyAttachments); len(raw) > 0 {
		_ = json.Unmarshal(raw, &out)
	}
	return out
}

func recordAttachments(ctx context.Context, p privateSetter, list []registry.Attachment) diag.Diagnostics {
	if len(list) == 0 {
		return p.SetKey(ctx, privateKeyAttachments, nil)
	}
	raw, _ := json.Marshal(list)
	return p.SetKey(ctx, privateKeyAttachments, raw)
}

// attach writes the attachments the plan leaves unknown, records their
// digests in m, and detaches what they replace or what the plan no
// longer asks for (state's digests beside m's). It returns the
// attachments the resource has afterwards.
func (r *imageResource) attach(ctx context.Context, m *imageResourceModel, prior *imageResourceModel, facts buildFacts, records []registry.Attachment, diags *diag.Diagnostics) []registry.Attachment {
	sbom, provenance := m.SBOMDigest.IsUnknown(), m.ProvenanceDigest.IsUnknown()
	// The image is signed while its documents are written: it does not
	// depend on them, and the registry's round trips are most of the time.
	var sv signature.SignerVerifier
	imageSigned := make(chan signatures, 1)
	if m.SignatureDigest.IsUnknown() {
		if sv = r.signer(ctx, m, diags); sv != nil {
			repo, image := m.Repository.ValueString(), m.Digest.ValueString()
			go func() { imageSigned <- r.signAll(ctx, repo, sv, []string{image}) }()
		}
	}
	// Each document is signed as soon as its digest is known, while it
	// is pushed.
	var early earlySignatures
	var made attest.Attached
	if sbom || provenance {
		req := r.attachmentRequest(*m, facts, sbom, provenance)
		if sv != nil {
			req.Prepared = early.start(ctx, r, m.Repository.ValueString(), sv)
		}
		t := time.Now()
		got, err := attest.Attach(ctx, r.p.registry, req)
		if err != nil {
			diags.AddAttributeError(path.Root("sbom"), "Attachments Not Pushed",
				fmt.Sprintf("The image %s was pushed, and attaching its SBOM or provenance to it failed.\n\n"+
					"Make the registry reachable from this machine (see registry_hosts in the provider block) and apply again, which "+
					"attaches them without building; or remove the sbom and provenance blocks.\n\nOriginal error: %v", m.ImageRef.ValueString(), err))
			if sv != nil {
				// Signatures pushed meanwhile are recorded, so that they
				// go with the image.
				got.All = append(got.All, (<-imageSigned).record(m, diags)...)
				got.All = append(got.All, early.wait(nil).record(nil, diags)...)
			}
			return appendNew(records, got.All)
		}
		made = got
		tflog.Debug(ctx, "attachments pushed", map[string]any{"sbom": got.SBOM, "provenance": got.Provenance, "seconds": time.Since(t).Seconds()})
		if sbom {
			m.SBOMDigest = types.StringValue(got.SBOM)
		}
		if provenance {
			m.ProvenanceDigest = types.StringValue(got.Provenance)
		}
	}
	signed := m.SignatureDigest.IsUnknown() || m.SignatureDigest.IsNull()
	if sv != nil {
		// Every document the image keeps: those just made, and the
		// recorded ones of kinds not written again (an index's platform
		// images have theirs).
		var subjects []string
		for _, a := range made.All {
			subjects = append(subjects, a.Digest)
		}
		for _, a := range records {
			if (a.Kind == attest.KindSBOM && !sbom && !m.SBOMDigest.IsNull()) || (a.Kind == attest.KindProvenance && !provenance && !m.ProvenanceDigest.IsNull()) {
				subjects = append(subjects, a.Digest)
			}
		}
		docs := early.wait(subjects)
		docs = docs.merge(r.signAll(ctx, m.Repository.ValueString(), sv, docs.missing(subjects)), subjects)
		made.All = append(made.All, (<-imageSigned).record(m, diags)...)
		made.All = append(made.All, docs.record(nil, diags)...)
	}
	if diags.HasError() {
		// Nothing old goes when the new did not all arrive: a failed
		// signing keeps the signatures there were (and those a failed
		// attach made of its documents are recorded once).
		return appendNew(records, made.All)
	}
	// What a kind had before goes when the kind was written again or is
	// no longer asked for, and with an attachment that goes, its
	// signatures.
	replaced := map[string]bool{attest.KindSBOM: sbom || m.SBOMDigest.IsNull(), attest.KindProvenance: provenance || m.ProvenanceDigest.IsNull(),
		kindSignature: signed}
	current := map[string]bool{}
	for _, a := range made.All {
		current[recordKey(a)] = true
	}
	gone := map[string]bool{}
	for _, a := range records {
		if a.Kind != kindSignature && replaced[a.Kind] && !current[recordKey(a)] {
			gone[a.Digest] = true
		}
	}
	var keep, drop []registry.Attachment
	for _, a := range records {
		switch {
		case current[recordKey(a)]:
			// made again: kept below
		case replaced[a.Kind] || gone[a.Subject]:
			drop = append(drop, a)
		default:
			keep = append(keep, a)
		}
	}
	keep = append(keep, made.All...)
	if len(drop) > 0 && prior != nil {
		if err := r.detach(ctx, m.Repository.ValueString(), drop); err != nil {
			diags.AddWarning("Old Attachments Not Deleted",
				fmt.Sprintf("The SBOM, provenance or signature of %s was replaced or is no longer asked for, and deleting the old one from the "+
					"registry failed; it stays.\n\nDelete it by hand if it matters, or ignore this.\n\nOriginal error: %v", m.ImageRef.ValueString(), err))
			keep = append(keep, drop...)
		}
	}
	return keep
}

// appendNew appends to records those of more it does not hold yet: a
// failed attach that is retried must not record a signature twice.
func appendNew(records, more []registry.Attachment) []registry.Attachment {
	have := map[string]bool{}
	for _, a := range records {
		have[recordKey(a)] = true
	}
	for _, a := range more {
		if !have[recordKey(a)] {
			have[recordKey(a)] = true
			records = append(records, a)
		}
	}
	return records
}

// recordKey identifies a record: a document by its manifest, a
// signature by what it signs and the signature itself (its signature
// image changes whenever another signer adds theirs).
func recordKey(a registry.Attachment) string {
	if a.Kind == kindSignature {
		return "signature " + a.Subject + " " + a.Signature
	}
	return a.Digest
}

// detach deletes attachments and removes this resource's signatures
// from signature images, keeping other signers'.
func (r *imageResource) detach(ctx context.Context, repo string, list []registry.Attachment) error {
	var docs []registry.Attachment
	sigs := map[string][]string{}
	for _, a := range list {
		if a.Kind == kindSignature {
			if a.Signature != "" {
				sigs[a.Subject] = append(sigs[a.Subject], a.Signature)
			}
			continue
		}
		docs = append(docs, a)
	}
	subjects := make([]string, 0, len(sigs))
	for s := range sigs {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	for _, s := range subjects {
		if err := signing.Unsign(ctx, r.p.registry, repo, s, sigs[s]); err != nil {
			return err
		}
	}
	if len(docs) == 0 {
		return nil
	}
	return r.p.registry.DeleteAttachments(ctx, repo, docs)
}

// readAttachments checks that the attachments are still in the
// registry: the ones in state, and those recorded for the platform
// images of an index and the signatures of the documents. A kind with
// one missing is forgotten, so the next plan writes it again in place.
func (r *imageResource) readAttachments(ctx context.Context, state *imageResourceModel, records []registry.Attachment, diags *diag.Diagnostics) {
	repo := state.Repository.ValueString()
	missing := map[string]bool{}
	for kind, a := range map[string]*types.String{attest.KindSBOM: &state.SBOMDigest, attest.KindProvenance: &state.ProvenanceDigest, kindSignature: &state.SignatureDigest} {
		if a.IsNull() || a.IsUnknown() || a.ValueString() == "" {
			continue
		}
		ok, err := r.p.registry.Exists(ctx, repo, a.ValueString())
		if err != nil {
			addRegistryWarning(diags, r.p.registry, repo, err)
			return
		}
		missing[kind] = !ok
	}
	for _, rec := range records {
		if missing[rec.Kind] {
			continue
		}
		var ok bool
		var err error
		if rec.Kind == kindSignature {
			// The signature image's digest changes as signers come; what
			// must stay is its tag.
			_, err = r.p.registry.ResolveTag(ctx, repo, strings.Replace(rec.Subject, ":", "-", 1)+".sig")
			ok = err == nil
			if errors.Is(err, registry.ErrNotFound) {
				err = nil
			}
		} else {
			ok, err = r.p.registry.Exists(ctx, repo, rec.Digest)
		}
		if err != nil {
			addRegistryWarning(diags, r.p.registry, repo, err)
			return
		}
		if !ok {
			missing[rec.Kind] = true
		}
	}
	for kind, a := range map[string]*types.String{attest.KindSBOM: &state.SBOMDigest, attest.KindProvenance: &state.ProvenanceDigest, kindSignature: &state.SignatureDigest} {
		if missing[kind] {
			tflog.Warn(ctx, "an attachment is no longer in the registry; the next apply attaches it again", map[string]any{"kind": kind, "digest": a.ValueString()})
			*a = types.StringNull()
		}
	}
}

var _ attest.Registry = (*registry.Client)(nil)

// signatures are the results of signing subjects.
type signatures struct {
	repo     string
	subjects []string
	signed   []signing.Signed
	errs     []error
}

// signAll signs each distinct subject, side by side: each has its own
// signature image.
func (r *imageResource) signAll(ctx context.Context, repo string, sv signature.SignerVerifier, subjects []string) signatures {
	out := signatures{repo: repo}
	seen := map[string]bool{}
	for _, subject := range subjects {
		if !seen[subject] {
			seen[subject] = true
			out.subjects = append(out.subjects, subject)
		}
	}
	out.signed = make([]signing.Signed, len(out.subjects))
	out.errs = make([]error, len(out.subjects))
	var wg sync.WaitGroup
	for i, subject := range out.subjects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out.signed[i], out.errs[i] = signing.Sign(ctx, r.p.registry, repo, subject, sv)
		}()
	}
	wg.Wait()
	return out
}

// earlySignatures sign documents while they are attached.
type earlySignatures struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	done []signatures
}

// start returns the attest.Request.Prepared that signs each document
// in its own goroutine.
func (e *earlySignatures) start(ctx context.Context, r *imageResource, repo string, sv signature.SignerVerifier) func(string) {
	return func(digest string) {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			s := r.signAll(ctx, repo, sv, []string{digest})
			e.mu.Lock()
			e.done = append(e.done, s)
			e.mu.Unlock()
		}()
	}
}

// wait waits for the signings started and returns their results, in
// the order of subjects, then any others by digest.
func (e *earlySignatures) wait(subjects []string) signatures {
	e.wg.Wait()
	var all signatures
	for _, s := range e.done {
		all.repo = s.repo
		all.subjects = append(all.subjects, s.subjects...)
		all.signed = append(all.signed, s.signed...)
		all.errs = append(all.errs, s.errs...)
	}
	return all.merge(signatures{}, subjects)
}

// missing are those of subjects s has no result for.
func (s signatures) missing(subjects []string) []string {
	have := map[string]bool{}
	for _, d := range s.subjects {
		have[d] = true
	}
	var out []string
	for _, d := range subjects {
		if !have[d] {
			have[d] = true
			out = append(out, d)
		}
	}
	return out
}

// merge is s and more, one result per subject, in the order of order
// and then of the others' digests.
func (s signatures) merge(more signatures, order []string) signatures {
	out := signatures{repo: s.repo}
	if out.repo == "" {
		out.repo = more.repo
	}
	type result struct {
		signed signing.Signed
		err    error
	}
	results := map[string]result{}
	var rest []string
	for _, from := range []signatures{s, more} {
		for i, d := range from.subjects {
			if _, ok := results[d]; !ok {
				rest = append(rest, d)
			}
			results[d] = result{from.signed[i], from.errs[i]}
		}
	}
	sort.Strings(rest)
	placed := map[string]bool{}
	for _, d := range append(append([]string{}, order...), rest...) {
		res, ok := results[d]
		if !ok || placed[d] {
			continue
		}
		placed[d] = true
		out.subjects = append(out.subjects, d)
		out.signed = append(out.signed, res.signed)
		out.errs = append(out.errs, res.err)
	}
	return out
}

// record turns the results into attachment records and diagnostics.
// With m, the first subject is the image, and its signature image is
// m's signature_digest.
func (s signatures) record(m *imageResourceModel, diags *diag.Diagnostics) []registry.Attachment {
	var out []registry.Attachment
	for i, subject := range s.subjects {
		if s.errs[i] != nil {
			diags.AddAttributeError(path.Root("signing"), "Signature Not Pushed",
				fmt.Sprintf("Signing %s@%s failed.\n\nMake the registry reachable from this machine (see registry_hosts in the provider block) "+
					"and apply again, which signs without building.\n\nOriginal error: %v", s.repo, subject, s.errs[i]))
			continue
		}
		out = append(out, registry.Attachment{Subject: subject, Digest: s.signed[i].Image, Kind: kindSignature, Signature: s.signed[i].Signature})
		if i == 0 && m != nil {
			m.SignatureDigest = types.StringValue(s.signed[i].Image)
		}
	}
	return out
}

// checkKMSPlugin fails the plan of a KMS signing whose plugin is not
// installed, rather than an apply that builds and then cannot sign. A
// plan that signs nothing (the signature is there) does not need it.
func checkKMSPlugin(plan imageResourceModel, diags *diag.Diagnostics) {
	if plan.Signing == nil || plan.Signing.KMSKey.IsUnknown() || plan.Signing.KMSKey.ValueString() == "" || !plan.SignatureDigest.IsUnknown() {
		return
	}
	ref := plan.Signing.KMSKey.ValueString()
	if err := signing.FindKMSPlugin(ref); err != nil {
		diags.AddAttributeError(path.Root("signing").AtName("kms_key"), "KMS Plugin Not Found",
			fmt.Sprintf("The image is to be signed with the KMS key %s, and no plugin for it is installed.\n\n"+
				"Install the KMS's sigstore plugin as %s on the PATH of the machine running Terraform (the provider reaches every KMS "+
				"through sigstore's plugin protocol), or sign with key_secret.\n\nOriginal error: %v", ref, signing.KMSPluginName(ref), err))
	}
}

// signer loads the signing key, or says why it cannot.
func (r *imageResource) signer(ctx context.Context, m *imageResourceModel, diags *diag.Diagnostics) signature.SignerVerifier {
	if ref := m.Signing.KMSKey.ValueString(); ref != "" {
		sv, err := signing.LoadKMS(ctx, ref)
		if err != nil {
			diags.AddAttributeError(path.Root("signing").AtName("kms_key"), "Signing Key Not Usable",
				fmt.Sprintf("The image %s is to be signed with the KMS key %s, and it could not be loaded.\n\n"+
					"Install the KMS's sigstore plugin as %s on the PATH of the machine running Terraform (the provider reaches every KMS "+
					"through sigstore's plugin protocol, as cosign does for schemes it does not build in), or sign with key_secret.\n\nOriginal error: %v",
					m.ImageRef.ValueString(), ref, signing.KMSPluginName(ref), err))
			return nil
		}
		return sv
	}
	secretName, namespace := m.Signing.KeySecret.ValueString(), m.Namespace.ValueString()
	client, _, err := r.p.cluster.Clients()
	var data map[string][]byte
	if err == nil {
		data, err = kube.Secrets{Client: client}.SecretData(ctx, namespace, secretName)
	}
	if err != nil {
		diags.AddAttributeError(path.Root("signing").AtName("key_secret"), "Signing Key Not Readable",
			fmt.Sprintf("The image %s is to be signed with the key in Secret %s/%s, and the Secret could not be read.\n\n"+
				"Create it with cosign generate-key-pair k8s://%s/%s (keys %s and %s), or let the provider's identity get it.\n\nOriginal error: %v",
				m.ImageRef.ValueString(), namespace, secretName, namespace, secretName, signingKeyField, signingPasswordField, err))
		return nil
	}
	sv, err := signing.LoadPrivateKey(data[signingKeyField], data[signingPasswordField])
	if err != nil {
		diags.AddAttributeError(path.Root("signing").AtName("key_secret"), "Signing Key Not Usable",
			fmt.Sprintf("Secret %s/%s must hold a cosign private key under %s and its password under %s, and the key could not be read: %v.\n\n"+
				"Write the Secret again with cosign generate-key-pair k8s://%s/%s.", namespace, secretName, signingKeyField, signingPasswordField, err,
				namespace, secretName))
		return nil
	}
	return sv
}

// nullUnknownAttachments leaves no unknown digest in state after a
// failed attach: null, which the next plan attaches again.
func nullUnknownAttachments(m *imageResourceModel) {
	if m.SBOMDigest.IsUnknown() {
		m.SBOMDigest = types.StringNull()
	}
	if m.ProvenanceDigest.IsUnknown() {
		m.ProvenanceDigest = types.StringNull()
	}
	if m.SignatureDigest.IsUnknown() {
		m.SignatureDigest = types.StringNull()
	}
}
