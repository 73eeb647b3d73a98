package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// registryImage is an image the cluster pulls from the local registry.
type registryImage struct {
	// Path is the repository path and tag in the local registry, which
	// is also the path under a mirror prefix.
	Path string
	// Public is where the image is published, if anywhere.
	Public string
	// Recipe describes what Build makes; an image the harness built from
	// an older recipe is rebuilt.
	Recipe string
	// Build produces the image from source.
	Build func(ctx context.Context, h *Harness) (v1.Image, error)
	// BuildPlatforms, instead of Build, produces a multi-platform image:
	// one image per platform, pushed as an OCI index.
	BuildPlatforms func(ctx context.Context, h *Harness) ([]platformImage, error)
	// Needs are the Go components Build compiles, and NeedsRootfs says
	// it uses the node's root file system: what a cold start can prepare
	// in the background.
	Needs       []goComponent
	NeedsRootfs bool
}

// registryImages lists everything the cluster, the tests and the
// benchmark pull. Control-plane names follow "kubeadm config images list"
// for KubernetesVersion, because the node mirrors registry.k8s.io to the
// local registry.
func registryImages() []registryImage {
	images := []registryImage{}
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		binary := c
		images = append(images, registryImage{
			Path: c + ":" + KubernetesVersion, Public: "registry.k8s.io/" + c + ":" + KubernetesVersion,
			Recipe: kubernetesComponent.recipe(), Needs: []goComponent{kubernetesComponent},
			Build: staticBinaryImage(kubernetesComponent, binary, "/usr/local/bin/"+binary),
		})
	}
	images = append(images,
		registryImage{
			Path: "kube-proxy:" + KubernetesVersion, Public: "registry.k8s.io/kube-proxy:" + KubernetesVersion,
			Recipe: kubernetesComponent.recipe() + nodeRootfsRecipe(), Needs: []goComponent{kubernetesComponent}, NeedsRootfs: true,
			Build: func(ctx context.Context, h *Harness) (v1.Image, error) {
				if err := kubernetesComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
					return nil, err
				}
				base, err := h.nodeRootfsLayer(ctx)
				if err != nil {
					return nil, err
				}
				bin, err := layer([]fileEntry{{Path: "/usr/local/bin/kube-proxy", HostPath: kubernetesComponent.Binary(h.Cache, "kube-proxy"), Mode: 0o755}})
				if err != nil {
					return nil, err
				}
				return assemble(nil, []v1.Layer{base, bin}, imageConfig{Entrypoint: []string{"/usr/local/bin/kube-proxy"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}})
			},
		},
		registryImage{
			Path: "etcd:" + EtcdImageTag, Public: "registry.k8s.io/etcd:" + EtcdImageTag,
			Recipe: etcdComponent.recipe(), Needs: []goComponent{etcdComponent},
			Build: staticBinaryImage(etcdComponent, "etcd", "/usr/local/bin/etcd"),
		},
		registryImage{
			Path: "coredns/coredns:" + CoreDNSVersion, Public: "registry.k8s.io/coredns/coredns:" + CoreDNSVersion,
			Recipe: corednsComponent.recipe(), Needs: []goComponent{corednsComponent},
			Build: staticBinaryImage(corednsComponent, "coredns", "/coredns"),
		},
		registryImage{
			Path: "pause:" + PauseVersion, Public: "registry.k8s.io/pause:" + PauseVersion,
			Recipe: "pause/v1\n" + KubernetesVersion,
			Build:  func(ctx context.Context, h *Harness) (v1.Image, error) { return h.pauseImage(ctx) },
		},
		registryImage{
			// The provider's default executor image, under the path the
			// node's ghcr.io mirror maps to the local registry, so builds
			// work in the harness cluster without setting kaniko_image.
			Path: kanikoImagePath, Public: "ghcr.io/" + kanikoImagePath,
			Recipe: kanikoImageRecipe(kanikoComponent), Needs: []goComponent{kanikoComponent},
			Build: func(ctx context.Context, h *Harness) (v1.Image, error) { return h.kanikoImage(ctx, kanikoComponent) },
		},
		registryImage{
			// The archived upstream's last release, which users may still
			// name in kaniko_image.
			Path: legacyKanikoImagePath, Public: "gcr.io/" + legacyKanikoImagePath,
			Recipe: kanikoImageRecipe(legacyKanikoComponent), Needs: []goComponent{legacyKanikoComponent},
			Build: func(ctx context.Context, h *Harness) (v1.Image, error) {
				return h.kanikoImage(ctx, legacyKanikoComponent)
			},
		},
		registryImage{
			// The registry server, for tests that run a registry as a pod.
			Path:   RegistryServerImage,
			Recipe: "registry-server/v1\n" + distributionComponent.recipe(), Needs: []goComponent{distributionComponent},
			Build: func(ctx context.Context, h *Harness) (v1.Image, error) { return h.registryServerImage(ctx) },
		},
		registryImage{
			Path:   StudyBaseImage,
			Recipe: studyBaseRecipe(),
			Build:  func(ctx context.Context, h *Harness) (v1.Image, error) { return h.studyBaseImage(ctx) },
		},
		registryImage{
			Path:           StudyBaseMultiImage,
			Recipe:         studyBaseMultiRecipe(),
			BuildPlatforms: func(ctx context.Context, h *Harness) ([]platformImage, error) { return h.studyBaseMulti(ctx) },
		},
	)
	return images
}

func kanikoImageRecipe(c goComponent) string { return "kaniko-image/v1\n" + c.recipe() }

func studyBaseRecipe() string {
	return "study-base/v1\n" + DebianSuite + "\n" + strings.Join(studyBasePackages, ",")
}

// studyBaseForeignRecipe is the recipe of the study base's layer for an
// architecture other than the host's.
func studyBaseForeignRecipe(arch string) string {
	return "study-base-foreign/v1\n" + DebianSuite + "\n" + arch + "\n" + strings.Join(studyBasePackages, ",") +
		"\napplets of busybox-static:" + hostArch()
}

func studyBaseMultiRecipe() string {
	parts := []string{"study-base-multi/v1"}
	for _, p := range studyBasePlatforms {
		parts = append(parts, p.String(), studyBaseLayerRecipe(p.Architecture))
	}
	return strings.Join(parts, "\n")
}

// studyBaseLayerRecipe is the recipe of the study base's layer for arch.
func studyBaseLayerRecipe(arch string) string {
	if arch == hostArch() {
		return studyBaseRecipe()
	}
	return studyBaseForeignRecipe(arch)
}

// kanikoImagePath is the fork's executor with a busybox shell, like its
// -debug image, as the provider's default image names it on ghcr.io.
const kanikoImagePath = "osscontainertools/kaniko:" + KanikoVersion + "-debug"

// legacyKanikoImagePath is the archived upstream's debug image, as the
// study used it.
const legacyKanikoImagePath = "kaniko-project/executor:" + LegacyKanikoVersion + "-debug"

// staticBase holds what statically linked programs expect to find.
func staticBase() []fileEntry {
	return []fileEntry{
		{Path: "/etc/passwd", Content: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")},
		{Path: "/etc/group", Content: []byte("root:x:0:\nnogroup:x:65534:\n")},
		{Path: "/etc/nsswitch.conf", Content: []byte("hosts: files dns\n")},
		{Path: "/etc/ssl/certs/ca-certificates.crt", HostPath: "/etc/ssl/certs/ca-certificates.crt"},
		{Path: "/tmp", Dir: true, Mode: 0o1777},
		{Path: "/root", Dir: true, Mode: 0o700},
	}
}

// staticBinaryImage builds an image of one static binary of c, at path
// in the image, as its entrypoint.
func staticBinaryImage(c goComponent, binary, path string) func(context.Context, *Harness) (v1.Image, error) {
	return func(ctx context.Context, h *Harness) (v1.Image, error) {
		if err := c.Ensure(ctx, h.Cache, h.Progress); err != nil {
			return nil, err
		}
		return staticImage(map[string]string{path: c.Binary(h.Cache, binary)}, []string{path})
	}
}

// staticImage packs static binaries (image path to host path) into a
// FROM-scratch image.
func staticImage(binaries map[string]string, entrypoint []string) (v1.Image, error) {
	base, err := layer(staticBase())
	if err != nil {
		return nil, err
	}
	var entries []fileEntry
	for p, host := range binaries {
		entries = append(entries, fileEntry{Path: p, HostPath: host, Mode: 0o755})
	}
	bin, err := layer(entries)
	if err != nil {
		return nil, err
	}
	return assemble(nil, []v1.Layer{base, bin}, imageConfig{Entrypoint: entrypoint, Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}})
}

// pauseImage compiles Kubernetes' pause.c statically, as upstream does.
func (h *Harness) pauseImage(ctx context.Context) (v1.Image, error) {
	dir := h.Cache.Path("bin", "pause-"+PauseVersion)
	recipe := "pause/v1\n" + KubernetesVersion
	bin := filepath.Join(dir, "pause")
	if !fresh(dir, recipe, "pause") {
		err := h.Progress.Step("compile pause "+PauseVersion+" (gcc -static, Kubernetes "+KubernetesVersion+" source)", func() error {
			src, err := moduleDir(ctx, "k8s.io/kubernetes", KubernetesVersion)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			c := cmd("gcc", "-Os", "-Wall", "-Werror", "-static", "-DVERSION=v"+PauseVersion, "-o", bin, filepath.Join(src, "build/pause/linux/pause.c"))
			if err := runLogged(ctx, h.Cache.LogPath("build-pause"), c); err != nil {
				return fmt.Errorf("%w\n  hint: install gcc and libc6-dev (scripts/setup-host.sh does)", err)
			}
			return markFresh(dir, recipe)
		})
		if err != nil {
			return nil, err
		}
	}
	l, err := layer([]fileEntry{{Path: "/pause", HostPath: bin, Mode: 0o755}})
	if err != nil {
		return nil, err
	}
	return assemble(nil, []v1.Layer{l}, imageConfig{Entrypoint: []string{"/pause"}, User: "65535:65535"})
}

// kanikoImage is the executor plus busybox, laid out like Kaniko's
// official debug image.
func (h *Harness) kanikoImage(ctx context.Context, kanikoComponent goComponent) (v1.Image, error) {
	if err := kanikoComponent.Ensure(ctx, h.Cache, h.Progress); err != nil {
		return nil, err
	}
	busybox, err := h.busybox(ctx)
	if err != nil {
		return nil, err
	}
	entries := []fileEntry{
		{Path: "/kaniko/executor", HostPath: kanikoComponent.Binary(h.Cache, "executor"), Mode: 0o755},
		{Path: "/kaniko/warmer", HostPath: kanikoComponent.Binary(h.Cache, "warmer"), Mode: 0o755},
		{Path: "/kaniko/ssl/certs/ca-certificates.crt", HostPath: "/etc/ssl/certs/ca-certificates.crt"},
		{Path: "/kaniko/.docker", Dir: true, Mode: 0o755},
		{Path: "/etc/nsswitch.conf", Content: []byte("hosts: files dns\n")},
		{Path: "/workspace", Dir: true, Mode: 0o755},
		{Path: "/root", Dir: true, Mode: 0o700},
		{Path: "/busybox/busybox", HostPath: busybox, Mode: 0o755},
	}
	applets, err := output(ctx, cmd(busybox, "--list"))
	if err != nil {
		return nil, err
	}
	for _, a := range strings.Fields(applets) {
		if a != "busybox" {
			entries = append(entries, fileEntry{Path: "/busybox/" + a, Symlink: "/busybox/busybox"})
		}
	}
	l, err := layer(entries)
	if err != nil {
		return nil, err
	}
	return assemble(nil, []v1.Layer{l}, imageConfig{
		Entrypoint: []string{"/kaniko/executor"},
		WorkingDir: "/workspace",
		Env: []string{
			"HOME=/root", "USER=root", "PATH=/usr/local/bin:/kaniko:/busybox",
			"SSL_CERT_DIR=/kaniko/ssl/certs", "DOCKER_CONFIG=/kaniko/.docker/",
		},
	})
}

// busybox returns Debian's static busybox, unpacked into the cache.
func (h *Harness) busybox(ctx context.Context) (string, error) {
	dir := h.Cache.Path("debian", "busybox-static")
	bin := filepath.Join(dir, "bin", "busybox")
	unlock, err := lockEntry(dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	if fresh(dir, "busybox/v1", "bin/busybox") {
		return bin, nil
	}
	if _, err := debianFiles(ctx, h.Cache, dir, []string{"busybox-static"}); err != nil {
		return "", err
	}
	return bin, markFresh(dir, "busybox/v1")
}

// studyBasePackages make the stand-in for the study's base image: a
// Node.js runtime with busybox, about as large as the study's 36 MB
// image, so that pulling the base costs what it cost in the study.
var studyBasePackages = []string{
	"busybox-static", "ca-certificates", "libbrotli1", "libc-ares2", "libc6", "libgcc-s1", "libicu72",
	"libnghttp2-14", "libnode108", "libssl3", "libstdc++6", "libuv1", "node-acorn", "node-cjs-module-lexer",
	"node-undici", "nodejs", "zlib1g",
}

// studyBasePlatforms are the children of StudyBaseMultiImage. arm64
// carries variant v8, as Docker and BuildKit publish it in the indexes
// of official images (containerd takes a bare arm64 to mean v8 too).
// Debian's names for these architectures are Go's and OCI's.
var studyBasePlatforms = []v1.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64", Variant: "v8"},
}

// studyBaseConfig is the config of the study base for platform p (the
// zero value: the host's).
func studyBaseConfig(p v1.Platform) imageConfig {
	return imageConfig{
		Cmd: []string{"/bin/sh"},
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "plugin-host-node stand-in",
			"org.opencontainers.image.description": "Node.js runtime from Debian " + DebianSuite + " packages, built by the onesbuild harness",
		},
		Platform: p,
	}
}

func (h *Harness) studyBaseImage(ctx context.Context) (v1.Image, error) {
	l, err := h.studyBaseLayer(ctx, hostArch())
	if err != nil {
		return nil, err
	}
	return assemble(nil, []v1.Layer{l}, studyBaseConfig(v1.Platform{}))
}

// studyBaseMulti is one OCI image per studyBasePlatforms. The host's
// child has the very layer of StudyBaseImage.
func (h *Harness) studyBaseMulti(ctx context.Context) ([]platformImage, error) {
	var out []platformImage
	for _, p := range studyBasePlatforms {
		l, err := h.studyBaseLayer(ctx, p.Architecture)
		if err != nil {
			return nil, err
		}
		img, err := ociImage([]v1.Layer{l}, studyBaseConfig(p))
		if err != nil {
			return nil, err
		}
		out = append(out, platformImage{Platform: p, Image: img})
	}
	return out, nil
}

// studyBaseLayer is the study base's one layer for arch, from the cache
// or built.
func (h *Harness) studyBaseLayer(ctx context.Context, arch string) (v1.Layer, error) {
	recipe := studyBaseLayerRecipe(arch)
	if arch == hostArch() {
		step := "unpack the study base image's Debian packages (" + strings.Join(studyBasePackages, " ") + ")"
		return h.cachedLayer("study-base", "layer.tar.gz", recipe, step, func(out, file string) error {
			return h.buildStudyBaseLayer(ctx, out, file, recipe)
		})
	}
	step := "unpack the study base image's Debian packages for " + arch + " (" + strings.Join(studyBasePackages, " ") + ")"
	return h.cachedLayer("study-base-"+arch, "layer.tar.gz", recipe, step, func(out, file string) error {
		return h.buildForeignStudyBaseLayer(ctx, arch, out, file, recipe)
	})
}

func (h *Harness) buildStudyBaseLayer(ctx context.Context, out, file, recipe string) error {
	dir, cleanup, err := h.Cache.workDir("study-base")
	if err != nil {
		return err
	}
	defer cleanup()
	versions, err := debianFiles(ctx, h.Cache, dir, studyBasePackages)
	if err != nil {
		return err
	}
	log := h.Cache.LogPath("study-base")
	// busybox provides the shell and core utilities the packages lack.
	if err := runLogged(ctx, log, cmd("chroot", dir, "/bin/busybox", "--install", "-s", "/bin")); err != nil {
		return err
	}
	return h.packStudyBaseLayer(ctx, dir, versions, out, file, recipe)
}

// buildForeignStudyBaseLayer assembles the study base for arch, which
// cannot run here, without running anything of it: dpkg-deb -x unpacks
// the packages, and busybox's applet links come from the host's build of
// the same busybox, which lists them.
func (h *Harness) buildForeignStudyBaseLayer(ctx context.Context, arch, out, file, recipe string) error {
	dir, cleanup, err := h.Cache.workDir("study-base-" + arch)
	if err != nil {
		return err
	}
	defer cleanup()
	tools, cleanupTools, err := h.Cache.workDir("busybox-" + hostArch())
	if err != nil {
		return err
	}
	defer cleanupTools()
	log := h.Cache.LogPath("study-base")
	// The host's busybox comes from the same package lists as arch's, so
	// the two are builds of one source version.
	packages := append(append([]string(nil), studyBasePackages...), "busybox-static:"+hostArch())
	var versions []string
	var applets string
	err = debianFetch(ctx, h.Cache, arch, packages, func(debs []string) error {
		host, own := debs[len(debs)-1], debs[:len(debs)-1]
		for _, deb := range own {
			if err := runLogged(ctx, log, cmd("dpkg-deb", "-x", deb, dir)); err != nil {
				return err
			}
			versions = append(versions, strings.TrimSuffix(filepath.Base(deb), ".deb"))
			if strings.HasPrefix(filepath.Base(deb), "busybox-static_") && sourceVersion(deb) != sourceVersion(host) {
				return fmt.Errorf("busybox-static differs between %s and %s (%s, %s): the applet links would not match the binary", arch, hostArch(), filepath.Base(deb), filepath.Base(host))
			}
		}
		if err := runLogged(ctx, log, cmd("dpkg-deb", "-x", host, tools)); err != nil {
			return err
		}
		applets, err = output(ctx, cmd(filepath.Join(tools, "bin", "busybox"), "--list"))
		return err
	})
	if err != nil {
		return err
	}
	if err := linkApplets(dir, strings.Fields(applets)); err != nil {
		return err
	}
	return h.packStudyBaseLayer(ctx, dir, versions, out, file, recipe)
}

// sourceVersion is the version of a .deb file's name without its binary
// rebuild suffix (+b1), which may differ between architectures of one
// source version.
func sourceVersion(deb string) string {
	fields := strings.Split(filepath.Base(deb), "_")
	if len(fields) != 3 {
		return filepath.Base(deb)
	}
	v := fields[1]
	if i := strings.LastIndex(v, "+b"); i > 0 && strings.Trim(v[i+2:], "0123456789") == "" && len(v) > i+2 {
		v = v[:i]
	}
	return v
}

// linkApplets does in root what "busybox --install -s /bin" does there:
// a symbolic link /bin/<applet> to /bin/busybox for each applet, except
// where /bin already has that name.
func linkApplets(root string, applets []string) error {
	bin := filepath.Join(root, "bin")
	if _, err := os.Stat(filepath.Join(bin, "busybox")); err != nil {
		return fmt.Errorf("linking busybox's applets: %w", err)
	}
	for _, a := range applets {
		if a == "" || strings.ContainsAny(a, "/\x00") || a == "." || a == ".." {
			return fmt.Errorf("busybox lists an odd applet name %q", a)
		}
		p := filepath.Join(bin, a)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink("/bin/busybox", p); err != nil {
			return err
		}
	}
	return nil
}

// packStudyBaseLayer records the package versions in the tree at dir and
// tars it into file, the layer of cache entry out.
func (h *Harness) packStudyBaseLayer(ctx context.Context, dir string, versions []string, out, file, recipe string) error {
	if err := os.WriteFile(filepath.Join(dir, "etc/onesbuild-packages"), []byte(strings.Join(versions, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	log := h.Cache.LogPath("study-base")
	if err := runLogged(ctx, log, cmd("tar", "-C", dir, "--numeric-owner", "--use-compress-program=gzip -6", "-cf", file, ".")); err != nil {
		return err
	}
	return markFresh(out, recipe)
}

// ensureRegistryImage makes img present in the local registry: already
// there, copied from the public registry or a mirror, or built.
func (h *Harness) ensureRegistryImage(ctx context.Context, img registryImage) error {
	dst, err := name.NewTag(h.hostRegistry()+"/"+img.Path, name.Insecure)
	if err != nil {
		return err
	}
	switch present, err := h.registryImagePresent(ctx, img); {
	case err == nil && present:
		h.Progress.Printf("image %s: present in the local registry", img.Path)
		return nil
	case err == nil:
		h.Progress.Printf("image %s: present but built from an older recipe; rebuilding", img.Path)
	}
	for _, src := range h.remoteSources(img.Path, img.Public) {
		err := h.copyImage(ctx, src, dst, img.BuildPlatforms != nil)
		if err == nil {
			h.Progress.Printf("image %s: copied from %s", img.Path, src)
			return nil
		}
		h.Progress.Printf("image %s: not available from %s (%s)", img.Path, src, shortErr(err))
	}
	return h.Progress.Step("build image "+img.Path+" from source and push it to "+h.hostRegistry(), func() error {
		if img.BuildPlatforms != nil {
			idx, err := h.buildIndex(ctx, img)
			if err != nil {
				return err
			}
			return remote.WriteIndex(dst, idx, remote.WithContext(ctx))
		}
		built, err := img.Build(ctx, h)
		if err != nil {
			return err
		}
		if built, err = withLabel(built, recipeLabel, recipeHash(img.Recipe)); err != nil {
			return err
		}
		return remote.Write(dst, built, remote.WithContext(ctx))
	})
}

// buildIndex builds a multi-platform img: its children, each labelled
// with the recipe (which registryImagePresent reads from the linux/amd64
// child), in an OCI index.
func (h *Harness) buildIndex(ctx context.Context, img registryImage) (v1.ImageIndex, error) {
	children, err := img.BuildPlatforms(ctx, h)
	if err != nil {
		return nil, err
	}
	for i := range children {
		if children[i].Image, err = withLabel(children[i].Image, recipeLabel, recipeHash(img.Recipe)); err != nil {
			return nil, err
		}
	}
	idx, err := assembleIndex(children)
	if err != nil {
		return nil, err
	}
	sizes, err := describeIndex(idx)
	if err != nil {
		return nil, err
	}
	h.Progress.Printf("image %s: an OCI index of %s (compressed)", img.Path, sizes)
	return idx, nil
}

// registryImagePresent reports whether the local registry holds img from
// its current recipe (or from outside the harness); an error when it
// holds no such image at all.
func (h *Harness) registryImagePresent(ctx context.Context, img registryImage) (bool, error) {
	dst, err := name.NewTag(h.hostRegistry()+"/"+img.Path, name.Insecure)
	if err != nil {
		return false, err
	}
	recipe, err := h.registryImageRecipe(ctx, dst)
	if err != nil {
		return false, err
	}
	return recipe == "" || recipe == recipeHash(img.Recipe), nil
}

// recipeLabel marks images the harness built with the hash of their
// recipe.
const recipeLabel = "dev.onesbuild.recipe"

// registryImageRecipe reads the recipe label of an image in the local
// registry; "" for images the harness did not build.
func (h *Harness) registryImageRecipe(ctx context.Context, ref name.Reference) (string, error) {
	img, err := remote.Image(ref, remote.WithContext(ctx))
	if err != nil {
		return "", err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	return cfg.Config.Labels[recipeLabel], nil
}

func withLabel(img v1.Image, key, value string) (v1.Image, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	if cfg.Config.Labels == nil {
		cfg.Config.Labels = map[string]string{}
	}
	cfg.Config.Labels[key] = value
	return mutate.ConfigFile(img, cfg)
}

// remoteSources lists where an image may be pulled from, mirror first.
func (h *Harness) remoteSources(path, public string) []string {
	if h.Offline {
		return nil
	}
	var out []string
	if h.Mirror != "" {
		out = append(out, strings.TrimSuffix(h.Mirror, "/")+"/"+path)
	}
	if public != "" {
		out = append(out, public)
	}
	return out
}

// copyImage copies src to dst: the host's platform of it, or with index
// the whole index.
func (h *Harness) copyImage(ctx context.Context, src string, dst name.Reference, index bool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ref, err := name.ParseReference(src)
	if err != nil {
		return err
	}
	probe, cancelProbe := context.WithTimeout(ctx, 10*time.Second)
	defer cancelProbe()
	if _, err := remote.Head(ref, remote.WithContext(probe), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return err
	}
	if index {
		idx, err := remote.Index(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
		if err != nil {
			return err
		}
		return remote.WriteIndex(dst, idx, remote.WithContext(ctx))
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: hostArch()}))
	if err != nil {
		return err
	}
	return remote.Write(dst, img, remote.WithContext(ctx))
}

func shortErr(err error) string {
	s := err.Error()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		s = ee.String()
	}
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}
