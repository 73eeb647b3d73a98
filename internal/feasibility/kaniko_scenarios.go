package feasibility

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
)

// kanikoBuild runs one Kaniko build, sampling the executor's peaks, and
// fills s.
func (b *bench) kanikoBuild(ctx context.Context, spec build.Spec, s *Sample) (*build.Result, error) {
	exec := *b.kaniko
	var sampler peakSampler
	exec.OnExecutorStarted = func(pod *corev1.Pod) {
		s.Node = pod.Spec.NodeName
		sampler = b.startSampler(ctx, pod)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	res, err := build.SnapshotContext{Next: &exec}.Build(ctx, spec)
	if sampler != nil {
		if cpu, mem, ok := sampler.peaks(); ok {
			s.Values[PeakCPU], s.Values[PeakMemory] = cpu, mem
		}
	}
	if err != nil {
		return res, err
	}
	b.recordBuild(spec.Repository, res, s)
	return res, nil
}

func (b *bench) kanikoStudy(ctx context.Context, scenario string) error {
	cold := scenario == KanikoCold
	if !cold {
		b.logf("  warm-up: one unmeasured build fills Kaniko's layer cache and the node")
		if err := b.kanikoStudyRun(ctx, scenario, 0, false); err != nil {
			return fmt.Errorf("warm-up build: %w", err)
		}
	}
	for i := 1; i <= b.o.Runs; i++ {
		if err := b.kanikoStudyRun(ctx, scenario, i, true); err != nil && ctx.Err() != nil {
			return err
		}
	}
	return nil
}

func (b *bench) kanikoStudyRun(ctx context.Context, scenario string, n int, record bool) error {
	cold := scenario == KanikoCold
	return b.measure(scenario, n, record, func(s *Sample) error {
		nonce := fmt.Sprintf("%s %d %d", scenario, n, time.Now().UnixNano())
		dir, err := b.newContext(nonce)
		if err != nil {
			return err
		}
		spec := b.baseSpec(scenario, dir)
		if cold {
			spec.Pod.ImagePullPolicy = corev1.PullAlways
			if err := b.clearNodes(ctx); err != nil {
				return err
			}
			if err := b.useFreshBase(ctx, dir, nonce); err != nil {
				return err
			}
		} else {
			spec.Pod.Cache = build.Cache{Enabled: true, Repo: b.repo(scenario) + "-cache"}
			spec.Pod.ExtraArgs = []string{"--cache-copy-layers=true"}
		}
		res, err := b.kanikoBuild(ctx, spec, s)
		if err != nil {
			return err
		}
		return b.runImage(ctx, spec.Repository, res.Digest, s)
	})
}

// parallel starts builds at once, two per node (at least four), and
// records where each ran.
func (b *bench) parallel(ctx context.Context, scenario string) error {
	k := max(4, 2*b.r.Environment.Nodes)
	var wg sync.WaitGroup
	for i := 1; i <= k; i++ {
		wg.Add(1)
		go func(n int) {
			defer wg.Done()
			s := Sample{Mode: scenario, Run: n, Values: map[Metric]float64{}}
			dir, err := b.newContext(fmt.Sprintf("%s %d %d", scenario, n, time.Now().UnixNano()))
			if err == nil {
				spec := b.baseSpec(scenario, dir)
				spec.Tags = []string{fmt.Sprintf("run-%d", n)}
				_, err = b.kanikoBuild(ctx, spec, &s)
			}
			b.add(s, err)
		}(i)
	}
	wg.Wait()
	return nil
}

// workloadDockerfile does work only Kaniko can do: RUN steps with the
// base image's own tools, an expensive early one and a cheap late one
// after a COPY, so a change to the copied file rebuilds only the end.
const workloadDockerfile = `FROM %s
RUN mkdir -p /opt/data && cd /opt/data && i=0 && while [ $i -lt 3000 ]; do echo "record $i of the feasibility workload" > file-$i.txt; i=$((i+1)); done && tar -czf /opt/data.tar.gz -C /opt data && sha256sum /opt/data.tar.gz > /opt/data.sha256
COPY app.conf /etc/app.conf
RUN sha256sum /etc/app.conf > /etc/app.conf.sha256 && wc -l /etc/app.conf > /etc/app.conf.lines
`

func (b *bench) workload(ctx context.Context, scenario string) error {
	cached := scenario != WorkloadCold
	cacheRepo := b.t.ClusterRegistry + "/" + repoPrefix + "/workload-cache"
	write := func(conf string) (string, error) {
		dir, err := os.MkdirTemp(b.work, "workload-")
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(fmt.Sprintf(workloadDockerfile, b.t.BaseImage)), 0o644); err != nil {
			return "", err
		}
		return dir, os.WriteFile(filepath.Join(dir, "app.conf"), []byte(conf), 0o644)
	}
	spec := func(dir string) build.Spec {
		s := b.baseSpec(scenario, dir)
		s.Context = build.Context{Source: &buildcontext.Source{Dir: dir}}
		if cached {
			s.Pod.Cache = build.Cache{Enabled: true, Repo: cacheRepo}
		}
		return s
	}
	stable := "setting = stable\n"
	if cached {
		b.logf("  warm-up: one unmeasured build fills the layer cache")
		dir, err := write(stable)
		if err != nil {
			return err
		}
		var s Sample
		s.Values = map[Metric]float64{}
		if _, err := b.kanikoBuild(ctx, spec(dir), &s); err != nil {
			return fmt.Errorf("warm-up build: %w", err)
		}
	}
	for i := 1; i <= b.o.Runs; i++ {
		conf := stable
		if scenario != WorkloadCached {
			conf = fmt.Sprintf("setting = changed %d %d\n", i, time.Now().UnixNano())
		}
		s := Sample{Mode: scenario, Run: i, Values: map[Metric]float64{}}
		dir, err := write(conf)
		if err == nil {
			_, err = b.kanikoBuild(ctx, spec(dir), &s)
		}
		b.add(s, err)
	}
	return nil
}
