package feasibility

import (
	"fmt"
	"math"
	"strings"
)

// PhaseMetrics are the chart's segments inside a build total, in order.
var PhaseMetrics = []Metric{ExecutorStart, ContextUpload, BaseImagePull, Build, Push}

// segment is one part of a chart bar.
type segment struct {
	label string
	color string
	value float64
}

// Bars are the chart's bars: per study scenario, the median phases of
// the build, then "other" for the part of the build total no phase
// accounts for, then the run; so each bar adds up to the median build
// total plus the median run. Phases that overlap (the context upload
// runs while Kaniko starts) are cut so that the bar never exceeds the
// measured total. Then the study's own phases.
func (r Report) Bars() []struct {
	Label    string
	Segments []segment
	Total    float64
} {
	type bar = struct {
		Label    string
		Segments []segment
		Total    float64
	}
	colors := map[Metric]string{ExecutorStart: "#8da0cb", ContextUpload: "#a6d854", BaseImagePull: "#fc8d62", Build: "#66c2a5", Push: "#e78ac3", RunFirstLog: "#ffd92f"}
	var bars []bar
	for _, mode := range r.present(StudyScenarios) {
		total := r.Summarize(mode, BuildTotal).Median
		var segs []segment
		used := 0.0
		for _, m := range PhaseMetrics {
			v := r.Summarize(mode, m).Median
			if v <= 0 {
				continue
			}
			v = math.Min(v, total-used)
			if v <= 0 {
				continue
			}
			segs = append(segs, segment{metricLabels[m], colors[m], v})
			used += v
		}
		if other := total - used; other > 0.0005 {
			segs = append(segs, segment{"Other (time no phase accounts for)", "#b3b3b3", other})
		}
		run := r.Summarize(mode, RunFirstLog).Median
		if run > 0 {
			segs = append(segs, segment{metricLabels[RunFirstLog], colors[RunFirstLog], run})
		}
		bars = append(bars, bar{Label: mode, Segments: segs, Total: total + run})
	}
	bars = append(bars, bar{Label: "study", Total: Study[BuildTotal], Segments: []segment{
		{metricLabels[BaseImagePull], colors[BaseImagePull], Study[BaseImagePull]},
		{metricLabels[Build], colors[Build], Study[Build]},
		{metricLabels[Push], colors[Push], Study[Push]},
	}})
	return bars
}

// SVG draws the bars.
func (r Report) SVG() string {
	bars := r.Bars()
	maxTotal := 1.0
	for _, br := range bars {
		maxTotal = math.Max(maxTotal, br.Total)
	}
	const left, width, rowH, top = 150.0, 540.0, 34.0, 40.0
	height := top + rowH*float64(len(bars)) + 100
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="780" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", height)
	b.WriteString(`<text x="10" y="22" font-size="15">The study's flow, seconds: median build phases, other time, and the run</text>` + "\n")
	legend := map[string]string{}
	var order []string
	for i, br := range bars {
		y := top + rowH*float64(i)
		fmt.Fprintf(&b, `<text x="10" y="%.0f">%s</text>`+"\n", y+17, escape(br.Label))
		x := left
		for _, s := range br.Segments {
			w := s.value / maxTotal * width
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.0f" width="%.1f" height="24" fill="%s"><title>%s: %.2fs</title></rect>`+"\n", x, y, w, s.color, escape(s.label), s.value)
			x += w
			if _, ok := legend[s.label]; !ok {
				legend[s.label] = s.color
				order = append(order, s.label)
			}
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f">%.2fs</text>`+"\n", x+6, y+17, br.Total)
	}
	ly := top + rowH*float64(len(bars)) + 20
	for i, l := range order {
		x := 10 + float64(i%2)*380
		y := ly + float64(i/2)*18
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n", x, y, legend[l], x+16, y+10, escape(l))
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
