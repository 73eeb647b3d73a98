package attest

import (
	"crypto/sha1"
	"crypto/sha256"
	"hash"
	"math/rand"
	"runtime"
	"testing"
	"time"
)

// TestFanOutHashesWhatWasWritten: hashes fed through a fanOut, in chunks
// of any size (empty ones among them) and with the writer's buffer
// reused between writes as io.Copy does, sum to what they sum to when
// written directly; and Close leaves no goroutine behind, even twice.
func TestFanOutHashesWhatWasWritten(t *testing.T) {
	before := runtime.NumGoroutine()
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		data := make([]byte, rng.Intn(3<<20))
		rng.Read(data)
		direct := []hash.Hash{sha256.New(), sha1.New()}
		for _, h := range direct {
			h.Write(data)
		}
		fanned := []hash.Hash{sha256.New(), sha1.New()}
		fan := newFanOut(fanned...)
		buf := make([]byte, 64<<10)
		for rest := data; len(rest) > 0; {
			n := min(rng.Intn(len(buf)+1), len(rest))
			copy(buf, rest[:n])
			if got, err := fan.Write(buf[:n]); got != n || err != nil {
				t.Fatalf("seed %d: Write = %d, %v; want %d, nil", seed, got, err, n)
			}
			// The caller reuses its buffer at once.
			for i := range buf[:n] {
				buf[i] ^= 0xff
			}
			rest = rest[n:]
		}
		fan.Close()
		fan.Close()
		for i := range direct {
			if string(direct[i].Sum(nil)) != string(fanned[i].Sum(nil)) {
				t.Fatalf("seed %d (%d bytes): hash %d differs through the fan-out", seed, len(data), i)
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines after closing every fan-out, %d before", n, before)
	}
}
