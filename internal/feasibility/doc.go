// Package feasibility is the benchmark behind the feasibility report. It
// reruns the original study's flow (build the study's image, push it,
// pull and run it until it logs) and the scenarios that put it in
// context: Kaniko cold and warm, the direct executor, the floor of a bare
// layer append with go-containerregistry, terraform apply through the
// provider, a RUN workload with and without Kaniko's layer cache, and
// parallel builds across nodes.
//
// Run measures against a Target: the harness's kind cluster, whose nodes
// it may also reach with docker exec (cold runs clear the nodes' images,
// peaks are read from the executor's cgroup), or any cluster a kubeconfig
// reaches, through the Kubernetes API alone (peaks from the kubelet's
// summary API). Every pod it creates is deleted; pushed images too on
// request.
//
// The Report holds every sample and the environment. It summarises each
// metric as min, median and max over the successful runs, checks the
// project's goals, and renders as Markdown beside the study's figures, as
// JSON, and as an SVG chart of the median phases. Nothing in a report is
// fixed in advance except the study's own figures, which are labelled as
// such.
//
// Files by concern:
//
//   - bench.go: Run, its Options, and what every scenario shares
//   - target.go: the Target, its clients and the environment it records
//   - kaniko_scenarios.go: the Kaniko study runs, the RUN workload and
//     parallel builds
//   - cold.go: what makes a cold run cold (a fresh base name, nodes
//     cleared of images)
//   - direct_scenarios.go: the direct executor (plain, and with an SBOM,
//     provenance and signatures attached) and the floor
//   - platform_scenarios.go: the study's image for two platforms, with
//     either executor
//   - apply_scenarios.go: terraform apply through the provider
//   - monorepo_scenarios.go: a hundred services and more in one
//     configuration, planned and applied as a monorepo would
//   - peaks.go: the executor's CPU and memory peaks, from the cgroup or
//     the kubelet
//   - cgroup.go: the sampler run on a node and the parser of its output
//   - cleanup.go: deleting what a run pushed
//   - report.go: samples, metrics, the environment and the statistics
//   - goals.go: the project's targets, met or not
//   - markdown.go: the report as Markdown
//   - chart.go: the chart's bars and the SVG
package feasibility
