package provider

import (
	"context"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Every block of the model is copied by detached: changing a block of
// the copy leaves the original's as it was. Blocks hold attribute values
// only, so one level of copying is all there is.
func TestDetachedCopiesEveryBlock(t *testing.T) {
	valueType := reflect.TypeFor[attr.Value]()
	mt := reflect.TypeFor[imageResourceModel]()
	blocks := 0
	for i := range mt.NumField() {
		f := mt.Field(i)
		var block reflect.Type
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Slice:
			block = f.Type.Elem()
		default:
			if !f.Type.Implements(valueType) {
				t.Errorf("field %s is a %s, neither an attribute value nor a block", f.Name, f.Type)
			}
			continue
		}
		blocks++
		if block.Kind() != reflect.Struct {
			t.Fatalf("block %s is a %s", f.Name, block)
		}
		for j := range block.NumField() {
			if !block.Field(j).Type.Implements(valueType) {
				t.Errorf("block %s holds %s, a %s: detached copies one level only", f.Name, block.Field(j).Name, block.Field(j).Type)
			}
		}

		var m imageResourceModel
		field := reflect.ValueOf(&m).Elem().Field(i)
		elem := reflect.New(block).Elem()
		setFirst(elem, "before")
		if f.Type.Kind() == reflect.Pointer {
			p := reflect.New(block)
			p.Elem().Set(elem)
			field.Set(p)
		} else {
			field.Set(reflect.Append(reflect.MakeSlice(f.Type, 0, 1), elem))
		}
		c := m.detached()
		copied := reflect.ValueOf(&c).Elem().Field(i)
		if f.Type.Kind() == reflect.Pointer {
			setFirst(copied.Elem(), "after")
		} else {
			setFirst(copied.Index(0), "after")
		}
		if reflect.DeepEqual(m, c) {
			t.Errorf("changing block %s of the copy changed the original", f.Name)
		}
	}
	if blocks == 0 {
		t.Fatal("the model has no blocks: the test proves nothing")
	}
}

// setFirst sets a block's first attribute to a value that differs with s.
func setFirst(block reflect.Value, s string) {
	f := block.Field(0)
	switch f.Interface().(type) {
	case types.String:
		f.Set(reflect.ValueOf(types.StringValue(s)))
	case types.Bool:
		f.Set(reflect.ValueOf(types.BoolValue(s == "after")))
	case types.Int64:
		f.Set(reflect.ValueOf(types.Int64Value(int64(len(s)))))
	case types.Map:
		f.Set(reflect.ValueOf(types.MapValueMust(types.StringType, map[string]attr.Value{"k": types.StringValue(s)})))
	default:
		panic("no value of " + f.Type().String())
	}
}

type recordingSetter struct{ calls int }

func (r *recordingSetter) Set(context.Context, any) diag.Diagnostics { r.calls++; return nil }

// setUnlessSame writes a model that differs in any value, one in a block
// included, and only that.
func TestSetUnlessSameWritesWhatChanged(t *testing.T) {
	before := imageResourceModel{Repository: types.StringValue("r"), SBOM: &sbomModel{Format: types.StringValue("spdx-json")}}
	for _, tt := range []struct {
		name   string
		change func(*imageResourceModel)
		writes int
	}{
		{"nothing", func(*imageResourceModel) {}, 0},
		{"an attribute", func(m *imageResourceModel) { m.Digest = types.StringValue("sha256:x") }, 1},
		{"a block's attribute", func(m *imageResourceModel) { m.SBOM.Format = types.StringValue("cyclonedx-json") }, 1},
		{"a block removed", func(m *imageResourceModel) { m.SBOM = nil }, 1},
		{"known to unknown", func(m *imageResourceModel) { m.Repository = types.StringUnknown() }, 1},
	} {
		after := before.detached()
		tt.change(&after)
		var dst recordingSetter
		var diags diag.Diagnostics
		setUnlessSame(context.Background(), &dst, before, after, &diags)
		if dst.calls != tt.writes {
			t.Errorf("%s: %d writes, want %d", tt.name, dst.calls, tt.writes)
		}
	}
}
