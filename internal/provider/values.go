package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The readers of framework values. Each says whether the whole value is
// known: a value, or one element of it, is unknown while it comes from a
// resource that is not applied yet. What is known is returned all the
// same, for the provider configuration, which treats unknown as unset; a
// plan treats the whole value as unknown. Null reads as nil and known.

// elementsOf is a list or a set.
type elementsOf interface {
	IsNull() bool
	IsUnknown() bool
	Elements() []attr.Value
}

// listStrings reads a list or set of strings.
func listStrings(v elementsOf) (values []string, known bool) {
	if v.IsNull() {
		return nil, true
	}
	if v.IsUnknown() {
		return nil, false
	}
	known = true
	for _, e := range v.Elements() {
		s, ok := e.(types.String)
		switch {
		case !ok || s.IsUnknown():
			known = false
		case !s.IsNull():
			values = append(values, s.ValueString())
		}
	}
	return values, known
}

// mapStrings reads a map of strings; a known map, even an empty one, is
// never nil.
func mapStrings(v types.Map) (values map[string]string, known bool) {
	if v.IsNull() {
		return nil, true
	}
	if v.IsUnknown() {
		return nil, false
	}
	values, known = map[string]string{}, true
	for k, e := range v.Elements() {
		s, ok := e.(types.String)
		switch {
		case !ok || s.IsUnknown():
			known = false
		case !s.IsNull():
			values[k] = s.ValueString()
		}
	}
	return values, known
}

// intOr reads an optional number, def when unset or unknown.
func intOr(v types.Int64, def int) int {
	if v.IsNull() || v.IsUnknown() {
		return def
	}
	return int(v.ValueInt64())
}

// stringOr reads an optional string, def when unset, empty or unknown.
func stringOr(v types.String, def string) string {
	if v.IsNull() || v.IsUnknown() || v.ValueString() == "" {
		return def
	}
	return v.ValueString()
}

// knownList and knownMap read values where unknown counts as unset.
func knownList(v elementsOf) []string {
	values, _ := listStrings(v)
	return values
}

func knownMap(v types.Map) map[string]string {
	values, _ := mapStrings(v)
	return values
}
