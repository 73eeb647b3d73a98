package tfcli

import (
	"context"
	"encoding/json"
	"fmt"
)

// State is what `show -json` says of the root module.
type State struct {
	Resources []Resource
}

// Resource is one resource of the root module: its address
// ("onesbuild_image.app", "onesbuild_image.app[0]") and its attribute
// values as JSON decodes them (strings, float64, bool, map[string]any,
// []any, nil).
type Resource struct {
	Address string         `json:"address"`
	Values  map[string]any `json:"values"`
}

// ParseState reads the output of `show -json`. A directory without
// state has no resources.
func ParseState(showJSON []byte) (*State, error) {
	var doc struct {
		Values struct {
			RootModule struct {
				Resources []Resource `json:"resources"`
			} `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(showJSON, &doc); err != nil {
		return nil, fmt.Errorf("reading show -json: %w", err)
	}
	return &State{Resources: doc.Values.RootModule.Resources}, nil
}

// State runs `show -json` and reads it.
func (d *Dir) State(ctx context.Context) (*State, error) {
	out, err := d.Run(ctx, "show", "-json")
	if err != nil {
		return nil, err
	}
	return ParseState(out)
}

// Resource is the resource at address.
func (s *State) Resource(address string) (Resource, bool) {
	for _, r := range s.Resources {
		if r.Address == address {
			return r, true
		}
	}
	return Resource{}, false
}

// StringAttr is the string attribute name: "" when it is absent or
// null, an error when it holds something else.
func (r Resource) StringAttr(name string) (string, error) {
	switch v := r.Values[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("%s: attribute %s is %T, not a string", r.Address, name, v)
	}
}

// MapNumberAttr is the number under key in the map attribute name (as
// timings["total"]): 0 when the attribute or the key is absent or null,
// an error when either holds something else.
func (r Resource) MapNumberAttr(name, key string) (float64, error) {
	var m map[string]any
	switch v := r.Values[name].(type) {
	case nil:
		return 0, nil
	case map[string]any:
		m = v
	default:
		return 0, fmt.Errorf("%s: attribute %s is %T, not a map", r.Address, name, v)
	}
	switch v := m[key].(type) {
	case nil:
		return 0, nil
	case float64:
		return v, nil
	default:
		return 0, fmt.Errorf("%s: %s[%q] is %T, not a number", r.Address, name, key, v)
	}
}
