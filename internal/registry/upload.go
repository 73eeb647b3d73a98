package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// uploadSmallBlob uploads content, whole, into repo in two requests:
// the upload session is opened and then closed with the content and its
// digest (the distribution spec's monolithic upload, which every
// registry takes). go-containerregistry asks first whether the blob is
// there and sends it in a request of its own, four requests in all; for
// a document just written, which is never there, half of them are round
// trips for nothing.
func (c *Client) uploadSmallBlob(ctx context.Context, repo name.Repository, content []byte) error {
	digest, _, err := v1.SHA256(bytes.NewReader(content))
	if err != nil {
		return err
	}
	auth, err := c.keychain().Resolve(repo)
	if err != nil {
		return err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, c.transport(), []string{repo.Scope(transport.PushScope)})
	if err != nil {
		return err
	}
	client := &http.Client{Transport: rt}
	start := &url.URL{Scheme: repo.Registry.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + "/blobs/uploads/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, start.String(), nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if err := transport.CheckError(resp, http.StatusAccepted); err != nil {
		return err
	}
	loc, err := start.Parse(resp.Header.Get("Location"))
	if err != nil || resp.Header.Get("Location") == "" {
		return fmt.Errorf("the registry opened an upload without saying where (Location %q)", resp.Header.Get("Location"))
	}
	q := loc.Query()
	q.Set("digest", digest.String())
	loc.RawQuery = q.Encode()
	req, err = http.NewRequestWithContext(ctx, http.MethodPut, loc.String(), bytes.NewReader(content))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Length", strconv.Itoa(len(content)))
	resp, err = client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	return transport.CheckError(resp, http.StatusCreated)
}

// UploadBlobs uploads each of contents, small documents never pushed
// before (a signature's payload and config), into repo at once, each in
// two requests (uploadSmallBlob); one the registry does not take that
// way is uploaded go-containerregistry's way, with its retries.
func (c *Client) UploadBlobs(ctx context.Context, repo name.Repository, contents ...[]byte) error {
	errs := make([]error, len(contents))
	var wg sync.WaitGroup
	for i, content := range contents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.uploadSmallBlob(ctx, repo, content) == nil {
				return
			}
			if err := remote.WriteLayer(repo, static.NewLayer(content, types.OCILayer), c.options(ctx)...); err != nil {
				errs[i] = classifyCodes(err, "uploading to "+repo.String())
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
