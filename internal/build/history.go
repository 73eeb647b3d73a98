package build

import (
	"context"
	"strconv"
	"time"
)

// Pruner deletes a resource's older builds; registry.Client implements it.
type Pruner interface {
	PruneHistory(ctx context.Context, repository, key string, keep int, protect []string, dryRun bool, report func(tag, digest string)) error
	Address(repository string) string
}

// HistoryKeyFunc and HistoryTagFunc name a resource's history tags; the
// registry package provides them.
type (
	HistoryKeyFunc func(repository string, tags []string) string
	HistoryTagFunc func(key string, t time.Time) string
)

// RecordHistory records a build's inputs in image labels and, when the spec
// asks for retention, pushes a history tag with the build and prunes the
// resource's older builds after a successful one. Pruning failures are
// warnings, never errors: the image was built.
type RecordHistory struct {
	ProviderVersion string
	Clock           Clock
	Pruner          Pruner
	HistoryKey      HistoryKeyFunc
	HistoryTag      HistoryTagFunc
	Next            Executor
	Log             Logger
}

// label adds the history labels and, with retention, the history tag;
// it returns the history key, empty without retention.
func (h RecordHistory) label(spec Spec, now time.Time) (Spec, string) {
	spec.Labels = HistoryLabels(spec, h.ProviderVersion, now)
	if spec.Retention == nil || h.Pruner == nil {
		return spec, ""
	}
	key := h.HistoryKey(spec.Repository, spec.Tags)
	spec.Tags = append(append([]string(nil), spec.Tags...), h.HistoryTag(key, now))
	return spec, key
}

// Plan plans the spec as Build would build it: labelled and tagged.
func (h RecordHistory) Plan(ctx context.Context, spec Spec) (Plan, error) {
	spec, _ = h.label(spec, h.Clock.Now())
	return h.Next.Plan(ctx, spec)
}

// Build labels the spec, runs the next executor, then applies retention.
func (h RecordHistory) Build(ctx context.Context, spec Spec) (*Result, error) {
	spec, key := h.label(spec, h.Clock.Now())
	res, err := h.Next.Build(ctx, spec)
	if err != nil || key == "" {
		return res, err
	}
	log := LoggerOr(h.Log)
	keep, dryRun := spec.Retention.KeepLast, spec.Retention.DryRun
	var pruned []Pruned
	perr := h.Pruner.PruneHistory(ctx, spec.Repository, key, keep, []string{res.Digest}, dryRun, func(tag, digest string) {
		pruned = append(pruned, Pruned{Tag: tag, Digest: digest})
		msg := "retention: deleting an old build"
		if dryRun {
			msg = "retention (dry run): would delete an old build"
		}
		log.Step(msg, "repository", spec.Repository, "history_tag", tag, "digest", digest, "keep_last", keep)
	})
	res.Pruned = pruned
	if perr != nil {
		res.Warnings = append(res.Warnings, Warning{Kind: WarningRetention, Message: "retention (keep the newest " + strconv.Itoa(keep) + ") could not clean up older builds of " +
			spec.Repository + " (contacted as " + h.Pruner.Address(spec.Repository) + "): " + perr.Error()})
		return res, nil
	}
	log.Step("retention done", "repository", spec.Repository, "deleted", len(pruned), "dry_run", dryRun)
	return res, nil
}
