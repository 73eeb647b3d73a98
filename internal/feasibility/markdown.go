package feasibility

import (
	"fmt"
	"sort"
	"strings"
)

// Markdown renders the report.
func (r Report) Markdown() string {
	var b strings.Builder
	env := r.Environment
	b.WriteString("# Feasibility report\n\n")
	where := "any cluster (kubeconfig)"
	if env.Harness {
		where = "the harness's kind cluster"
	}
	fmt.Fprintf(&b, "Measured %s from %s (%d CPUs%s) against %s: Kubernetes %s, %d node(s).\n\n",
		env.Date.UTC().Format("2006-01-02 15:04 MST"), env.Host, env.CPUs, prefixed(", ", env.CPUModel), where, orDash(env.Versions["kubernetes"]), env.Nodes)
	if len(env.NodeList) > 0 {
		b.WriteString("| Node | CPU | Memory | Arch | Runtime |\n|---|---|---|---|---|\n")
		for _, n := range env.NodeList {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", n.Name, n.CPU, n.Memory, n.Arch, n.Runtime)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "- Registry `%s`, round trip from a pod: %s.\n", env.Registry, orText(env.RegistryRTT, "not measured"))
	fmt.Fprintf(&b, "- Base image `%s`: %.1f MB compressed (the study's image: about 36 MB).\n", env.BaseImage, float64(env.BaseImageBytes)/1e6)
	fmt.Fprintf(&b, "- Executor image `%s`.\n", env.ExecutorImage)
	var versions []string
	for k, v := range env.Versions {
		versions = append(versions, k+" "+v)
	}
	sort.Strings(versions)
	fmt.Fprintf(&b, "- Versions: %s.\n", strings.Join(versions, ", "))
	fmt.Fprintf(&b, "- Peak CPU and memory: %s.\n\n", orText(env.Sampling, "not measured"))

	b.WriteString("## The study's flow\n\nMedian (min to max) of each scenario; every run changes the application binary, as a code change would.\n\n")
	modes := r.present(StudyScenarios)
	fmt.Fprintf(&b, "| Metric | Study |")
	for _, m := range modes {
		fmt.Fprintf(&b, " %s |", m)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(modes)) + "\n")
	for _, m := range StudyMetrics {
		study := "-"
		if v, ok := Study[m]; ok {
			study = "~" + format(m, v)
		}
		fmt.Fprintf(&b, "| %s | %s |", metricLabels[m], study)
		for _, mode := range modes {
			b.WriteString(" " + cell(m, r.Summarize(mode, m)) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	r.writeCounts(&b, modes)

	b.WriteString("\n## Targets\n\n| Target | Goal | Measured | Met |\n|---|---|---|---|\n")
	for _, t := range r.Goals() {
		met := "-"
		if t.Met != nil {
			met = map[bool]string{true: "yes", false: "**no**"}[*t.Met]
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Goal, t.Measured, met)
	}

	if platforms := r.present(PlatformScenarios); len(platforms) > 2 {
		b.WriteString("\n## One platform and two\n\nThe study's image for its one platform and for linux/amd64 and linux/arm64 (an image index; each platform's own binary from `COPY bin/${TARGETARCH}/main`), side by side.\n\n")
		b.WriteString("| Scenario | Build total | Architecture check | Push | Image size |\n|---|---|---|---|---|\n")
		for _, s := range platforms {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s, cell(BuildTotal, r.Summarize(s, BuildTotal)), cell(ArchitectureCheck, r.Summarize(s, ArchitectureCheck)),
				cell(Push, r.Summarize(s, Push)), cell(ImageSize, r.Summarize(s, ImageSize)))
		}
		r.writeCounts(&b, platforms)
	}

	if applies := r.present([]string{ApplyKaniko, ApplyDirect, ApplyDirectTen}); len(applies) > 0 {
		b.WriteString("\n## terraform apply\n\nWall time of `terraform apply` after a change to the binary (ten changed binaries for x10), with the provider installed through dev_overrides.\n\n| Scenario | terraform apply | Build total |\n|---|---|---|\n")
		for _, m := range applies {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", m, cell(Apply, r.Summarize(m, Apply)), cell(BuildTotal, r.Summarize(m, BuildTotal)))
		}
		r.writeCounts(&b, applies)
	}

	if steps := r.present(MonorepoSteps); len(steps) > 0 && r.Monorepo != nil {
		m := r.Monorepo
		fmt.Fprintf(&b, "\n## A monorepo in one configuration\n\n%d direct and %d Kaniko services of one base, one `count` each, in one configuration "+
			"(max_concurrent_builds = %d): wall time of each `terraform` command, and how busy this machine's CPUs were meanwhile", m.Direct, m.Kaniko, m.MaxConcurrent)
		if env.Harness {
			b.WriteString(" (the harness's nodes run on this machine)")
		}
		b.WriteString(".\n\n| Step | Wall time | CPU busy |\n|---|---|---|\n")
		for _, s := range steps {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", s, cell(Apply, r.Summarize(s, Apply)), cell(CPUBusy, r.Summarize(s, CPUBusy)))
		}
		r.writeCounts(&b, steps)
	}

	if work := r.present([]string{WorkloadCold, WorkloadCached, WorkloadLate}); len(work) > 0 {
		b.WriteString("\n## Kaniko on work only Kaniko can do\n\nA Dockerfile with RUN steps (generating and archiving files with the base image's own tools), built without Kaniko's layer cache, then with `cache { enabled = true }` on an unchanged input and after a change to a late layer.\n\n")
		b.WriteString("| Scenario | Build total | Build phase | Executor peak memory |\n|---|---|---|---|\n")
		for _, m := range work {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", m, cell(BuildTotal, r.Summarize(m, BuildTotal)), cell(Build, r.Summarize(m, Build)), cell(PeakMemory, r.Summarize(m, PeakMemory)))
		}
		r.writeCounts(&b, work)
	}

	if par := r.present([]string{ParallelKaniko}); len(par) > 0 {
		b.WriteString("\n## Builds across nodes\n\nKaniko builds started at the same time, and where the scheduler put them.\n\n| Run | Node | Build total |\n|---|---|---|\n")
		perNode := map[string]int{}
		for _, s := range r.Samples {
			if s.Mode == ParallelKaniko {
				fmt.Fprintf(&b, "| %d | %s | %s |\n", s.Run, orDash(s.Node), format(BuildTotal, s.Values[BuildTotal]))
				perNode[s.Node]++
			}
		}
		var spread []string
		for n, c := range perNode {
			spread = append(spread, fmt.Sprintf("%s: %d", orDash(n), c))
		}
		sort.Strings(spread)
		fmt.Fprintf(&b, "\nBuilds per node: %s.\n", strings.Join(spread, ", "))
	}
	nodesOf := map[string]map[string]bool{}
	for _, s := range r.Samples {
		if s.Node != "" && s.Mode != ParallelKaniko {
			if nodesOf[s.Mode] == nil {
				nodesOf[s.Mode] = map[string]bool{}
			}
			nodesOf[s.Mode][s.Node] = true
		}
	}
	if len(nodesOf) > 0 && env.Nodes > 1 {
		b.WriteString("\nNodes that ran Kaniko builds: ")
		var parts []string
		for _, m := range r.Modes() {
			if ns := nodesOf[m]; ns != nil {
				var names []string
				for n := range ns {
					names = append(names, n)
				}
				sort.Strings(names)
				parts = append(parts, m+": "+strings.Join(names, ", "))
			}
		}
		b.WriteString(strings.Join(parts, "; ") + ".\n")
	}

	if len(env.ExecutorResources) > 0 {
		b.WriteString("\n## Default executor resources\n\n| Resource | Default request | Default limit | Measured peak (all runs) |\n|---|---|---|---|\n")
		for _, row := range []struct {
			name, key string
			metric    Metric
		}{{"CPU", "cpu", PeakCPU}, {"Memory", "memory", PeakMemory}} {
			peak := "not measured"
			if v, ok := r.highest(row.metric); ok {
				peak = format(row.metric, v)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", row.name, orText(env.ExecutorResources["requests."+row.key], "none"), orText(env.ExecutorResources["limits."+row.key], "none"), peak)
		}
	}
	if len(r.Skipped) > 0 {
		b.WriteString("\n## Not measured\n\n")
		var names []string
		for n := range r.Skipped {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "- %s: %s\n", n, r.Skipped[n])
		}
	}
	if len(env.Notes) > 0 {
		b.WriteString("\n## Definitions\n\n")
		for _, n := range env.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if len(r.Repositories) > 0 {
		fmt.Fprintf(&b, "\nImages pushed by this run: %s.\n", "`"+strings.Join(r.Repositories, "`, `")+"`")
	}
	return b.String()
}

func (r Report) writeCounts(b *strings.Builder, modes []string) {
	var parts []string
	for _, mode := range modes {
		ok, failed := 0, 0
		var firstErr string
		for _, s := range r.Samples {
			if s.Mode == mode {
				if s.Error == "" {
					ok++
				} else {
					failed++
					if firstErr == "" {
						firstErr = s.Error
					}
				}
			}
		}
		p := fmt.Sprintf("%s: %d run(s)", mode, ok)
		if failed > 0 {
			p += fmt.Sprintf(", %d failed (first: %s)", failed, firstErr)
		}
		parts = append(parts, p)
	}
	fmt.Fprintf(b, "\nRuns: %s.\n", strings.Join(parts, "; "))
}

// format renders a value of metric m for people.
func format(m Metric, v float64) string {
	switch m {
	case PeakCPU:
		return fmt.Sprintf("%.0fm", v)
	case PeakMemory:
		return fmt.Sprintf("%.0fMi", v/(1024*1024))
	case ImageSize:
		return fmt.Sprintf("%.1f MB", v/1e6)
	case ArchitectureCheck:
		return fmt.Sprintf("%.1f ms", v*1000)
	case CPUBusy:
		return fmt.Sprintf("%.0f%%", v*100)
	}
	return fmt.Sprintf("%.2fs", v)
}

func cell(m Metric, st Stat) string {
	switch {
	case st.N == 0:
		return "-"
	case st.N == 1 || st.Min == st.Max:
		return format(m, st.Median)
	}
	return fmt.Sprintf("%s (%s to %s)", format(m, st.Median), format(m, st.Min), format(m, st.Max))
}

func orDash(s string) string { return orText(s, "-") }

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
