package api

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signed returns a token with the given claims, method and key.
func signed(t testing.TB, method jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

func TestVerify(t *testing.T) {
	now := time.Now()
	valid := jwt.MapClaims{"sub": "alice", "perms": []string{"read"},
		"exp": now.Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for kk, vv := range valid {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	hs256 := jwt.SigningMethodHS256

	tests := []struct {
		name   string
		header string
		ok     bool
	}{
		{name: "valid", header: "Bearer " + signed(t, hs256, testSecret, valid), ok: true},
		{name: "scheme is case-insensitive",
			header: "bearer " + signed(t, hs256, testSecret, valid), ok: true},
		{name: "expired within clock skew", ok: true, header: "Bearer " +
			signed(t, hs256, testSecret, with("exp", now.Add(-clockSkew/2).Unix()))},
		{name: "missing header", header: ""},
		{name: "basic scheme", header: "Basic YWxpY2U6cHc="},
		{name: "bearer without token", header: "Bearer "},
		{name: "garbage token", header: "Bearer not.a.jwt"},
		{name: "wrong secret", header: "Bearer " + signed(t, hs256, []byte("other"), valid)},
		{name: "alg none", header: "Bearer " +
			signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid)},
		{name: "alg HS512", header: "Bearer " +
			signed(t, jwt.SigningMethodHS512, testSecret, valid)},
		{name: "expired", header: "Bearer " +
			signed(t, hs256, testSecret, with("exp", now.Add(-time.Hour).Unix()))},
		{name: "no expiry", header: "Bearer " + signed(t, hs256, testSecret, with("exp", nil))},
		{name: "not valid yet", header: "Bearer " +
			signed(t, hs256, testSecret, with("nbf", now.Add(time.Hour).Unix()))},
		{name: "missing sub", header: "Bearer " + signed(t, hs256, testSecret, with("sub", nil))},
		{name: "empty sub", header: "Bearer " + signed(t, hs256, testSecret, with("sub", ""))},
	}
	v := newVerifier(testSecret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.verify(tt.header)
			if tt.ok {
				if err != nil || p.Subject != "alice" || !p.has(PermRead) || p.has(PermWrite) {
					t.Fatalf("verify = %+v, %v; want alice with read only", p, err)
				}
				return
			}
			if !errors.Is(err, errUnauthorized) {
				t.Fatalf("verify = %+v, %v; want errUnauthorized", p, err)
			}
		})
	}
}

func TestVerifyEmptySecret(t *testing.T) {
	// A token signed with the empty key must not pass a server with none.
	tok := signed(t, jwt.SigningMethodHS256, []byte{}, jwt.MapClaims{
		"sub": "eve", "perms": []string{"admin"}, "exp": time.Now().Add(time.Hour).Unix()})
	if p, err := newVerifier(nil).verify("Bearer " + tok); !errors.Is(err, errUnauthorized) {
		t.Fatalf("verify with no secret = %+v, %v; want errUnauthorized", p, err)
	}
}

func TestPrincipalHas(t *testing.T) {
	tests := []struct {
		perms []string
		want  map[Perm]bool
	}{
		{perms: nil, want: map[Perm]bool{}},
		{perms: []string{"read"}, want: map[Perm]bool{PermRead: true}},
		{perms: []string{"write", "delete"}, want: map[Perm]bool{PermWrite: true,
			PermDelete: true}},
		{perms: []string{"admin"}, want: map[Perm]bool{PermRead: true, PermWrite: true,
			PermDelete: true, PermAdmin: true}},
		{perms: []string{"superuser", "READ"}, want: map[Perm]bool{}},
	}
	v := newVerifier(testSecret)
	for _, tt := range tests {
		t.Run(strings.Join(tt.perms, "+"), func(t *testing.T) {
			tok := signed(t, jwt.SigningMethodHS256, testSecret, jwt.MapClaims{
				"sub": "u", "perms": tt.perms, "exp": time.Now().Add(time.Hour).Unix()})
			p, err := v.verify("Bearer " + tok)
			if err != nil {
				t.Fatal(err)
			}
			for _, perm := range []Perm{PermRead, PermWrite, PermDelete, PermAdmin} {
				if p.has(perm) != tt.want[perm] {
					t.Errorf("has(%s) = %v, want %v", perm, p.has(perm), tt.want[perm])
				}
			}
		})
	}
}

func TestMintToken(t *testing.T) {
	tests := []struct {
		name   string
		secret []byte
		sub    string
		perms  []string
		ttl    time.Duration
		ok     bool
	}{
		{name: "valid", secret: testSecret, sub: "a", perms: []string{"read", "admin"},
			ttl: time.Minute, ok: true},
		{name: "no perms", secret: testSecret, sub: "a", ttl: time.Minute, ok: true},
		{name: "empty secret", sub: "a", ttl: time.Minute},
		{name: "empty subject", secret: testSecret, ttl: time.Minute},
		{name: "zero ttl", secret: testSecret, sub: "a"},
		{name: "unknown perm", secret: testSecret, sub: "a", perms: []string{"root"},
			ttl: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := MintToken(tt.secret, tt.sub, tt.perms, tt.ttl)
			if (err == nil) != tt.ok {
				t.Fatalf("MintToken = %q, %v; want ok=%v", tok, err, tt.ok)
			}
			if !tt.ok {
				return
			}
			p, err := newVerifier(tt.secret).verify("Bearer " + tok)
			if err != nil || p.Subject != tt.sub {
				t.Fatalf("minted token verifies as %+v, %v", p, err)
			}
			for _, perm := range tt.perms {
				if !p.has(Perm(perm)) {
					t.Errorf("minted token lacks %s", perm)
				}
			}
		})
	}
}

// TestAuthMatrix sends every v1 route every kind of token: no token is 401
// with a challenge, a token without the route's perm is 403, and one with
// it gets past authorization (the request itself may still be refused).
func TestAuthMatrix(t *testing.T) {
	ts := startServer(t, nil)
	routes := []struct {
		method, path string
		perm         Perm
	}{
		{method: "POST", path: "/v1/files", perm: PermWrite},
		{method: "GET", path: "/v1/files/abc", perm: PermRead},
		{method: "GET", path: "/v1/files/abc/download", perm: PermRead},
		{method: "GET", path: "/v1/entities/ticket/T-1/files", perm: PermRead},
		{method: "DELETE", path: "/v1/files/abc", perm: PermDelete},
	}
	holders := [][]string{{"read"}, {"write"}, {"delete"}, {"admin"}, {},
		{"read", "write", "delete"}}

	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path+" without token", func(t *testing.T) {
			r := ts.do(t, rt.method, rt.path, "", nil, nil)
			wantError(t, r, 401, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
		for _, perms := range holders {
			name := fmt.Sprintf("%s %s with %v", rt.method, rt.path, perms)
			t.Run(name, func(t *testing.T) {
				r := ts.do(t, rt.method, rt.path, token(t, "u", perms...), nil, nil)
				allowed := principal{perms: map[Perm]bool{}}
				for _, p := range perms {
					allowed.perms[Perm(p)] = true
				}
				switch {
				case !allowed.has(rt.perm):
					wantError(t, r, 403, "forbidden")
				case r.status == 401 || r.status == 403:
					t.Errorf("status = %d, want past authorization: %s", r.status, r.body)
				}
			})
		}
	}
}

// FuzzVerify feeds arbitrary Authorization headers to the verifier. It
// must not panic, and must either fail with errUnauthorized or name a
// subject.
func FuzzVerify(f *testing.F) {
	exp := time.Now().Add(time.Hour).Unix()
	for _, c := range []jwt.MapClaims{
		{"sub": "a", "perms": []string{"read"}, "exp": exp},
		{"sub": "", "exp": exp},
		{"sub": "a", "exp": "soon"},
		{"sub": 7, "perms": "read", "exp": exp},
	} {
		f.Add("Bearer " + signed(f, jwt.SigningMethodHS256, testSecret, c))
	}
	f.Add("Bearer " + signed(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
		jwt.MapClaims{"sub": "a", "exp": exp}))
	f.Add("")
	f.Add("Bearer a.b.c")
	f.Add("Basic x")

	v := newVerifier(testSecret)
	f.Fuzz(func(t *testing.T, header string) {
		p, err := v.verify(header)
		if err != nil && !errors.Is(err, errUnauthorized) {
			t.Fatalf("verify(%q) = %v, want errUnauthorized", header, err)
		}
		if err == nil && p.Subject == "" {
			t.Fatalf("verify(%q) accepted a token without subject", header)
		}
	})
}
