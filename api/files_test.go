package api

import (
	"fmt"
	"strings"
	"testing"
)

func TestGetFile(t *testing.T) {
	ts := startServer(t, nil)
	up := uploaded(t, ts, "notes.txt", "remember the milk")
	read := token(t, "bob", "read")

	r := ts.do(t, "GET", "/v1/files/"+string(up.ID), read, nil, nil)
	if r.status != 200 {
		t.Fatalf("status = %d, want 200: %s", r.status, r.body)
	}
	var got fileJSON
	decode(t, r, &got)
	if got != up {
		t.Errorf("got  %+v\nwant %+v", got, up)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}

	wantError(t, ts.do(t, "GET", "/v1/files/0123", read, nil, nil), 404, "not_found")
	long := strings.Repeat("a", maxRefID+1)
	wantError(t, ts.do(t, "GET", "/v1/files/"+long, read, nil, nil), 404, "not_found")
}

func TestDeleteFile(t *testing.T) {
	ts := startServer(t, nil)
	up := uploaded(t, ts, "old.txt", "stale")
	path := "/v1/files/" + string(up.ID)
	del, read := token(t, "carol", "delete"), token(t, "carol", "read")

	r := ts.do(t, "DELETE", path, del, nil, nil)
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("delete: %d %q, want 204 and no body", r.status, r.body)
	}
	wantError(t, ts.do(t, "GET", path, read, nil, nil), 404, "not_found")
	wantError(t, ts.do(t, "DELETE", path, del, nil, nil), 404, "not_found")
	if ref := ts.be.ref(up.ID); ref == nil || !ref.Deleted {
		t.Errorf("stored reference = %+v, want soft-deleted", ref)
	}
}

func TestListFiles(t *testing.T) {
	ts := startServer(t, nil)
	write := token(t, "alice", "write")
	var ids []string
	for i := range 5 {
		r := ts.upload(t, write, []formPart{
			{name: "entity_type", value: "ticket"}, {name: "entity_id", value: "T-7"},
			{name: "file", fileName: fmt.Sprintf("f%d", i), value: fmt.Sprint("content ", i)},
		})
		var f fileJSON
		decode(t, r, &f)
		ids = append(ids, string(f.ID))
	}
	uploaded(t, ts, "elsewhere", "other entity") // T-1, not listed
	read := token(t, "bob", "read")

	// Page through two at a time; every file once, oldest first.
	var got []string
	cursor := ""
	for range 10 {
		r := ts.do(t, "GET", "/v1/entities/ticket/T-7/files?limit=2&cursor="+cursor, read,
			nil, nil)
		if r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		}
		var page listJSON
		decode(t, r, &page)
		if len(page.Files) > 2 {
			t.Fatalf("page of %d, want at most 2", len(page.Files))
		}
		for _, f := range page.Files {
			got = append(got, string(f.ID))
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(ids, ",") {
		t.Errorf("listed %v, want %v", got, ids)
	}

	r := ts.do(t, "GET", "/v1/entities/ticket/none/files", read, nil, nil)
	if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"files":[],"next_cursor":""}` {
		t.Errorf("empty list: %d %s", r.status, r.body)
	}
}

func TestListFilesBadRequest(t *testing.T) {
	ts := startServer(t, nil)
	read := token(t, "bob", "read")
	tests := []struct {
		name, path string
	}{
		{name: "limit zero", path: "/v1/entities/ticket/T/files?limit=0"},
		{name: "limit negative", path: "/v1/entities/ticket/T/files?limit=-3"},
		{name: "limit not a number", path: "/v1/entities/ticket/T/files?limit=ten"},
		{name: "limit empty", path: "/v1/entities/ticket/T/files?limit="},
		{name: "entity type charset", path: "/v1/entities/tick%20et/T/files"},
		{name: "entity id too long",
			path: "/v1/entities/ticket/" + strings.Repeat("i", maxEntityID+1) + "/files"},
		{name: "cursor too long",
			path: "/v1/entities/ticket/T/files?cursor=" + strings.Repeat("c", maxCursor+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, ts.do(t, "GET", tt.path, read, nil, nil), 400, "bad_request")
		})
	}
}

func TestListLimit(t *testing.T) {
	ts := startServer(t, nil)
	read := token(t, "bob", "read")
	tests := []struct {
		query string
		want  int
	}{
		{query: "", want: defaultListLimit},
		{query: "?limit=7", want: 7},
		{query: "?limit=1000", want: 1000},
		// Above the maximum is cut to it, not refused: the client pages on.
		{query: "?limit=5000", want: maxListLimit},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := ts.do(t, "GET", "/v1/entities/ticket/T-1/files"+tt.query, read, nil, nil)
			if r.status != 200 || ts.be.listLimit() != tt.want {
				t.Errorf("status %d, backend limit %d; want 200, %d",
					r.status, ts.be.listLimit(), tt.want)
			}
		})
	}
}
