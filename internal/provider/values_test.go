package provider

import (
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

func TestListStrings(t *testing.T) {
	for _, tt := range []struct {
		name      string
		value     elementsOf
		want      []string
		wantKnown bool
	}{
		{name: "null", value: types.ListNull(types.StringType), want: nil, wantKnown: true},
		{name: "unknown", value: types.ListUnknown(types.StringType), want: nil, wantKnown: false},
		{name: "known", value: types.ListValueMust(types.StringType, []attr.Value{types.StringValue("a"), types.StringValue("b")}), want: []string{"a", "b"}, wantKnown: true},
		{name: "an unknown element", value: types.ListValueMust(types.StringType, []attr.Value{types.StringValue("a"), types.StringUnknown()}), want: []string{"a"}, wantKnown: false},
		{name: "a set", value: types.SetValueMust(types.StringType, []attr.Value{types.StringValue("x")}), want: []string{"x"}, wantKnown: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, known := listStrings(tt.value)
			if !reflect.DeepEqual(got, tt.want) || known != tt.wantKnown {
				t.Errorf("listStrings = %v, %v; want %v, %v", got, known, tt.want, tt.wantKnown)
			}
		})
	}
}

func TestMapStrings(t *testing.T) {
	for _, tt := range []struct {
		name      string
		value     types.Map
		want      map[string]string
		wantKnown bool
	}{
		{name: "null", value: types.MapNull(types.StringType), want: nil, wantKnown: true},
		{name: "unknown", value: types.MapUnknown(types.StringType), want: nil, wantKnown: false},
		{name: "empty is not nil", value: types.MapValueMust(types.StringType, map[string]attr.Value{}), want: map[string]string{}, wantKnown: true},
		{name: "an unknown value", value: types.MapValueMust(types.StringType, map[string]attr.Value{"a": types.StringValue("1"), "b": types.StringUnknown()}),
			want: map[string]string{"a": "1"}, wantKnown: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, known := mapStrings(tt.value)
			if !reflect.DeepEqual(got, tt.want) || known != tt.wantKnown {
				t.Errorf("mapStrings = %#v, %v; want %#v, %v", got, known, tt.want, tt.wantKnown)
			}
		})
	}
}

func TestScalarDefaults(t *testing.T) {
	if intOr(types.Int64Null(), 4) != 4 || intOr(types.Int64Unknown(), 4) != 4 || intOr(types.Int64Value(2), 4) != 2 {
		t.Error("intOr")
	}
	if stringOr(types.StringValue(""), "d") != "d" || stringOr(types.StringUnknown(), "d") != "d" || stringOr(types.StringValue("v"), "d") != "v" {
		t.Error("stringOr")
	}
}
