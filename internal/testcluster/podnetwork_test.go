package testcluster

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestPodNetworkPerNode(t *testing.T) {
	nodes := []nodeNetwork{{"cp", "10.244.0.0/24", "172.18.0.3"}, {"w1", "10.244.1.0/24", "172.18.0.4"}, {"w2", "10.244.2.0/24", "172.18.0.5"}}
	got := routeCommands(nodes[1], nodes)
	want := [][]string{
		{"ip", "route", "replace", "10.244.0.0/24", "via", "172.18.0.3"},
		{"ip", "route", "replace", "10.244.2.0/24", "via", "172.18.0.5"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("routes of w1 = %v, want %v", got, want)
	}
	var conf struct {
		Plugins []struct {
			IPAM struct {
				Ranges [][]struct{ Subnet string } `json:"ranges"`
			} `json:"ipam"`
		} `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(ptpConflistFor("10.244.1.0/24")), &conf); err != nil {
		t.Fatalf("conflist is not JSON: %v", err)
	}
	if conf.Plugins[0].IPAM.Ranges[0][0].Subnet != "10.244.1.0/24" {
		t.Errorf("conflist subnet = %+v", conf.Plugins[0].IPAM)
	}
}
