package provider

import (
	"context"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/setplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
)

// privateKeyAdopted marks an imported image whose build inputs are not
// known yet. The first apply after an import adopts the configuration
// without rebuilding; afterwards input changes force replacement again.
const privateKeyAdopted = "adopted"

// privateGetter is the part of the framework's private state the plan
// modifiers read.
type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

func adopting(ctx context.Context, p privateGetter) bool {
	if p == nil {
		return false
	}
	v, _ := p.GetKey(ctx, privateKeyAdopted)
	return string(v) == "true"
}

const replaceDescription = "Changing this value builds a new image, except right after an import, when the configuration is adopted as it is."

func replaceString() planmodifier.String {
	return stringplanmodifier.RequiresReplaceIf(func(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !adopting(ctx, req.Private)
	}, replaceDescription, replaceDescription)
}

func replaceList() planmodifier.List {
	return listplanmodifier.RequiresReplaceIf(func(ctx context.Context, req planmodifier.ListRequest, resp *listplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !adopting(ctx, req.Private)
	}, replaceDescription, replaceDescription)
}

func replaceBool() planmodifier.Bool {
	return boolplanmodifier.RequiresReplaceIf(func(ctx context.Context, req planmodifier.BoolRequest, resp *boolplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !adopting(ctx, req.Private)
	}, replaceDescription, replaceDescription)
}

func replaceSet() planmodifier.Set {
	return setplanmodifier.RequiresReplaceIf(func(ctx context.Context, req planmodifier.SetRequest, resp *setplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !adopting(ctx, req.Private)
	}, replaceDescription, replaceDescription)
}

func replaceMap() planmodifier.Map {
	return mapplanmodifier.RequiresReplaceIf(func(ctx context.Context, req planmodifier.MapRequest, resp *mapplanmodifier.RequiresReplaceIfFuncResponse) {
		resp.RequiresReplace = !adopting(ctx, req.Private)
	}, replaceDescription, replaceDescription)
}

// privateKeyCurrentContext holds the hash of a context directory as Read
// last saw it, a JSON string.
const privateKeyCurrentContext = "context_now"

// currentContextHash returns what Read recorded, or "".
func currentContextHash(ctx context.Context, p privateGetter) string {
	return privateString(ctx, p, privateKeyCurrentContext)
}

// privateString reads a string kept in private state as a JSON string,
// or "" when there is none.
func privateString(ctx context.Context, p privateGetter, key string) string {
	if p == nil {
		return ""
	}
	v, _ := p.GetKey(ctx, key)
	if len(v) == 0 {
		return ""
	}
	s, err := strconv.Unquote(string(v))
	if err != nil {
		return ""
	}
	return s
}
