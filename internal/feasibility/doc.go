// Package feasibility turns the samples of a benchmark run (the study's
// build, push, pull and run flow repeated cold and warm) into the report:
// a Markdown table of min, median and max per phase beside the study's
// figures, a JSON file with every sample and the environment, and an SVG
// chart. Nothing in a report is fixed in advance except the study's own
// figures, which are labelled as such.
package feasibility
