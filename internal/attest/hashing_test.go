package attest

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"math/rand"
	"runtime"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
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

// TestLayerReadAfterCloseFails: a local layer read again after it was
// closed, past the size where its digest is computed on a goroutine,
// fails instead of writing to the closed hash (a panic) or going on
// unchecked.
func TestLayerReadAfterCloseFails(t *testing.T) {
	data := make([]byte, 4<<20)
	rand.New(rand.NewSource(7)).Read(data)
	sum := sha256.Sum256(data)
	want := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	v := &verifying{r: io.NopCloser(bytes.NewReader(data)), hash: sha256.New(), want: want, size: -1}
	if _, err := io.CopyN(io.Discard, v, 2<<20); err != nil {
		t.Fatal(err)
	}
	if v.fan == nil {
		t.Fatal("the digest of a 4 MiB layer is not computed on a goroutine of its own after 2 MiB")
	}
	v.Close()
	if n, err := io.Copy(io.Discard, v); err == nil {
		t.Errorf("reading a closed layer gave %d bytes and no error", n)
	}
	// Read to its end, the same layer verifies.
	ok := &verifying{r: io.NopCloser(bytes.NewReader(data)), hash: sha256.New(), want: want, size: int64(len(data))}
	if _, err := io.Copy(io.Discard, ok); err != nil {
		t.Errorf("a good 4 MiB layer: %v", err)
	}
	ok.Close()
}
