package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

func (s *Server) listClients(c echo.Context) error {
	items, err := s.Store.ListClients(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.Client]{Items: items})
}

type createClientRequest struct {
	ID   string      `json:"id"`
	Name string      `json:"name"`
	Role engine.Role `json:"role"`
}

type createClientResponse struct {
	engine.Client
	Secret string `json:"secret"`
}

// createClient creates an API client and returns its secret, this once.
func (s *Server) createClient(c echo.Context) error {
	var req createClientRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if !req.Role.Valid() {
		return invalid("role %q is not one of admin, editor, runner, viewer", req.Role)
	}
	if req.ID == "" {
		req.ID = "client-" + NewSecret()[:12]
	}
	if err := validName("client", req.ID); err != nil {
		return err
	}
	secret := NewSecret()
	cl := engine.Client{ID: req.ID, Name: req.Name, Role: req.Role, SecretHash: HashSecret(secret), CreatedAt: time.Now().UTC()}
	if err := s.Store.CreateClient(c.Request().Context(), cl); err != nil {
		return err
	}
	s.audit(c, "client.create", "client", cl.ID, map[string]any{"role": cl.Role})
	return c.JSON(http.StatusCreated, createClientResponse{Client: cl, Secret: secret})
}

func (s *Server) deleteClient(c echo.Context) error {
	if err := s.Store.DeleteClient(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	s.audit(c, "client.delete", "client", c.Param("id"), nil)
	return c.NoContent(http.StatusNoContent)
}
