package app

import "testing"

func TestBlockPrivateNetworksDefault(t *testing.T) {
	on, off := true, false
	for _, tc := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"EmbeddedDev", Config{}, false},
		{"Production", Config{TemporalAddress: "temporal:7233"}, true},
		{"ForcedOn", Config{BlockPrivateNetworks: &on}, true},
		{"ForcedOff", Config{TemporalAddress: "temporal:7233", BlockPrivateNetworks: &off}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := blockPrivateNetworks(tc.cfg); got != tc.want {
				t.Errorf("blockPrivateNetworks = %v, want %v", got, tc.want)
			}
		})
	}
}
