package oauth

import (
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AssertionType is the client_assertion_type of a JWT client assertion (RFC 7523 §2.2).
const AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid. It is used once, right
// away, so it is short.
const assertionLifetime = 5 * time.Minute

// assertion returns a freshly signed client assertion: iss and sub are the client
// id, aud the token URL, with iat, exp, a random jti and the kid header. NetSuite
// also reads the scope from the assertion, so a set Scope is put there as well as
// in the request. It returns an error saying how to fix the key when it cannot sign.
func (g Grant) assertion() (string, error) {
	key, method, err := g.signingKey()
	if err != nil {
		return "", err
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("could not make a random JWT id: %w", err)
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": g.ClientID,
		"sub": g.ClientID,
		"aud": g.TokenURL,
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
		"jti": hex.EncodeToString(jti),
	}
	if g.Scope != "" {
		claims["scope"] = g.Scope
	}
	t := jwt.NewWithClaims(method, claims)
	if g.KID != "" {
		t.Header["kid"] = g.KID
	}
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("could not sign the JWT client assertion with %s; check the grant's private key: %w", method.Alg(), err)
	}
	return s, nil
}

// signingKey parses the PEM key and picks the algorithm: Alg when set (it must fit
// the key), else ES256 for a P-256 key and RS256 for an RSA key.
func (g Grant) signingKey() (any, jwt.SigningMethod, error) {
	pem := []byte(g.PrivateKeyPEM)
	if ec, err := jwt.ParseECPrivateKeyFromPEM(pem); err == nil {
		if g.Alg != "" && g.Alg != "ES256" {
			return nil, nil, fmt.Errorf("the grant's private key is an EC key but its algorithm is %s; set the algorithm to ES256 or use an RSA key", g.Alg)
		}
		if ec.Curve != elliptic.P256() {
			return nil, nil, fmt.Errorf("the grant's EC private key uses curve %s; ES256 needs a P-256 (prime256v1) key", ec.Curve.Params().Name)
		}
		return ec, jwt.SigningMethodES256, nil
	}
	if rk, err := jwt.ParseRSAPrivateKeyFromPEM(pem); err == nil {
		if g.Alg != "" && g.Alg != "RS256" {
			return nil, nil, fmt.Errorf("the grant's private key is an RSA key but its algorithm is %s; set the algorithm to RS256 or use a P-256 EC key", g.Alg)
		}
		return rk, jwt.SigningMethodRS256, nil
	}
	return nil, nil, fmt.Errorf("the grant's private key is not a PEM-encoded EC (P-256) or RSA private key; paste the key starting with -----BEGIN PRIVATE KEY----- (unencrypted)")
}
