package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedRegistry is the in-memory registry with a count of tag listings
// and a gate that, while closed, holds every HEAD of the tag "held" (a
// read resolving it) until it opens.
type gatedRegistry struct {
	listings atomic.Int64
	mu       sync.Mutex
	gate     chan struct{} // nil: open
	held     chan struct{} // receives once per HEAD held
}

func (g *gatedRegistry) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
}

func (g *gatedRegistry) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (g *gatedRegistry) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			g.listings.Add(1)
		}
		if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, "/manifests/held") {
			g.mu.Lock()
			gate := g.gate
			g.mu.Unlock()
			if gate != nil {
				select {
				case g.held <- struct{}{}:
				default:
				}
				<-gate
			}
		}
		next.ServeHTTP(w, r)
	})
}

func TestTagReadsAreSharedAndFresh(t *testing.T) {
	ctx := context.Background()
	g := &gatedRegistry{held: make(chan struct{}, 1)}
	srv := httptest.NewServer(g.wrap(newRegistry()))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	c := &Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}}
	repo := clusterRegistry + "/app"
	before := push(t, u.Host, "app:moving", nil).String()
	push(t, u.Host, "app:held", nil)

	// A first read is held while resolving the tags.
	g.close()
	g.listings.Store(0)
	first := make(chan map[string]string, 1)
	go func() {
		snap, err := c.snapshot(ctx, repo)
		if err != nil {
			t.Error(err)
		}
		first <- snap
	}()
	select {
	case <-g.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the first read never resolved a tag")
	}

	// The tag moves while the first read runs; everyone asking now must
	// see where it points now, and must share one read to learn it.
	after := push(t, u.Host, "app:moving", map[string]string{"moved": "yes"}).String()
	if after == before {
		t.Fatal("the test's second image has the first one's digest")
	}
	const callers = 10
	var wg sync.WaitGroup
	results := make([]map[string]string, callers)
	errs := make([]error, callers)
	cancelled, cancel := context.WithCancel(ctx)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			callCtx := ctx
			if i == 0 {
				callCtx = cancelled // gives up while waiting
			}
			results[i], errs[i] = c.snapshot(callCtx, repo)
		}()
	}
	joined := waitJoined(c, repo, callers)
	cancel()
	g.open()
	if !joined {
		wg.Wait()
		t.Fatalf("%d callers never all waited for the next read", callers)
	}
	wg.Wait()
	<-first

	if !errors.Is(errs[0], context.Canceled) {
		t.Errorf("the caller that gave up got %v, want context.Canceled", errs[0])
	}
	for i := 1; i < callers; i++ {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got := results[i]["moving"]; got != after {
			t.Errorf("caller %d, which asked after the tag moved, sees it at %s, want %s", i, got, after)
		}
		if len(results[i]) != 2 {
			t.Errorf("caller %d sees tags %v, want moving and held", i, results[i])
		}
	}
	results[1]["moving"] = "changed by one caller"
	if results[2]["moving"] != after {
		t.Error("callers share one map: a change by one is seen by another")
	}
	if n := g.listings.Load(); n != 2 {
		t.Errorf("%d tag listings for one read and %d callers arriving during it, want 2", n, callers)
	}
}

// waitJoined waits until n callers wait for the repository's next read,
// and says whether they did.
func waitJoined(c *Client, repository string, n int) bool {
	q := c.tagReadQueue()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		q.mu.Lock()
		s := q.repos[repository]
		joined := 0
		if s != nil && s.next != nil {
			joined = s.next.joined
		}
		q.mu.Unlock()
		if joined == n {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

func TestTagReadsOfEachKeychainAreItsOwn(t *testing.T) {
	c, _ := testRegistry(t)
	other := c.WithKeychain(nil)
	if c.tagReadQueue() == other.tagReadQueue() {
		t.Fatal("a client with other credentials shares the reads of the first")
	}
}

// A read every caller gave up on stops, and does not keep the next
// caller waiting for the registry's timeout.
func TestAnAbandonedTagReadStops(t *testing.T) {
	var hung atomic.Int64
	var armed atomic.Bool
	inner := newRegistry()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, "/manifests/held") && armed.Load() && hung.Add(1) == 1 {
			<-r.Context().Done() // the first resolution hangs until its caller goes
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	c := &Client{Hosts: map[string]string{clusterRegistry: u.Host}, Insecure: []string{clusterRegistry}, Timeout: 20 * time.Second}
	repo := clusterRegistry + "/app"
	push(t, u.Host, "app:held", nil)
	armed.Store(true)

	first, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.snapshot(first, repo); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the caller that gave up got %v, want its deadline", err)
	}
	second, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	start := time.Now()
	snap, err := c.snapshot(second, repo)
	if err != nil {
		t.Fatalf("after an abandoned read, the next caller got %v after %v (the registry answers again)", err, time.Since(start))
	}
	if snap["held"] == "" {
		t.Fatalf("tags %v", snap)
	}
}

func TestWithKeychainWhileReadingTags(t *testing.T) {
	c, host := testRegistry(t)
	push(t, host, "app:v1", nil)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = c.snapshot(context.Background(), clusterRegistry+"/app") }()
		go func() { defer wg.Done(); _ = c.WithKeychain(nil) }()
	}
	wg.Wait()
}
