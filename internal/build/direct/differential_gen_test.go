package direct_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
)

// The generated differential test: a seeded generator of Dockerfiles and
// contexts that a direct build performs, each built with both executors
// and compared, because a table only checks what its authors thought of.
// ONESBUILD_DIFF_CASES (default 25) and ONESBUILD_DIFF_SEED (default: a
// new one, printed) choose the run; make differential N=... SEED=...
// sets them.

func diffSettings(t *testing.T) (cases int, seed uint64) {
	cases, seed = 25, rand.Uint64()
	if v := os.Getenv("ONESBUILD_DIFF_CASES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("ONESBUILD_DIFF_CASES=%q is not a positive number", v)
		}
		cases = n
	}
	if v := os.Getenv("ONESBUILD_DIFF_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("ONESBUILD_DIFF_SEED=%q is not a number", v)
		}
		seed = s
	}
	return cases, seed
}

// TestAccDirect_generatedMatchKaniko builds generated cases both ways.
// A case the direct executor declines (not eligible) is counted, not
// compared; one that Kaniko builds and the direct executor fails on with
// another error is a divergence, as is any difference in files or
// configuration.
func TestAccDirect_generatedMatchKaniko(t *testing.T) {
	a := newAccEnv(t)
	cases, seed := diffSettings(t)
	t.Logf("seed %d, %d cases (ONESBUILD_DIFF_SEED=%d reproduces them)", seed, cases, seed)
	declined, leaks, truncations := 0, 0, 0
	for i := range cases {
		c := generateCase(rand.New(rand.NewPCG(seed, uint64(i))), a.env.BaseImage)
		c.name = fmt.Sprintf("case %d of seed %d", i, seed)
		ok := t.Run(fmt.Sprint(i), func(t *testing.T) {
			out := a.buildBoth(t, c, fmt.Sprintf("generated-%d-%d", seed%100000, i))
			var f *build.Failure
			switch {
			case errors.As(out.directErr, &f) && (f.Reason == build.ReasonNotEligible || f.Reason == build.ReasonPlatform):
				declined++
				t.Logf("direct declined: %v", out.directErr)
			case out.kanikoErr != nil && out.directErr != nil:
				t.Logf("both failed: kaniko %v; direct %v", out.kanikoErr, out.directErr)
			case out.kanikoErr != nil:
				t.Errorf("Kaniko failed and the direct build did not: %v\n%s", out.kanikoErr, strings.Join(out.kaniko.LogTail, "\n"))
			case out.directErr != nil:
				t.Errorf("the direct build failed and Kaniko did not: %v", out.directErr)
			}
			if len(out.truncated) > 0 {
				truncations++
				t.Logf("Kaniko's image lacks %v beside the symlink loops %v, a Kaniko defect when a COPY copies a link through a link", out.truncated, out.loops)
			}
			if len(out.leaked) > 0 {
				leaks++
				t.Logf("Kaniko's image holds %d paths of its own container (%s, ...), a Kaniko defect when a COPY copies nothing", len(out.leaked), out.leaked[0])
			}
			for _, d := range out.diffs {
				t.Errorf("differs at %s\n    kaniko: %s\n    direct: %s", d.What, d.A, d.B)
			}
		})
		if !ok {
			t.Logf("case %d failed; reproduce with ONESBUILD_DIFF_SEED=%d ONESBUILD_DIFF_CASES=%d\nDockerfile:\n%s\nfiles: %v\nmodes: %v\nlinks: %v\nargs: %v",
				i, seed, i+1, c.dockerfile, sortedKeys(c.files), c.modes, c.links, c.buildArgs)
		}
	}
	t.Logf("%d cases: %d declined by the direct executor, %d with Kaniko's own files in Kaniko's image, %d with Kaniko's layer cut at a symlink loop",
		cases, declined, leaks, truncations)
	if declined > cases/2 {
		t.Errorf("the direct executor declined %d of %d generated cases: the generator should make eligible ones", declined, cases)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// generator state for one case.
type gen struct {
	r     *rand.Rand
	files map[string]string
	modes map[string]os.FileMode
	links map[string]string
	dirs  []string
}

var (
	genNames = []string{"app", "conf", "static", "lib", "bin", "data", "a", "b", "x.y", "with-dash", "UPPER", "deep"}
	genExts  = []string{"", ".txt", ".yaml", ".json", ".log", ".so", ".tmp", ".sh"}
	genModes = []os.FileMode{0o644, 0o755, 0o600, 0o700, 0o640, 0o444}
	// genDests are destinations, some under the base's merged-usr links
	// (/bin -> usr/bin and the like in Debian bookworm).
	genDests = []string{"/app/", "/opt/app/", "/srv", "/usr/local/bin/", "/bin/", "/lib/app/", "/etc/app/", "dest/", ".", "./rel/", "/tmp/x"}
)

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

// tree makes a context of a few directories and files.
func (g *gen) tree() {
	g.dirs = []string{""}
	for range 1 + g.r.IntN(4) {
		parent := g.pick(g.dirs)
		d := path.Join(parent, g.pick(genNames))
		if strings.Count(d, "/") < 3 && !g.exists(d) {
			g.dirs = append(g.dirs, d)
		}
	}
	for range 2 + g.r.IntN(8) {
		p := path.Join(g.pick(g.dirs), g.pick(genNames)+g.pick(genExts))
		if g.exists(p) || g.isDir(p) {
			continue
		}
		g.files[p] = fmt.Sprintf("content %d of %s\n", g.r.IntN(1000), p)
		if g.r.IntN(3) == 0 {
			g.modes[p] = genModes[g.r.IntN(len(genModes))]
		}
	}
	for _, d := range g.dirs[1:] {
		if g.r.IntN(4) == 0 {
			g.modes[d] = []os.FileMode{0o755, 0o750, 0o700}[g.r.IntN(3)]
		}
	}
	if g.r.IntN(2) == 0 && len(g.files) > 0 {
		target := g.pick(sortedKeys(g.files))
		link := path.Join(path.Dir(target), "link-"+strconv.Itoa(g.r.IntN(100)))
		if !g.exists(link) {
			g.links[link] = path.Base(target)
		}
	}
}

func (g *gen) exists(p string) bool {
	_, f := g.files[p]
	_, l := g.links[p]
	return f || l
}

func (g *gen) isDir(p string) bool {
	for _, d := range g.dirs {
		if d == p || strings.HasPrefix(d, p+"/") {
			return true
		}
	}
	return false
}

// dockerignore writes patterns: some exclusions, ** and negations.
func (g *gen) dockerignore() {
	if g.r.IntN(3) == 0 {
		return
	}
	var lines []string
	for range 1 + g.r.IntN(3) {
		switch g.r.IntN(7) {
		case 0:
			lines = append(lines, "*.log")
		case 1:
			lines = append(lines, "**/*.tmp")
		case 2:
			if len(g.dirs) > 1 {
				lines = append(lines, g.pick(g.dirs[1:])+"/")
			}
		case 3:
			if len(g.files) > 0 {
				lines = append(lines, g.pick(sortedKeys(g.files)))
			}
		case 4:
			lines = append(lines, "*.log", "!keep.log")
			g.files["keep.log"] = "kept\n"
		case 5:
			if len(g.dirs) > 1 {
				d := g.pick(g.dirs[1:])
				lines = append(lines, d+"/**", "!"+d+"/*.yaml")
			}
		case 6:
			lines = append(lines, "Dockerfile", ".dockerignore")
		}
	}
	g.files[".dockerignore"] = strings.Join(lines, "\n") + "\n"
}

// source picks a COPY source: a file, a directory (with or without a
// trailing slash), a glob, the whole context, sometimes absolute.
func (g *gen) source() string {
	var s string
	switch g.r.IntN(6) {
	case 0, 1:
		if len(g.files) > 0 {
			s = g.pick(sortedKeys(g.files))
		}
	case 2:
		if len(g.dirs) > 1 {
			s = g.pick(g.dirs[1:])
			if g.r.IntN(2) == 0 {
				s += "/"
			}
		}
	case 3:
		if len(g.dirs) > 1 {
			s = g.pick(g.dirs[1:]) + "/*"
		} else {
			s = "*" + g.pick(genExts[1:])
		}
	case 4:
		s = "."
	}
	if s == "" {
		s = "."
	}
	if g.r.IntN(5) == 0 && s != "." {
		s = "/" + s
	}
	return s
}

// generateCase makes one Dockerfile and its context.
func generateCase(r *rand.Rand, base string) differentialCase {
	g := &gen{r: r, files: map[string]string{}, modes: map[string]os.FileMode{}, links: map[string]string{}}
	g.tree()
	g.dockerignore()
	var df strings.Builder
	args := map[string]string{}
	df.WriteString("ARG BASE=" + base + "\nFROM ${BASE}\n")
	if g.r.IntN(2) == 0 {
		df.WriteString("ARG DEST=/opt/from-arg\n")
		if g.r.IntN(2) == 0 {
			args["DEST"] = "/opt/given"
		}
	}
	if g.r.IntN(2) == 0 {
		df.WriteString("ENV ONE=1 TWO=two\nENV PATH=/opt/bin:$PATH THREE=$ONE-$TWO\n")
	}
	workdir := g.r.IntN(2) == 0
	if workdir {
		df.WriteString("WORKDIR " + g.pick([]string{"/work", "rel", "/usr/local/app", "sub/dir"}) + "\n")
	}
	if g.r.IntN(3) == 0 {
		df.WriteString("USER " + g.pick([]string{"1000", "1000:1000", "0", "65534:65534"}) + "\n")
	}
	for range 1 + g.r.IntN(4) {
		var flags []string
		if g.r.IntN(3) == 0 {
			flags = append(flags, "--chown="+g.pick([]string{"1000", "1000:2000", "0:0", "42"}))
		}
		if g.r.IntN(3) == 0 {
			flags = append(flags, "--chmod="+g.pick([]string{"0644", "755", "0600", "4755", "0700"}))
		}
		srcs := []string{g.source()}
		if g.r.IntN(4) == 0 {
			srcs = append(srcs, g.source())
		}
		dest := g.pick(genDests)
		if dest == "." && !workdir {
			// Kaniko copies its own files (/busybox, /workspace, ...) into an
			// image when a directory is copied to "/": a defect of Kaniko's
			// that a direct build does not reproduce (README, "Same meaning").
			dest = "./rel/"
		}
		if strings.Contains(df.String(), "ARG DEST") && g.r.IntN(3) == 0 {
			dest = "${DEST}/"
		}
		if len(srcs) > 1 || strings.ContainsAny(srcs[0], "*") {
			if !strings.HasSuffix(dest, "/") && dest != "." {
				dest += "/"
			}
		}
		fmt.Fprintf(&df, "COPY %s %s %s\n", strings.Join(flags, " "), strings.Join(srcs, " "), dest)
	}
	if g.r.IntN(2) == 0 {
		df.WriteString("LABEL generated=yes\nEXPOSE 8081\nENTRYPOINT [\"/app/main\"]\n")
	}
	g.files["Dockerfile"] = df.String()
	return differentialCase{dockerfile: df.String(), files: withoutDockerfile(g.files), modes: g.modes, links: g.links, buildArgs: args}
}

// withoutDockerfile: writeCase writes the Dockerfile itself.
func withoutDockerfile(files map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		if k != "Dockerfile" {
			out[k] = v
		}
	}
	return out
}

// TestGenerateCase: the generator is deterministic for a seed and makes
// Dockerfiles a direct build performs (checked without a cluster).
func TestGenerateCase(t *testing.T) {
	base := "registry.kube-system.svc.cluster.local:5000/ones/plugin-host-node:v6.33.1"
	eligible := 0
	for i := range 200 {
		a := generateCase(rand.New(rand.NewPCG(7, uint64(i))), base)
		b := generateCase(rand.New(rand.NewPCG(7, uint64(i))), base)
		if a.dockerfile != b.dockerfile || fmt.Sprint(a.files) != fmt.Sprint(b.files) || fmt.Sprint(a.links) != fmt.Sprint(b.links) {
			t.Fatalf("case %d differs between two runs of one seed", i)
		}
		if _, err := direct.Analyze([]byte(a.dockerfile), a.buildArgs, ""); err == nil {
			eligible++
		} else {
			t.Logf("case %d: %v", i, err)
		}
	}
	if eligible < 190 {
		t.Errorf("%d of 200 generated Dockerfiles are eligible", eligible)
	}
}
