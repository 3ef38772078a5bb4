package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/helixtrack/attachments/node"
)

// entityCases are the table for parseEntity and the seeds of its fuzz test.
var entityCases = []struct {
	in         string
	etype, eid string
	ok         bool
}{
	{in: "ticket/T-42", etype: "ticket", eid: "T-42", ok: true},
	{in: "doc/a/b", etype: "doc", eid: "a/b", ok: true}, // the server judges "a/b"
	{in: "ticket", ok: false},
	{in: "ticket/", ok: false},
	{in: "/T-1", ok: false},
	{in: "/", ok: false},
	{in: "", ok: false},
}

func TestParseEntity(t *testing.T) {
	for _, tc := range entityCases {
		t.Run(tc.in, func(t *testing.T) {
			etype, eid, err := parseEntity(tc.in)
			if (err == nil) != tc.ok || etype != tc.etype || eid != tc.eid {
				t.Errorf("parseEntity(%q) = %q, %q, %v; want %q, %q, ok %v",
					tc.in, etype, eid, err, tc.etype, tc.eid, tc.ok)
			}
		})
	}
}

func FuzzParseEntity(f *testing.F) {
	for _, tc := range entityCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		etype, eid, err := parseEntity(in)
		if err != nil {
			if ee, ok := errors.AsType[*exitError](err); !ok || ee.code != exitUsage {
				t.Fatalf("parseEntity(%q): error %v is not a usage error", in, err)
			}
			return
		}
		if etype == "" || eid == "" || strings.Contains(etype, "/") || etype+"/"+eid != in {
			t.Fatalf("parseEntity(%q) = %q, %q: not a split at the first '/'", in, etype, eid)
		}
	})
}

// FuzzClusterStatus feeds the status renderer whatever a node might send:
// anything that decodes must render, header first, one row per member.
func FuzzClusterStatus(f *testing.F) {
	f.Add([]byte(`{"leader":"n1","layout_version":3,"replicas":3,"nodes":[` +
		`{"id":"n1","state":"active","alive":true,"leader":true,"voter":true,` +
		`"stats":{"chunks":4,"stored_bytes":5000,"free_bytes":1073741824}},` +
		`{"id":"n2","state":"out","error":"unreachable"}]}`))
	f.Add([]byte(`{"nodes":[]}`))
	f.Add([]byte(`{"nodes":[{"id":"a\nb","error":"line one\nline two"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var st node.ClusterStatus
		if json.Unmarshal(raw, &st) != nil {
			return
		}
		var out bytes.Buffer
		if err := writeClusterStatus(&out, st); err != nil {
			t.Fatalf("render %q: %v", raw, err)
		}
		if !strings.HasPrefix(out.String(), "leader ") {
			t.Fatalf("render %q: output does not start with the header:\n%s", raw, out.String())
		}
	})
}

func TestHumanBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{n: 0, want: "0 B"},
		{n: 1023, want: "1023 B"},
		{n: 1024, want: "1.0 KiB"},
		{n: 1536, want: "1.5 KiB"},
		{n: 5 << 20, want: "5.0 MiB"},
		{n: 20 << 30, want: "20.0 GiB"},
		{n: 3 << 40, want: "3.0 TiB"},
		{n: 1 << 62, want: "4.0 EiB"},
		{n: -5, want: "-5 B"},
	}
	for _, tc := range cases {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
