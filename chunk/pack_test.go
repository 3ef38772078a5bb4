package chunk

import "testing"

func TestPackNames(t *testing.T) {
	cases := []struct {
		name string
		id   uint32
		ok   bool
	}{
		{name: "00000001.pack", id: 1, ok: true},
		{name: "99999999.pack", id: 99999999, ok: true},
		{name: "100000000.pack", id: 100000000, ok: true},
		{name: "4294967295.pack", id: 4294967295, ok: true},
		{name: "4294967296.pack"},
		{name: "1.pack"},
		{name: "0000000x.pack"},
		{name: "+0000001.pack"},
		{name: "00000001.pack.tmp"},
		{name: "LOCK"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := parsePackName(tc.name)
			if ok != tc.ok || (ok && id != tc.id) {
				t.Fatalf("got %d, %v; want %d, %v", id, ok, tc.id, tc.ok)
			}
			if ok && packName(id) != tc.name {
				t.Fatalf("packName(%d) = %q, want %q", id, packName(id), tc.name)
			}
		})
	}
}
