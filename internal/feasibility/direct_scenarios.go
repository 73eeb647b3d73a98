package feasibility

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/attest"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/build/direct"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/signing"
)

func (b *bench) directStudy(ctx context.Context, scenario string) error {
	b.logf("  warm-up: one unmeasured build reads the base image's file index once")
	if err := b.directRun(ctx, scenario, 0, false); err != nil {
		return fmt.Errorf("warm-up build: %w", err)
	}
	for i := 1; i <= b.o.Runs; i++ {
		_ = b.directRun(ctx, scenario, i, true)
	}
	return nil
}

func (b *bench) directRun(ctx context.Context, scenario string, n int, record bool) error {
	return b.measure(scenario, n, record, func(s *Sample) error {
		dir, err := b.newContext(fmt.Sprintf("%s %d %d", scenario, n, time.Now().UnixNano()))
		if err != nil {
			return err
		}
		spec := b.baseSpec(scenario, dir)
		spec.Executor = build.ExecutorDirect
		// As the provider does for a resource with an SBOM.
		spec.KeepLayerTars = scenario == DirectAttested
		res, err := build.SnapshotContext{Next: b.checkArchitecture(b.direct)}.Build(ctx, spec)
		if err != nil {
			return err
		}
		b.recordBuild(spec.Repository, res, s)
		if scenario == DirectAttested {
			if err := b.attachAndSign(ctx, spec, res, s); err != nil {
				return err
			}
		}
		return b.runImage(ctx, spec.Repository, res.Digest, s)
	})
}

// attachAndSign does what sbom {}, provenance {} and signing {} add to a
// build, with the engine the provider uses: an SPDX SBOM read from the
// pushed image, SLSA provenance, and signatures of the image and both
// with a key made for the run (the provider reads it from a Secret).
func (b *bench) attachAndSign(ctx context.Context, spec build.Spec, res *build.Result, s *Sample) error {
	b.signerOnce.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err == nil {
			b.signer, err = signature.LoadECDSASignerVerifier(k, crypto.SHA256)
		}
		b.signerErr = err
	})
	if b.signerErr != nil {
		return b.signerErr
	}
	start := time.Now()
	// As the provider does: the image signed while its documents are
	// written, and each document as soon as its digest is known, while
	// it is pushed; every signature in its own signature image.
	type signed struct {
		subject string
		sig     signing.Signed
		err     error
	}
	var mu sync.Mutex
	var all []signed
	var wg sync.WaitGroup
	sign := func(d string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sig, err := signing.Sign(ctx, b.c.reg, spec.Repository, d, b.signer)
			mu.Lock()
			all = append(all, signed{d, sig, err})
			mu.Unlock()
		}()
	}
	sign(res.Digest)
	got, err := attest.Attach(ctx, b.c.reg, attest.Request{
		SBOMFormat: attest.FormatSPDX, ProvenanceMode: attest.ProvenanceMin,
		Repository: spec.Repository, Digest: res.Digest, BaseRef: res.BaseImage, BaseDigest: res.BaseImageDigest,
		Tool: "onesbuild-feasibility", Cache: b.databases,
		Provenance: attest.ProvenanceInput{Executor: res.Executor, DockerfileSHA256: res.DockerfileSHA256,
			ContextSHA256: res.ContextSHA256, Reproducible: true},
		Prepared:    sign,
		LocalLayers: b.localLayers,
	})
	wg.Wait()
	for _, sg := range all {
		if sg.err == nil {
			b.recordPush(spec.Repository, sg.sig.Image)
		}
	}
	if err != nil {
		return fmt.Errorf("attaching: %w", err)
	}
	signedSubjects := map[string]bool{}
	for _, sg := range all {
		if sg.err != nil {
			return fmt.Errorf("signing %s: %w", sg.subject, sg.err)
		}
		signedSubjects[sg.subject] = true
	}
	for _, d := range []string{res.Digest, got.SBOM, got.Provenance} {
		if !signedSubjects[d] {
			return fmt.Errorf("%s was not signed", d)
		}
	}
	s.Values[Attach] = time.Since(start).Seconds()
	b.recordPush(spec.Repository, got.SBOM)
	b.recordPush(spec.Repository, got.Provenance)
	return nil
}

// localLayers opens the layers the direct builds keep on this machine.
func (b *bench) localLayers(diffID, digest v1.Hash, tar bool) (io.ReadCloser, bool) {
	return direct.OpenCachedLayer(b.direct.LayerCacheDir, diffID, digest, tar)
}

// floor appends the binary to the base as one layer and pushes it with
// go-containerregistry alone: what crane append does, and the least any
// build of the study's image can do.
func (b *bench) floor(ctx context.Context, scenario string) error {
	repo := b.repo(scenario)
	for i := 1; i <= b.o.Runs; i++ {
		_ = b.measure(scenario, i, true, func(s *Sample) error {
			binary := append(append([]byte(nil), b.t.StudyBinary...), []byte(fmt.Sprintf("\nonesbuild-feasibility floor %d %d\n", i, time.Now().UnixNano()))...)
			start := time.Now()
			baseRef, err := b.c.reg.Reference(ctx, b.t.BaseImage)
			if err != nil {
				return err
			}
			base, err := remote.Image(baseRef, b.c.reg.RemoteOptions(ctx)...)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for _, h := range []*tar.Header{
				{Typeflag: tar.TypeDir, Name: "usr/local/app/", Mode: 0o755, ModTime: time.Unix(0, 0)},
				{Typeflag: tar.TypeReg, Name: "usr/local/app/main", Mode: 0o755, Size: int64(len(binary)), ModTime: time.Unix(0, 0)},
			} {
				if err := tw.WriteHeader(h); err != nil {
					return err
				}
			}
			if _, err := tw.Write(binary); err != nil {
				return err
			}
			if err := tw.Close(); err != nil {
				return err
			}
			data := buf.Bytes()
			layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
			if err != nil {
				return err
			}
			img, err := mutate.Append(base, mutate.Addendum{Layer: layer})
			if err != nil {
				return err
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				return err
			}
			cfg = cfg.DeepCopy()
			cfg.Config.WorkingDir, cfg.Config.Entrypoint, cfg.Config.Cmd = "/usr/local/app", []string{"/usr/local/app/main"}, nil
			if img, err = mutate.ConfigFile(img, cfg); err != nil {
				return err
			}
			digest, err := img.Digest()
			if err != nil {
				return err
			}
			built := time.Now()
			ref, err := b.c.reg.Reference(ctx, repo+":latest")
			if err != nil {
				return err
			}
			if err := remote.Write(ref, img, b.c.reg.RemoteOptions(ctx)...); err != nil {
				return err
			}
			end := time.Now()
			b.recordPush(repo, digest.String())
			s.Digest = digest.String()
			s.Values[Build], s.Values[Push], s.Values[BuildTotal] = built.Sub(start).Seconds(), end.Sub(built).Seconds(), end.Sub(start).Seconds()
			s.Values[ImageSize] = 0
			if m, err := img.Manifest(); err == nil {
				size := m.Config.Size
				for _, l := range m.Layers {
					size += l.Size
				}
				s.Values[ImageSize] = float64(size)
			}
			return nil
		})
	}
	return nil
}
