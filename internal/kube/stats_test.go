package kube

import "testing"

// The kubelet's first rate of a new container can exceed the node (the
// benchmark once read 35610m on two cores): such a reading is dropped.
func TestPlausibleCPU(t *testing.T) {
	for _, tt := range []struct {
		milli, capacity float64
		want            bool
	}{{500, 2000, true}, {2000, 2000, true}, {35610, 2000, false}, {35610, 0, true}} {
		if got := plausibleCPU(tt.milli, tt.capacity); got != tt.want {
			t.Errorf("plausibleCPU(%v, %v) = %v", tt.milli, tt.capacity, got)
		}
	}
}
