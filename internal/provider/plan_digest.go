package provider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/cachefile"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// A direct build is reproducible, so a plan can show the digest it will
// push (issue 17.2). Terraform plans each resource twice: once for the
// plan a user reviews, and again during the apply, where every value
// the first plan knew must come out the same. The context may change in
// between, so the second plan must not compute again: the first stores
// what it predicted on disk, and the second finds it. The apply then
// builds pinned (build.Pin): on the base the plan resolved, from a
// context whose hash the plan showed, and fails cleanly when the result
// is another.
//
// Only replacements of resources that exist are predicted: their plan
// follows a refresh, whose nonce (privateKeyReadNonce) the plan of the
// new instance receives. The apply plans the new instance without it,
// and Terraform gives no other identity of the plan or the instance, so
// the prediction is kept under what it is a function of: the
// configuration and the context's hash (exactKey; the base digest it
// resolved is part of it). A context that changed after the plan finds
// the configuration's latest prediction instead (latestKey), which the
// apply refuses cleanly. What remains ambiguous is documented in the
// README: a create may find a prediction an earlier plan of the same
// configuration and files made (its base digest, shown in the plan,
// then comes from that plan), and of two saved plans of one
// configuration, the older applied after the files changed again fails
// as an inconsistent plan.

// privateKeyReadNonce is a value each refresh draws anew.
const privateKeyReadNonce = "read_nonce"

// predictionMaxAge is how long a prediction is kept for the apply that
// follows its plan (a saved plan may be applied much later);
// latestMaxAge how long the latest one stands in for a context that
// changed after its plan.
const (
	predictionMaxAge = 7 * 24 * time.Hour
	latestMaxAge     = 24 * time.Hour
)

// recordReadNonce gives this refresh its own nonce.
func recordReadNonce(ctx context.Context, resp *resource.ReadResponse) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateKeyReadNonce, []byte(strconv.Quote(hex.EncodeToString(b[:]))))...)
}

func readNonce(ctx context.Context, p privateGetter) string {
	return privateString(ctx, p, privateKeyReadNonce)
}

// prediction is what a plan showed of a build.
type prediction struct {
	Digest          string            `json:"digest"`
	BaseImageDigest string            `json:"base_image_digest"`
	ContextSHA256   string            `json:"context_sha256"`
	PlatformDigests map[string]string `json:"platform_digests,omitempty"`
}

// predictionStore keeps predictions on disk, since the apply's plan runs
// in another provider process than the plan's. Without a cache directory
// nothing is predicted.
type predictionStore struct {
	dir    string
	pruned sync.Once
}

var sharedPredictions = &predictionStore{dir: cacheDir("predictions")}

// load is the prediction under key, if it was written within maxAge.
func (s *predictionStore) load(key string, maxAge time.Duration) (prediction, bool) {
	if s.dir == "" {
		return prediction{}, false
	}
	name := filepath.Join(s.dir, key+".json")
	fi, err := os.Stat(name)
	if err != nil || time.Since(fi.ModTime()) > maxAge {
		return prediction{}, false
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return prediction{}, false
	}
	var p prediction
	if json.Unmarshal(raw, &p) != nil || p.Digest == "" {
		return prediction{}, false
	}
	return p, true
}

// save keeps p under key.
func (s *predictionStore) save(key string, p prediction) error {
	if s.dir == "" {
		return errors.New("no cache directory")
	}
	s.pruned.Do(func() { cachefile.PruneOlder(s.dir, time.Now().Add(-predictionMaxAge)) })
	return cachefile.WriteJSON(filepath.Join(s.dir, key+".json"), p)
}

func (s *predictionStore) remove(key string) {
	if s.dir != "" {
		_ = os.Remove(filepath.Join(s.dir, key+".json"))
	}
}

// predictionKey hashes its parts, each length-prefixed.
func predictionKey(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// planDigest shows, for a replacement that the plan decided to build
// directly, the digest, image_ref, base_image_digest, context_sha256 and
// platform_digests the apply will produce. Whatever prevents it (a
// registry that does not answer, a build that cannot be predicted, a
// prediction that cannot be kept on disk) leaves them unknown, as
// before. It runs where Terraform plans the new instance: with no prior
// state (a replacement is planned as a create).
func (r *imageResource) planDigest(ctx context.Context, req resource.ModifyPlanRequest, plan *imageResourceModel) {
	if r.p == nil || r.p.predictions == nil || r.p.predictions.dir == "" || !req.State.Raw.IsNull() {
		return
	}
	// auto decides at apply, when it can reach the registries; the
	// prediction asks them now, and a build pinned by it never falls
	// back to Kaniko.
	direct := plan.ExecutorUsed.ValueString() == build.ExecutorDirect
	auto := plan.ExecutorUsed.IsUnknown() && plan.Executor.ValueString() == build.ExecutorAuto
	if !direct && !auto {
		return
	}
	config := req.Config.Raw.String()
	if readNonce(ctx, req.Private) == "" {
		// The apply's plan of the new instance (it comes without the
		// old one's private state), or a create.
		if p, ok := r.predicted(ctx, plan, config); ok {
			setPredicted(plan, p)
		}
		return
	}
	p, ok := r.predict(ctx, req, plan, config)
	if !ok {
		// What an earlier plan of this configuration predicted must not
		// stand in for this plan at its apply.
		r.p.predictions.remove(latestKey(config))
		if src, ok := plan.localContext(); ok {
			if sum, err := r.p.contextHashes.Hash(ctx, src); err == nil {
				r.p.predictions.remove(exactKey(config, sum.SHA256))
			}
		}
		return
	}
	setPredicted(plan, p)
}

// predict computes this plan's prediction and keeps it on disk, under
// the configuration and the context's hash, and as the configuration's
// latest; false when it cannot be computed or kept.
func (r *imageResource) predict(ctx context.Context, req resource.ModifyPlanRequest, plan *imageResourceModel, config string) (prediction, bool) {
	current := currentContextHash(ctx, req.Private)
	if !plan.ContextDir.IsNull() && current == "" {
		return prediction{}, false
	}
	spec, known := plan.spec(r.p, 0)
	if !known {
		return prediction{}, false
	}
	res, err := build.Predict(ctx, r.p.engine(tflogLogger{ctx: ctx}), spec)
	if err != nil {
		if !errors.Is(err, build.ErrNotPredictable) {
			tflog.Info(ctx, "the digest is known after apply: the plan could not compute it", map[string]any{"error": err.Error()})
		}
		return prediction{}, false
	}
	if current != "" && res.ContextSHA256 != current {
		// The context changed since the refresh: what the plan says
		// about it would not hold.
		return prediction{}, false
	}
	p := prediction{Digest: res.Digest, BaseImageDigest: res.BaseImageDigest, ContextSHA256: res.ContextSHA256, PlatformDigests: res.PlatformDigests}
	for _, k := range []string{exactKey(config, p.ContextSHA256), latestKey(config)} {
		if err := r.p.predictions.save(k, p); err != nil {
			tflog.Warn(ctx, "the planned digest could not be kept on disk for the apply; it stays known after apply", map[string]any{"error": err.Error()})
			return prediction{}, false
		}
	}
	return p, true
}

// predicted is what a plan of this configuration predicted, for the
// apply's plan: the prediction for the context as it is now (a pure
// function of the configuration, the files and the recorded base, so
// any number of instances and plans may share it), else, when the files
// changed since, the configuration's latest prediction, which the apply
// then refuses cleanly (Build Context Changed Since Plan).
func (r *imageResource) predicted(ctx context.Context, plan *imageResourceModel, config string) (prediction, bool) {
	src, ok := plan.localContext()
	if !ok {
		return prediction{}, false
	}
	sum, err := r.p.contextHashes.Hash(ctx, src)
	if err == nil {
		if p, ok := r.p.predictions.load(exactKey(config, sum.SHA256), predictionMaxAge); ok {
			return p, true
		}
	}
	return r.p.predictions.load(latestKey(config), latestMaxAge)
}

// setPredicted puts a prediction into the plan.
func setPredicted(plan *imageResourceModel, p prediction) {
	ref := imageref.Ref{Repository: plan.Repository.ValueString(), Digest: p.Digest}.String()
	plan.Digest = types.StringValue(p.Digest)
	plan.ImageRef = types.StringValue(ref)
	plan.ID = types.StringValue(ref)
	plan.BaseImageDigest = types.StringValue(p.BaseImageDigest)
	plan.ContextSHA256 = types.StringValue(p.ContextSHA256)
	plan.PlatformDigests, _ = platformMaps(p.PlatformDigests, nil)
	plan.ExecutorUsed = types.StringValue(build.ExecutorDirect)
}

// exactKey names the prediction of a configuration and context.
func exactKey(config, contextSHA256 string) string { return predictionKey(config, contextSHA256) }

// latestKey names the prediction of a configuration's last plan.
func latestKey(config string) string { return "latest-" + predictionKey(config, "") }

// takePrediction forgets the configuration's latest prediction once an
// apply built (or failed to), so that a later create of the same
// configuration is not planned from it; predictions by context stay,
// for the other instances of the configuration.
func (r *imageResource) takePrediction(config string) {
	if r.p != nil && r.p.predictions != nil {
		r.p.predictions.remove(latestKey(config))
	}
}

// pinOf is what the plan fixed of the build: the context's hash when it
// showed one, and the predicted digest and base.
func pinOf(plan imageResourceModel) *build.Pin {
	pin := &build.Pin{}
	if !plan.ContextSHA256.IsUnknown() && !plan.ContextSHA256.IsNull() {
		pin.ContextSHA256 = plan.ContextSHA256.ValueString()
	}
	if !plan.Digest.IsUnknown() && !plan.Digest.IsNull() {
		pin.Digest = plan.Digest.ValueString()
		pin.BaseDigest = plan.BaseImageDigest.ValueString()
	}
	if *pin == (build.Pin{}) {
		return nil
	}
	return pin
}
