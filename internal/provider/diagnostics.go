package provider

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/registry"
)

// buildAdvice is what a user should do about each kind of build failure.
var buildAdvice = map[build.FailureReason]struct {
	summary string
	attr    string
	advice  string
}{
	build.ReasonInvalidRequest: {"Invalid Build Request", "", "Fix the resource arguments named in the error."},
	build.ReasonRegistrySecret: {"Registry Auth Secret Not Usable", "registry_auth_secret",
		"Create the secret in the build namespace (kubectl create secret docker-registry <name> --docker-server=... -n <namespace>) " +
			"or correct registry_auth_secret."},
	build.ReasonBuildSecret: {"Build Secret Not Usable", "build_secret",
		"Create the secret with that key in the build namespace (kubectl create secret generic <name> --from-file=<key>=<file> -n <namespace>), " +
			"or correct secret_name and key in the build_secret block."},
	build.ReasonContextCredentials: {"Context Credentials Secret Not Usable", "context_credentials_secret",
		"Create the secret in the build namespace with the variables Kaniko reads to fetch the context (GIT_USERNAME and GIT_PASSWORD, " +
			"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, ...), or correct context_credentials_secret."},
	build.ReasonQuotaTooSmall: {"Build Pod Exceeds The Namespace Quota", "resources",
		"Lower the build's resources (resources.requests and resources.limits) below the ResourceQuota's hard limits, or raise the quota."},
	build.ReasonContextChanged: {"Build Context Changed Since Plan", "context_dir",
		"The plan showed the image that the context as it was then gives, and the files changed before the apply read them; nothing was " +
			"built or pushed. Run terraform apply again: its plan shows the image the files give now. Keep the context still between plan and apply."},
	build.ReasonPredictionMissed: {"Build Did Not Reach The Planned Digest", "executor",
		"The plan computed the digest of this direct build, and the apply's build gave another (or could not run directly); nothing was pushed. " +
			"Run terraform apply again. If it recurs with unchanged inputs, the build is not reproducible here: please report it, " +
			"and set executor = \"kaniko\" meanwhile."},
	build.ReasonQueueTimeout: {"Build Queue Timed Out", "",
		"Every build slot (max_concurrent_builds in the provider block) stayed busy until this build's create timeout. " +
			"Raise max_concurrent_builds, or timeouts.create on the resource."},
	build.ReasonPlatform: {"Build Platform Unknown", "platform",
		"Set platform on the resource (for example platform = \"linux/amd64\", the platform of the nodes that run the image), " +
			"or use executor = \"kaniko\" or \"auto\": a Kaniko pod builds for the platform of the node it runs on. " +
			"Listing nodes needs get and list on nodes (a ClusterRole); the namespaced Role of examples/rbac does not allow it."},
	build.ReasonArchitecture: {"Executable Built For Another Platform", "",
		"The image would fail to start with \"exec format error\". Rebuild the file for the image's platform as the error says, copy " +
			"the right one, or set platform (platforms) to the platform the file is built for. If the file is not meant to run there " +
			"(a download for another system), set skip_architecture_check = true."},
	build.ReasonDockerfile: {"Dockerfile Not Buildable", "",
		"Fix the instruction named in the error (a COPY source that is not in the context, a malformed value), then apply again."},
	build.ReasonPodCreate: {"Build Pod Not Created", "",
		"Check that the namespace exists and that the provider's credentials may create pods, pods/attach and read pods/log there, " +
			"and that no quota or admission policy rejects the pod."},
	build.ReasonImagePull: {"Executor Image Not Pullable", "kaniko_image",
		"The cluster's nodes could not pull the Kaniko executor image. Point kaniko_image (on the resource or in the provider block) " +
			"at an image the nodes can pull, for example a copy in your own registry when the cluster has no internet access."},
	build.ReasonContainerSetup: {"Build Container Not Started", "",
		"The kubelet could not set up the executor container. Check the referenced secret, service account and resources."},
	build.ReasonUnschedulable: {"Build Pod Unschedulable", "",
		"No node can run the build pod. Lower resources.requests, adjust node_selector or tolerations, or add capacity."},
	build.ReasonContextUpload: {"Build Context Upload Failed", "",
		"The build context could not be streamed into the build pod. If the context changed between plan and apply, run plan again; " +
			"otherwise check that the provider's credentials may use pods/attach."},
	build.ReasonExecutorFailed: {"Image Build Failed", "",
		"Kaniko could not build or push the image. Fix the Dockerfile, the context or the registry access shown in the log below, then apply again."},
	build.ReasonPodFailed: {"Build Pod Failed", "",
		"The build pod stopped before Kaniko finished, for example because it was evicted. Apply again; if it recurs, raise resources.requests."},
	build.ReasonPodDeleted: {"Build Pod Deleted", "",
		"Something deleted the build pod while it ran. Apply again."},
	build.ReasonInvalidDigest: {"Image Digest Not Reported", "",
		"Kaniko exited successfully but did not report a digest. Check that extra_args does not override --digest-file."},
	build.ReasonTimeout: {"Image Build Timed Out", "",
		"Raise timeouts.create on the resource, or find the slow phase in the log below."},
	build.ReasonCanceled: {"Image Build Cancelled", "",
		"The build was interrupted; the build pod was removed. Apply again to build the image."},
	build.ReasonWatch: {"Build Pod Not Observable", "",
		"The provider lost track of the build pod. Check the connection to the API server and apply again."},
	build.ReasonNoCluster: {"Kubernetes Cluster Not Configured", "",
		"The provider could not connect to a Kubernetes cluster to run the build. Set config_path (or KUBE_CONFIG_PATH/KUBECONFIG) and optionally " +
			"config_context, or host with token or client certificates, in the provider \"onesbuild\" block. Builds with executor = \"direct\" need no cluster."},
	build.ReasonOOMKilled: {"Image Build Ran Out Of Memory", "resources",
		"Kaniko needs memory for what it unpacks, copies and snapshots, and the page cache of the files it writes counts against the limit. " +
			"Raise resources.limits.memory (and resources.requests.memory) on the resource, or make the context smaller: " +
			"list build outputs, caches and data the image does not need in .dockerignore."},
	build.ReasonContextRead: {"Build Context Not Readable", "",
		"The build context could not be archived. Check that the context directory exists and is readable by the user running Terraform."},
	build.ReasonNotEligible: {"Dockerfile Not Eligible For A Direct Build", "executor",
		"Use executor = \"kaniko\" (or \"auto\", which picks Kaniko for such Dockerfiles), or limit the Dockerfile to the instructions a direct build supports."},
	build.ReasonBaseImage: {"Base Image Not Available", "",
		"The base image named in FROM could not be read from its registry. Check the name and tag, and that the registry is reachable from this machine " +
			"(registry_hosts, insecure_registries and the registry credentials in the provider block)."},
	build.ReasonRegistryTransient: {"Registry Unavailable During The Build", "",
		"The registry failed for a moment while Kaniko downloaded the base or pushed (refused, reset, a 5xx, a timeout), and again when the build " +
			"was retried once. Check that the registry is up and reachable from the cluster, then apply again; push_retry and image_download_retry " +
			"in the provider block make Kaniko itself wait longer."},
	build.ReasonRegistry: {"Registry Request Failed", "",
		"A request to the registry failed while the image was assembled or pushed. Check that the registry is reachable from this machine " +
			"(registry_hosts in the provider block) and accepts pushes with the configured credentials, then apply again."},
}

// warningSummaries word each kind of build warning.
var warningSummaries = map[build.WarningKind]struct{ summary, advice string }{
	build.WarningCleanup:   {"Build Pod Not Cleaned Up", "Delete it with kubectl; it does not affect the image."},
	build.WarningRetention: {"Old Builds Not Pruned", "Make the registry reachable from this machine (registry_hosts in the provider block) and allow deletes (for the distribution registry: storage.delete.enabled); the next build tries again."},
}

// addBuildWarnings reports what went wrong without failing the build.
func addBuildWarnings(diags *diag.Diagnostics, res *build.Result) {
	if res == nil {
		return
	}
	for _, w := range res.Warnings {
		words, ok := warningSummaries[w.Kind]
		if !ok {
			words.summary = "Build Warning"
		}
		diags.AddWarning(words.summary, "The image was built, but "+w.Message+".\n\n"+words.advice)
	}
}

// addBuildError turns a build error into a diagnostic: a summary, what
// happened, what to do, the log tail, then the original error.
func addBuildError(diags *diag.Diagnostics, err error, timeout time.Duration) {
	var f *build.Failure
	if !errors.As(err, &f) {
		diags.AddError("Image Build Failed", "The build could not run.\n\nOriginal error: "+err.Error())
		return
	}
	advice, ok := buildAdvice[f.Reason]
	if !ok {
		advice.summary, advice.advice = "Image Build Failed", "Apply again; if it recurs, check the build pod's events."
	}
	var detail strings.Builder
	switch {
	case f.Reason == build.ReasonExecutorFailed:
		fmt.Fprintf(&detail, "Kaniko exited with code %d", f.ExitCode)
	case f.Reason == build.ReasonTimeout:
		fmt.Fprintf(&detail, "The build did not finish within its create timeout of %s", timeout)
	case f.Reason == build.ReasonOOMKilled && f.MemoryLimit != "":
		fmt.Fprintf(&detail, "Kaniko was killed for using more than its memory limit of %s (exit code %d)", f.MemoryLimit, f.ExitCode)
	case f.Reason == build.ReasonOOMKilled:
		fmt.Fprintf(&detail, "Kaniko was killed for running out of memory (exit code %d)", f.ExitCode)
	case f.Reason == build.ReasonNotEligible:
		detail.WriteString("The Dockerfile cannot be built without Kaniko: " + f.Message)
	case f.Reason == build.ReasonContextChanged || f.Reason == build.ReasonPredictionMissed:
		detail.WriteString("The apply would not build the image the plan showed")
	default:
		detail.WriteString("The build did not produce an image")
	}
	if f.Pod != "" {
		fmt.Fprintf(&detail, " (build pod %s, now deleted unless keep_build_pod is set)", f.Pod)
	}
	if f.Message != "" && f.Reason != build.ReasonExecutorFailed && f.Reason != build.ReasonNotEligible {
		detail.WriteString(": " + f.Message)
	}
	detail.WriteString(".\n\n" + advice.advice)
	if len(f.LogTail) > 0 {
		fmt.Fprintf(&detail, "\n\nLast %d lines of the Kaniko log:\n  %s", len(f.LogTail), strings.Join(f.LogTail, "\n  "))
	}
	detail.WriteString("\n\nOriginal error: " + err.Error())
	if advice.attr != "" {
		diags.AddAttributeError(path.Root(advice.attr), advice.summary, detail.String())
		return
	}
	diags.AddError(advice.summary, detail.String())
}

// addRegistryWarning reports a registry that could not be read. Reading
// is best effort: it must never block a plan.
func addRegistryWarning(diags *diag.Diagnostics, c *registry.Client, repository string, err error) {
	hint := "Check that the registry is up."
	if errors.Is(err, registry.ErrUnreachable) {
		hint = "If the registry is only reachable inside the cluster, map its name to an address this machine can reach with " +
			"registry_hosts in the provider block, for example registry_hosts = { \"registry.kube-system.svc.cluster.local:5000\" = \"localhost:5000\" }."
	}
	diags.AddWarning("Registry Not Readable",
		fmt.Sprintf("The provider could not check %s in the registry (contacted as %s), so drift (a deleted image or a moved tag) is not detected "+
			"and image_size_bytes is not updated.\n\n%s\n\nOriginal error: %v", repository, c.Address(repository), hint, err))
}
