package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// maxSecretBytes bounds a secret value: room for a PEM private key or a
// certificate chain, not for data.
const maxSecretBytes = 64 << 10

// Secrets are write-only: no route returns a value, and every route, listing
// names included, needs the editor role, as a secret's name tells which systems
// flowd reaches.
func (s *Server) listSecrets(c echo.Context) error {
	items, err := s.Resolver.Secrets.ListSecrets(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.Secret]{Items: items})
}

func (s *Server) getSecret(c echo.Context) error {
	sec, err := s.Resolver.Secrets.GetSecret(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, sec)
}

type putSecretRequest struct {
	Value *string `json:"value"`
}

// putSecret encrypts and stores a secret; the answer holds its name and dates only.
func (s *Server) putSecret(c echo.Context) error {
	name := c.Param("name")
	if err := validName("secret", name); err != nil {
		return err
	}
	var req putSecretRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	if req.Value == nil || *req.Value == "" {
		return invalid(`the body needs "value": the secret as a non-empty string, like {"value": "s3cr3t"}`)
	}
	if len(*req.Value) > maxSecretBytes {
		return invalid("the secret is %d bytes; the limit is %d: store data in a file instead", len(*req.Value), maxSecretBytes)
	}
	sec, created, err := s.Resolver.PutSecret(c.Request().Context(), name, *req.Value)
	if err != nil {
		return err
	}
	// The name only: an audit entry never holds a secret's value.
	s.audit(c, "secret.save", "secret", name, map[string]any{"created": created})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, sec)
}

func (s *Server) deleteSecret(c echo.Context) error {
	if err := s.Resolver.Secrets.DeleteSecret(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "secret.delete", "secret", c.Param("name"), nil)
	return c.NoContent(http.StatusNoContent)
}

// decodeStrict decodes a JSON body and refuses unknown fields, so that a typo
// (say "domain" for "domains") is an error rather than a setting silently lost.
func decodeStrict(c echo.Context, v any) error {
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		return invalid("the body is not valid: %v", err)
	}
	return nil
}
