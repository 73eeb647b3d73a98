package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// A context URL the validator refuses is named without its secrets,
// whatever the reason: diagnostics end up in CI logs.
func TestContextURLValidatorNeverEchoesSecrets(t *testing.T) {
	for _, raw := range []string{
		"HTTPS://user:hunter2@host/ctx.tar.gz",
		"ssh://git:hunter2@host/repo.git",
		"ftp://host/ctx.tar.gz?token=hunter2",
		"https://user:hunter2@host/ctx.tar.gz",
		"https://user:1234/hunter2@host/ctx.tar.gz",
		"git://user:hunter2@host/app.git",
	} {
		var resp validator.StringResponse
		newContextURLValidator().ValidateString(context.Background(), validator.StringRequest{
			Path: path.Root("context_url"), ConfigValue: types.StringValue(raw),
		}, &resp)
		if !resp.Diagnostics.HasError() {
			t.Errorf("%q was accepted", raw)
			continue
		}
		for _, d := range resp.Diagnostics {
			if strings.Contains(d.Summary()+d.Detail(), "hunter2") {
				t.Errorf("the diagnostic for %q holds the password: %s", raw, d.Detail())
			}
		}
	}
}
