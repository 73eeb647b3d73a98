package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
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

func TestSigningNeedsExactlyOneKey(t *testing.T) {
	attrTypes := map[string]attr.Type{"key_secret": types.StringType, "kms_key": types.StringType}
	block := func(secret, kms types.String) types.Object {
		return types.ObjectValueMust(attrTypes, map[string]attr.Value{"key_secret": secret, "kms_key": kms})
	}
	cases := []struct {
		name  string
		value types.Object
		ok    bool
	}{
		{"no block", types.ObjectNull(attrTypes), true},
		{"a secret", block(types.StringValue("key"), types.StringNull()), true},
		{"a KMS key", block(types.StringNull(), types.StringValue("hashivault://k")), true},
		{"a key not known yet", block(types.StringUnknown(), types.StringNull()), true},
		{"neither", block(types.StringNull(), types.StringNull()), false},
		{"both", block(types.StringValue("key"), types.StringValue("hashivault://k")), false},
		{"one known, the other unknown: decided later", block(types.StringValue("key"), types.StringUnknown()), true},
		{"one null, the other unknown", block(types.StringNull(), types.StringUnknown()), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := &validator.ObjectResponse{}
			exactlyOneOf{"key_secret", "kms_key"}.ValidateObject(context.Background(),
				validator.ObjectRequest{Path: path.Root("signing"), ConfigValue: c.value}, resp)
			if got := !resp.Diagnostics.HasError(); got != c.ok {
				t.Fatalf("valid = %v, want %v: %v", got, c.ok, resp.Diagnostics)
			}
		})
	}
}
