package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseDetails(t *testing.T) {
	cases := []struct {
		details string
		names   []string
		err     string
	}{
		{"names: [alpha, beta]", []string{"alpha", "beta"}, ""},
		{`{"names": ["alpha"]}`, []string{"alpha"}, ""},
		{"names: []", []string{}, ""},
		{"", nil, "names is required"},
		{"other: 1", nil, "field other not found"},
		{"names: [a, a]", nil, `names[1]: "a" is listed twice`},
		{"names: ['']", nil, "names[0]: must not be empty"},
		{"names: alpha", nil, "cannot unmarshal"},
	}
	for _, c := range cases {
		names, err := parseDetails(c.details)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseDetails(%q): error %v, want one containing %q", c.details, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(names, c.names) {
			t.Errorf("parseDetails(%q) = %v, %v; want %v", c.details, names, err, c.names)
		}
	}
}

func TestDevicesCarryTheirName(t *testing.T) {
	got := devices([]string{"alpha"})
	if len(got) != 1 || got[0].Id != "alpha" || got[0].Properties[PropertyName] != "alpha" {
		t.Fatalf("devices = %v", got)
	}
}
