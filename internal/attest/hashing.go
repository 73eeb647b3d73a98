package attest

import (
	"bytes"
	"errors"
	"hash"
	"sync"
)

// parallelHashMin is the size from which a file's or a layer's hashes are
// computed on goroutines of their own: below it, handing chunks over
// costs more than the hashing.
const parallelHashMin = 1 << 20

// hashChunks is how many chunks may wait for a slow hash before Write
// waits for it.
const hashChunks = 16

// fanOut is a writer whose hashes each run on their own goroutine, so
// that hashing a layer's SBOM files takes as long as the slowest hash,
// not their sum: the SBOM is what an attested build waits for last.
// Each chunk is copied once and shared, read-only, by the hashes. Close
// (or Sum) must be called, or the goroutines outlive the writer.
type fanOut struct {
	queues []chan []byte
	done   sync.WaitGroup
	once   sync.Once
	closed bool
}

// errFanOutClosed is a write after Close: the hashes are summed already.
var errFanOutClosed = errors.New("write to a closed hash")

func newFanOut(hashes ...hash.Hash) *fanOut {
	f := &fanOut{}
	for _, h := range hashes {
		q := make(chan []byte, hashChunks)
		f.queues = append(f.queues, q)
		f.done.Add(1)
		go func() {
			defer f.done.Done()
			for b := range q {
				h.Write(b)
			}
		}()
	}
	return f
}

// Write implements io.Writer; it fails only after Close. Write and Close
// are called from one goroutine.
func (f *fanOut) Write(p []byte) (int, error) {
	if f.closed {
		return 0, errFanOutClosed
	}
	if len(p) == 0 {
		return 0, nil
	}
	b := bytes.Clone(p)
	for _, q := range f.queues {
		q <- b
	}
	return len(p), nil
}

// Close waits until every hash has taken in everything written; the
// hashes may then be summed.
func (f *fanOut) Close() {
	f.once.Do(func() {
		f.closed = true
		for _, q := range f.queues {
			close(q)
		}
	})
	f.done.Wait()
}
