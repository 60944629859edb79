package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// connectorRoutes registers saved connectors, secrets and OAuth2 grants. Reading
// connectors and grants needs the viewer role (they hold secret references,
// never values); everything about secrets, and every change, needs editor.
func (s *Server) connectorRoutes(g *echo.Group) {
	viewer, editor := require(engine.RoleViewer), require(engine.RoleEditor)

	g.GET("/connectors", s.listConnectors, viewer)
	g.GET("/connectors/:name", s.getConnector, viewer)
	g.PUT("/connectors/:name", s.putConnector, editor)
	g.DELETE("/connectors/:name", s.deleteConnector, editor)
	g.POST("/connectors/:name/test", s.testConnector, editor)

	g.GET("/secrets", s.listSecrets, editor)
	g.GET("/secrets/:name", s.getSecret, editor)
	g.PUT("/secrets/:name", s.putSecret, editor)
	g.DELETE("/secrets/:name", s.deleteSecret, editor)

	g.GET("/grants", s.listGrants, viewer)
	g.GET("/grants/:name", s.getGrant, viewer)
	g.PUT("/grants/:name", s.putGrant, editor)
	g.DELETE("/grants/:name", s.deleteGrant, editor)
}

func (s *Server) listConnectors(c echo.Context) error {
	ctx := c.Request().Context()
	items, err := s.Resolver.Saved.ListConnectors(ctx)
	if err != nil {
		return err
	}
	for i := range items {
		if items[i].State, err = s.Resolver.State(ctx, items[i]); err != nil {
			return err
		}
	}
	return c.JSON(http.StatusOK, listResponse[engine.SavedConnector]{Items: items})
}

func (s *Server) getConnector(c echo.Context) error {
	ctx := c.Request().Context()
	conn, err := s.Resolver.Saved.GetConnector(ctx, c.Param("name"))
	if err != nil {
		return err
	}
	if conn.State, err = s.Resolver.State(ctx, conn); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, conn)
}

type putConnectorRequest struct {
	ConnectorType string         `json:"connector_type"`
	Inputs        map[string]any `json:"inputs"`
	Domains       []string       `json:"domains"`
	Description   string         `json:"description"`
}

// putConnector saves a connector; the answer holds its state (001 while a secret
// it refers to is missing).
func (s *Server) putConnector(c echo.Context) error {
	name := c.Param("name")
	if err := validName("connector", name); err != nil {
		return err
	}
	var req putConnectorRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	if req.ConnectorType == "" && req.Inputs["connector_type"] == nil {
		return invalid(`the body needs "connector_type", like {"connector_type": "REST", "inputs": {"url": "https://api.example.com"}, "domains": ["api.example.com"]}`)
	}
	for _, ref := range engine.SecretRefs(req.Inputs) {
		if err := validName("secret", ref); err != nil {
			return err
		}
	}
	conn, created, err := s.Resolver.PutConnector(c.Request().Context(), engine.SavedConnector{
		Name: name, ConnectorType: req.ConnectorType, Inputs: req.Inputs, Domains: req.Domains, Description: req.Description})
	if err != nil {
		return err
	}
	s.audit(c, "connector.save", "connector", name, map[string]any{"created": created})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, conn)
}

func (s *Server) deleteConnector(c echo.Context) error {
	if err := s.Resolver.Saved.DeleteConnector(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "connector.delete", "connector", c.Param("name"), nil)
	return c.NoContent(http.StatusNoContent)
}

type testConnectorRequest struct {
	Inputs map[string]any `json:"inputs"`
}

type testConnectorResponse struct {
	Connector engine.SavedConnector `json:"connector"`
	Test      engine.ConnectorTest  `json:"test"`
}

// testConnector calls the saved connector once, with the body's inputs as
// overrides (to pick a harmless request), and answers 200 with the outcome and
// the connector's new state, whether the call succeeded or not.
func (s *Server) testConnector(c echo.Context) error {
	var req testConnectorRequest
	if c.Request().ContentLength != 0 {
		if err := decodeStrict(c, &req); err != nil {
			return err
		}
	}
	conn, t, err := s.Resolver.Test(c.Request().Context(), c.Param("name"), req.Inputs)
	if err != nil {
		return err
	}
	// The test calls the connector's service: an action, recorded without the overrides.
	s.audit(c, "connector.test", "connector", conn.Name, nil)
	return c.JSON(http.StatusOK, testConnectorResponse{Connector: conn, Test: t})
}

func (s *Server) listGrants(c echo.Context) error {
	items, err := s.Resolver.Saved.ListGrants(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.SavedGrant]{Items: items})
}

func (s *Server) getGrant(c echo.Context) error {
	g, err := s.Resolver.Saved.GetGrant(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, g)
}

// putGrant saves an OAuth2 grant; its client_secret or private_key must be a
// secret reference.
func (s *Server) putGrant(c echo.Context) error {
	name := c.Param("name")
	if err := validName("grant", name); err != nil {
		return err
	}
	var cfg map[string]any
	if err := decodeJSON(c, &cfg); err != nil {
		return err
	}
	if cfg == nil {
		return invalid(`the body must be a JSON object, like {"type": "client_credentials", "token_url": "https://...", "client_id": "...", "client_secret": {"secret": "NAME"}}`)
	}
	if err := engine.ValidateGrant(cfg); err != nil {
		return err
	}
	for _, ref := range engine.SecretRefs(cfg) {
		if err := validName("secret", ref); err != nil {
			return err
		}
	}
	g, created, err := s.Resolver.Saved.PutGrant(c.Request().Context(), engine.SavedGrant{Name: name, Config: cfg})
	if err != nil {
		return err
	}
	s.audit(c, "grant.save", "grant", name, map[string]any{"created": created})
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, g)
}

func (s *Server) deleteGrant(c echo.Context) error {
	if err := s.Resolver.Saved.DeleteGrant(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "grant.delete", "grant", c.Param("name"), nil)
	return c.NoContent(http.StatusNoContent)
}
