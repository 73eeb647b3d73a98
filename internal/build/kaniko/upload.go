package kaniko

import (
	"errors"
	"io"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// upload streams the context snapshot, gzip-compressed, into the
// executor's stdin. The upload ends when the snapshot is written; the
// attach session itself lasts until the executor exits, so only an
// attach error before that point fails the build.
func (r *run) upload() {
	start := r.e.Now.Now()
	pr, pw := io.Pipe()
	written := make(chan error, 1)
	go func() {
		err := r.spec.Context.Snapshot().WriteGzip(pw)
		written <- err
		pw.CloseWithError(err)
	}()
	attached := make(chan error, 1)
	go func() {
		err := r.e.Attacher.Attach(r.ctx, r.spec.Namespace, r.name, ContainerName, pr)
		pr.CloseWithError(io.ErrClosedPipe)
		attached <- err
	}()
	select {
	case err := <-written:
		if err != nil {
			r.cancel(&build.Failure{Reason: build.ReasonContextUpload, Message: "writing the build context", Err: err})
			return
		}
		took := r.e.Now.Now().Sub(start)
		r.record(build.PhaseContextUpload, took)
		r.e.logger().Step("context uploaded", "seconds", took.Seconds())
	case err := <-attached:
		if err == nil {
			err = errors.New("the attach session ended before the whole context was sent")
		}
		if r.ctx.Err() == nil {
			r.cancel(&build.Failure{Reason: build.ReasonContextUpload, Message: "streaming the build context to the executor", Err: err})
		}
	}
}
