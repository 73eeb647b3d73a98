package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/buildcontext"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

var (
	_ function.Function = contextHashFunction{}
	_ function.Function = imageRefFunction{}
	_ function.Function = parseImageRefFunction{}
)

// NewContextHashFunction returns provider::onesbuild::context_hash.
func NewContextHashFunction() function.Function { return contextHashFunction{} }

// NewImageRefFunction returns provider::onesbuild::image_ref.
func NewImageRefFunction() function.Function { return imageRefFunction{} }

// NewParseImageRefFunction returns provider::onesbuild::parse_image_ref.
func NewParseImageRefFunction() function.Function { return parseImageRefFunction{} }

// contextHashOptions are the keys context_hash's options take, as the
// resource's attributes of the same names.
var contextHashOptions = []string{"dockerfile", "dockerfile_inline"}

type contextHashFunction struct{}

func (contextHashFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "context_hash"
}

func (contextHashFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "The context_sha256 a build of a directory records",
		MarkdownDescription: "Hashes a build context directory exactly as `onesbuild_image` does for `context_dir`: the same archive, the " +
			"same ignore rules (`<Dockerfile>.dockerignore`, else `.dockerignore`), so the result equals the `context_sha256` a build " +
			"of that directory records. Use it in tags or in the `triggers` of images built elsewhere, instead of hand-written " +
			"`filesha256` and `fileset` expressions. `options` takes `dockerfile` (the Dockerfile's path in the context) and " +
			"`dockerfile_inline`, as the resource does; pass `{}` for neither.",
		Parameters: []function.Parameter{
			function.StringParameter{Name: "path", MarkdownDescription: "The context directory."},
			function.MapParameter{Name: "options", ElementType: types.StringType,
				MarkdownDescription: "`dockerfile` and `dockerfile_inline`, as the resource's attributes; `{}` for neither."},
		},
		Return: function.StringReturn{},
	}
}

func (contextHashFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var dir string
	var options map[string]string
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &dir, &options))
	if resp.Error != nil {
		return
	}
	for k := range options {
		if !slices.Contains(contextHashOptions, k) {
			resp.Error = function.NewArgumentFuncError(1, fmt.Sprintf("options has no key %q; it takes %s", k, strings.Join(contextHashOptions, " and ")))
			return
		}
	}
	src := buildcontext.Source{Dir: dir, DockerfilePath: options["dockerfile"], DockerfileInline: options["dockerfile_inline"]}
	sum, err := sharedContextHashes.Hash(ctx, src)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, fmt.Sprintf("the context %q could not be hashed: %v", dir, err))
		return
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, sum.SHA256))
}

type imageRefFunction struct{}

func (imageRefFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "image_ref"
}

func (imageRefFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "An image reference pinned by digest",
		MarkdownDescription: "Joins a repository (with its registry host, without a tag) and a digest (`sha256:<64 hex digits>`) into " +
			"`repository@digest`, what a Deployment should run, after checking both: for images built outside this provider.",
		Parameters: []function.Parameter{
			function.StringParameter{Name: "repository", MarkdownDescription: "For example `registry.example.com/team/app`."},
			function.StringParameter{Name: "digest", MarkdownDescription: "`sha256:<64 lower-case hex digits>`."},
		},
		Return: function.StringReturn{},
	}
}

func (imageRefFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var repo, digest string
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &repo, &digest))
	if resp.Error != nil {
		return
	}
	if err := imageref.ValidateRepository(repo); err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	if err := imageref.ValidateDigest(digest); err != nil {
		resp.Error = function.NewArgumentFuncError(1, err.Error())
		return
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, imageref.Ref{Repository: repo, Digest: digest}.String()))
}

type parseImageRefFunction struct{}

// parsedRefTypes are parse_image_ref's result attributes.
var parsedRefTypes = map[string]attr.Type{
	"registry": types.StringType, "repository": types.StringType, "tag": types.StringType, "digest": types.StringType,
}

func (parseImageRefFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "parse_image_ref"
}

func (parseImageRefFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	resp.Definition = function.Definition{
		Summary: "The parts of an image reference",
		MarkdownDescription: "Splits `registry/path[:tag][@sha256:...]` into an object of `registry`, `repository` (with the registry), " +
			"`tag` and `digest`; a part the reference lacks is null. A reference without a registry host is an error, as the resource's " +
			"`repository` is.",
		Parameters: []function.Parameter{
			function.StringParameter{Name: "ref", MarkdownDescription: "For example `registry.example.com/app:v1@sha256:...`."},
		},
		Return: function.ObjectReturn{AttributeTypes: parsedRefTypes},
	}
}

func (parseImageRefFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var ref string
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &ref))
	if resp.Error != nil {
		return
	}
	repo, tag, digest, err := splitRef(ref)
	if err != nil {
		resp.Error = function.NewArgumentFuncError(0, err.Error())
		return
	}
	optional := func(s string) attr.Value {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	obj, diags := types.ObjectValue(parsedRefTypes, map[string]attr.Value{
		"registry": types.StringValue(imageref.Registry(repo)), "repository": types.StringValue(repo), "tag": optional(tag), "digest": optional(digest),
	})
	if diags.HasError() {
		resp.Error = function.FuncErrorFromDiags(ctx, diags)
		return
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, obj))
}

// splitRef parses repository[:tag][@digest].
func splitRef(ref string) (repo, tag, digest string, err error) {
	rest, digest, hasDigest := strings.Cut(ref, "@")
	if hasDigest {
		if err := imageref.ValidateDigest(digest); err != nil {
			return "", "", "", err
		}
	}
	repo = rest
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		repo, tag = rest[:i], rest[i+1:]
		if err := imageref.ValidateTag(tag); err != nil {
			return "", "", "", err
		}
	}
	if err := imageref.ValidateRepository(repo); err != nil {
		return "", "", "", err
	}
	return repo, tag, digest, nil
}
