package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
	"github.com/onesbuild/terraform-provider-onesbuild/internal/imageref"
)

// stringCheck adapts a func(string) error to a string validator that
// reports on the attribute and skips null and unknown values.
type stringCheck struct {
	desc  string
	check func(string) error
}

func (v stringCheck) Description(context.Context) string         { return v.desc }
func (v stringCheck) MarkdownDescription(context.Context) string { return v.desc }
func (v stringCheck) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := v.check(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+titleOf(req.Path.String()), err.Error())
	}
}

func newRepositoryValidator() validator.String {
	return stringCheck{"a repository with registry host and no tag, such as registry.example.com:5000/app", imageref.ValidateRepository}
}

func newTagValidator() validator.String {
	return stringCheck{"a valid image tag", imageref.ValidateTag}
}

func newPlatformValidator() validator.String {
	return stringCheck{"os/arch[/variant], such as linux/amd64", build.ValidatePlatform}
}

// contextURLSchemes are the remote contexts Kaniko fetches itself.
var contextURLSchemes = []string{"git://", "s3://", "gs://", "https://", "http://", "dir://", "az://", "tar://"}

func newContextURLValidator() validator.String {
	return stringCheck{"a Kaniko context URL", func(s string) error {
		if s == "tar://stdin" {
			return fmt.Errorf("tar://stdin is what context_dir and context_files use; give one of those instead")
		}
		for _, scheme := range contextURLSchemes {
			if strings.HasPrefix(s, scheme) {
				if build.URLHasCredentials(s) {
					return fmt.Errorf("context URL %s carries credentials, which would be stored in Terraform state and shown in plans: "+
						"remove the user and password from the URL and put them in a Secret named by context_credentials_secret "+
						"(GIT_USERNAME and GIT_PASSWORD for git)", build.RedactURL(s))
				}
				return nil
			}
		}
		return fmt.Errorf("context URL %q must start with one of %s", build.RedactURL(s), strings.Join(contextURLSchemes, ", "))
	}}
}

func newDurationValidator() validator.String {
	return stringCheck{"a Go duration such as 168h", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 30m or 168h: %v", s, err)
		}
		if d <= 0 {
			return fmt.Errorf("duration %q must be positive", s)
		}
		return nil
	}}
}

// quantityMapValidator checks resource maps: keys are resource names and
// values Kubernetes quantities.
type quantityMapValidator struct{}

func (quantityMapValidator) Description(context.Context) string {
	return "a map of resource name to Kubernetes quantity"
}
func (v quantityMapValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (quantityMapValidator) ValidateMap(ctx context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	values := map[string]string{}
	if diags := req.ConfigValue.ElementsAs(ctx, &values, true); diags.HasError() {
		return
	}
	for name, q := range values {
		if _, err := resource.ParseQuantity(q); err != nil {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(name), "Invalid Resource Quantity",
				fmt.Sprintf("%q is not a Kubernetes quantity (for example 500m, 2, 512Mi, 1Gi): %v", q, err))
		}
	}
}

// titleOf turns an attribute path such as "cache.ttl" into "Cache Ttl"
// for diagnostic summaries.
func titleOf(p string) string {
	words := strings.FieldsFunc(p, func(r rune) bool { return r == '_' || r == '.' || r == '[' || r == ']' || r == '"' })
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

func itoa(i int) string { return fmt.Sprint(i) }

func newTimestampValidator() validator.String {
	return stringCheck{"an RFC 3339 time such as 2026-01-02T15:04:05Z", func(s string) error {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return fmt.Errorf("%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", s)
		}
		return nil
	}}
}

func newServiceRefValidator() validator.String {
	return stringCheck{"namespace/service or namespace/service:port", func(s string) error {
		ns, svc, ok := strings.Cut(s, "/")
		if !ok || ns == "" || svc == "" || strings.Contains(svc, "/") {
			return fmt.Errorf("%q is not namespace/service or namespace/service:port", s)
		}
		return nil
	}}
}

// exactlyOneOf requires a block, when it is set, to set exactly one of
// its attributes named; with one of them unknown it waits.
type exactlyOneOf []string

func (v exactlyOneOf) Description(context.Context) string {
	return "exactly one of " + strings.Join(v, ", ")
}
func (v exactlyOneOf) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (v exactlyOneOf) ValidateObject(_ context.Context, req validator.ObjectRequest, resp *validator.ObjectResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	attrs := req.ConfigValue.Attributes()
	var set []string
	for _, name := range v {
		a, ok := attrs[name]
		if ok && a.IsUnknown() {
			return // decided when the values are known
		}
		if ok && !a.IsNull() {
			set = append(set, name)
		}
	}
	if len(set) == 1 {
		return
	}
	what := "sets none of them"
	if len(set) > 1 {
		what = "sets " + strings.Join(set, " and ")
	}
	resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+titleOf(req.Path.String())+" Block",
		fmt.Sprintf("The %s block needs exactly one of %s, and it %s. Set one.", req.Path, strings.Join(v, ", "), what))
}
