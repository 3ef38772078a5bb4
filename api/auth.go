package api

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Perm is one permission a token grants in its "perms" claim.
type Perm string

// The permissions a route can require. PermAdmin implies all the others
// and also lets an upload by hash attach content the caller does not own.
const (
	PermRead   Perm = "read"
	PermWrite  Perm = "write"
	PermDelete Perm = "delete"
	PermAdmin  Perm = "admin"
)

// clockSkew is how far the clocks of the machine that minted a token and
// the node that checks it may disagree. exp and nbf are checked with this
// leeway, so a token stays usable up to clockSkew past its exp.
const clockSkew = 30 * time.Second

// principal is the verified caller of a request: the token's subject and
// the permissions it grants. The zero principal may do nothing.
type principal struct {
	// Subject is the token's sub claim, the user id that owns uploads.
	Subject string
	perms   map[Perm]bool
}

// has reports whether p may act with permission perm. Admin implies all.
func (p principal) has(perm Perm) bool {
	return p.perms[PermAdmin] || p.perms[perm]
}

// claims is the payload of an attachments token.
type claims struct {
	jwt.RegisteredClaims
	Perms []string `json:"perms"`
}

// verifier checks bearer tokens against one HMAC secret. It is safe for
// concurrent use.
type verifier struct {
	secret []byte
	parser *jwt.Parser
}

func newVerifier(secret []byte) *verifier {
	return &verifier{
		secret: secret,
		parser: jwt.NewParser(
			// Only HS256: a token naming another algorithm, "none" above
			// all, is refused before its signature is looked at.
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(clockSkew),
		),
	}
}

// verify checks the value of an Authorization header and returns the
// caller. Every failure is errUnauthorized. An empty secret verifies
// nothing: a node started without one refuses every token rather than
// accepting tokens signed with the empty key.
func (v *verifier) verify(authorization string) (principal, error) {
	token, err := bearerToken(authorization)
	if err != nil {
		return principal{}, err
	}
	if len(v.secret) == 0 {
		return principal{}, unauthorized("token verification is not configured")
	}

	var c claims
	_, err = v.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) {
		return v.secret, nil
	})
	if err != nil {
		return principal{}, unauthorizedToken(err)
	}
	if c.Subject == "" {
		return principal{}, unauthorized("token has no subject")
	}

	p := principal{Subject: c.Subject, perms: make(map[Perm]bool, len(c.Perms))}
	for _, name := range c.Perms {
		// Unknown names are ignored, so a newer issuer can add perms
		// without locking out older nodes.
		p.perms[Perm(name)] = true
	}
	return p, nil
}

// unauthorizedToken turns a jwt error into a 401 with a short reason that
// tells the client what to fix without echoing the token.
func unauthorizedToken(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthorized("token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauthorized("token is not valid yet")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthorized("token has no expiry")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthorized("token signature is invalid")
	default:
		return unauthorized("token is malformed or uses another algorithm")
	}
}

// bearerToken extracts the token from "Bearer <token>". The scheme name is
// case-insensitive, as for every HTTP authentication scheme.
func bearerToken(authorization string) (string, error) {
	if authorization == "" {
		return "", unauthorized("missing bearer token")
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", unauthorized("authorization is not a bearer token")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", unauthorized("missing bearer token")
	}
	return token, nil
}

// MintToken returns an HS256 token for user sub with the given perms,
// valid from now for ttl. It is what the CLI's token command and the tests
// use; any HS256 issuer sharing the secret works the same way. It fails
// when secret or sub is empty, ttl is not positive, or a perm is not one
// of read, write, delete and admin.
func MintToken(secret []byte, sub string, perms []string, ttl time.Duration) (string, error) {
	switch {
	case len(secret) == 0:
		return "", errors.New("mint token: empty secret")
	case sub == "":
		return "", errors.New("mint token: empty subject")
	case ttl <= 0:
		return "", fmt.Errorf("mint token: ttl %v is not positive", ttl)
	}
	for _, p := range perms {
		switch Perm(p) {
		case PermRead, PermWrite, PermDelete, PermAdmin:
		default:
			return "", fmt.Errorf("mint token: unknown perm %q", p)
		}
	}

	now := time.Now()
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   sub,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		Perms: perms,
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("mint token: %w", err)
	}
	return token, nil
}
