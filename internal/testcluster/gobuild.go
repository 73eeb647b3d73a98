package testcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
)

// goBinary is one program of a Go component.
type goBinary struct {
	Package string // import path of the main package
	Name    string // file name of the binary
}

// goComponent is a set of programs built from one Go module at one
// version, through a generated wrapper module. The wrapper copies the
// module's replace directives; local ones are dropped, or, when
// LocalReplaceVersion is set (Kubernetes' staging modules), pointed at
// that version.
type goComponent struct {
	Name     string
	Module   string
	Version  string
	Binaries []goBinary
	// LocalReplaceVersion replaces "=> ./path" directives of the module.
	LocalReplaceVersion string
	LDFlags             string
	CGO                 bool
	// Env is added to the environment of every go command.
	Env []string
}

// Dir is where the component's binaries are cached.
func (g goComponent) Dir(c Cache) string { return c.Path("bin", g.Name+"-"+g.Version) }

// Binary returns the cached path of one of the component's binaries.
func (g goComponent) Binary(c Cache, name string) string { return filepath.Join(g.Dir(c), name) }

func (g goComponent) recipe() string {
	var pkgs []string
	for _, b := range g.Binaries {
		pkgs = append(pkgs, b.Package+"="+b.Name)
	}
	fields := []string{"go-component/v1", g.Module, g.Version, strings.Join(pkgs, ","), g.LocalReplaceVersion, g.LDFlags, fmt.Sprint(g.CGO)}
	if len(g.Env) > 0 {
		fields = append(fields, strings.Join(g.Env, " "))
	}
	return strings.Join(fields, "\n")
}

// built says whether the cache holds the component, as its recipe says.
func (g goComponent) built(c Cache) bool {
	var names []string
	for _, b := range g.Binaries {
		names = append(names, b.Name)
	}
	return fresh(g.Dir(c), g.recipe(), names...)
}

// Ensure builds the component unless the cache already holds it. Calls
// for one component wait for each other, in this process and in others
// sharing the cache, so it is built once.
func (g goComponent) Ensure(ctx context.Context, c Cache, p *Progress) error {
	dir := g.Dir(c)
	var names []string
	for _, b := range g.Binaries {
		names = append(names, b.Name)
	}
	if fresh(dir, g.recipe(), names...) {
		return nil
	}
	unlock, err := lockEntry(dir)
	if err != nil {
		return err
	}
	defer unlock()
	if fresh(dir, g.recipe(), names...) {
		p.Printf("%s %s: built meanwhile by another step", g.Name, g.Version)
		return nil
	}
	return p.Step(fmt.Sprintf("build %s %s from the Go module proxy (%s)", g.Name, g.Version, strings.Join(names, ", ")), func() error {
		return g.build(ctx, c, p)
	})
}

func (g goComponent) build(ctx context.Context, c Cache, p *Progress) error {
	src := c.Path("src", g.Name+"-"+g.Version)
	log := c.LogPath("build-" + g.Name + "-" + g.Version)
	_ = os.Remove(log)
	if err := os.RemoveAll(src); err != nil {
		return err
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	gomod, err := g.wrapperGoMod(ctx, src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), gomod, 0o644); err != nil {
		return err
	}
	var imports strings.Builder
	for _, b := range g.Binaries {
		fmt.Fprintf(&imports, "\t_ %q\n", b.Package)
	}
	tools := fmt.Sprintf("//go:build tools\n\n// Package tools pins the programs this wrapper module builds.\npackage tools\n\nimport (\n%s)\n", imports.String())
	if err := os.WriteFile(filepath.Join(src, "tools.go"), []byte(tools), 0o644); err != nil {
		return err
	}
	env := append([]string{"GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0"}, g.Env...)
	if g.CGO {
		env[2] = "CGO_ENABLED=1"
	}
	tidy := cmd("go", "mod", "tidy")
	tidy.dir, tidy.env = src, env
	if err := runLogged(ctx, log, tidy); err != nil {
		return err
	}
	out := g.Dir(c)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(out, recipeStamp))
	stop := p.every(ctx, 30*time.Second, func(elapsed time.Duration) {
		p.Printf("  still building %s %s: %s, %d packages compiled", g.Name, g.Version, elapsed.Round(time.Second), countPackages(log))
	})
	defer stop()
	for _, args := range g.buildCommands(out) {
		build := cmd("go", args...)
		build.dir, build.env = src, env
		if err := runLogged(ctx, log, build); err != nil {
			return err
		}
	}
	return markFresh(out, g.recipe())
}

// buildCommands are the go build invocations: one for every binary
// named after its package (go build -o DIR/ builds them all at once,
// compiling shared packages once and linking in parallel), one each for
// the others. -v lists each package as it is compiled, for progress.
func (g goComponent) buildCommands(out string) [][]string {
	flags := []string{"build", "-v", "-trimpath", "-ldflags", strings.TrimSpace("-s -w " + g.LDFlags)}
	var together []string
	var cmds [][]string
	for _, b := range g.Binaries {
		if path.Base(b.Package) == b.Name {
			together = append(together, b.Package)
			continue
		}
		cmds = append(cmds, append(append([]string(nil), flags...), "-o", filepath.Join(out, b.Name), b.Package))
	}
	if len(together) == 1 {
		cmds = append([][]string{append(append([]string(nil), flags...), "-o", filepath.Join(out, path.Base(together[0])), together[0])}, cmds...)
	} else if len(together) > 1 {
		cmds = append([][]string{append(append(append([]string(nil), flags...), "-o", out+string(filepath.Separator)), together...)}, cmds...)
	}
	return cmds
}

// countPackages counts the package lines go build -v wrote to a log.
func countPackages(log string) int {
	data, err := os.ReadFile(log)
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "$") && !strings.HasPrefix(line, "go: ") && !strings.Contains(line, " ") {
			n++
		}
	}
	return n
}

// wrapperGoMod writes a go.mod requiring the module and carrying over its
// replace directives.
func (g goComponent) wrapperGoMod(ctx context.Context, dir string) ([]byte, error) {
	dl := cmd("go", "mod", "download", "-json", g.Module+"@"+g.Version)
	dl.dir, dl.env = dir, append([]string{"GOWORK=off", "GOFLAGS=-mod=mod"}, g.Env...)
	raw, err := output(ctx, dl)
	if err != nil {
		return nil, fmt.Errorf("downloading %s@%s: %w", g.Module, g.Version, err)
	}
	var info struct{ GoMod, Error string }
	if err := json.Unmarshal([]byte(raw), &info); err != nil {
		return nil, fmt.Errorf("reading go mod download output: %w", err)
	}
	if info.Error != "" {
		return nil, fmt.Errorf("downloading %s@%s: %s", g.Module, g.Version, info.Error)
	}
	upstream, err := os.ReadFile(info.GoMod)
	if err != nil {
		return nil, err
	}
	return wrapperGoMod(g.Name, g.Module, g.Version, g.LocalReplaceVersion, upstream)
}

// wrapperGoMod is the pure part of wrapper generation.
func wrapperGoMod(name, module, version, localReplaceVersion string, upstream []byte) ([]byte, error) {
	up, err := modfile.Parse("go.mod", upstream, nil)
	if err != nil {
		return nil, fmt.Errorf("parsing go.mod of %s: %w", module, err)
	}
	f := &modfile.File{}
	if err := f.AddModuleStmt("onesbuild.local/build/" + name); err != nil {
		return nil, err
	}
	goVersion := "1.26.0"
	if up.Go != nil && versionLess(goVersion, up.Go.Version) {
		goVersion = up.Go.Version
	}
	if err := f.AddGoStmt(goVersion); err != nil {
		return nil, err
	}
	if err := f.AddRequire(module, version); err != nil {
		return nil, err
	}
	replaces := append([]*modfile.Replace(nil), up.Replace...)
	sort.Slice(replaces, func(i, j int) bool { return replaces[i].Old.Path < replaces[j].Old.Path })
	for _, r := range replaces {
		newPath, newVersion := r.New.Path, r.New.Version
		if modfile.IsDirectoryPath(newPath) {
			// Local replacements point into the module's own repository.
			// Modules that publish those siblings (etcd) require real
			// versions, so the replacement is dropped; Kubernetes requires
			// v0.0.0 of its staging modules, so they get a real version.
			if localReplaceVersion == "" {
				continue
			}
			newPath, newVersion = r.Old.Path, localReplaceVersion
		}
		if err := f.AddReplace(r.Old.Path, r.Old.Version, newPath, newVersion); err != nil {
			return nil, err
		}
	}
	f.Cleanup()
	return f.Format()
}

// versionLess compares Go versions such as 1.26.0 and 1.25.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < 3; i++ {
		var x, y int
		if i < len(pa) {
			fmt.Sscan(pa[i], &x)
		}
		if i < len(pb) {
			fmt.Sscan(pb[i], &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}
