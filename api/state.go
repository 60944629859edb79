package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/flowd/flowd/engine"
)

// stateRoutes serves settings and files (system.setting, system.file) and the answers
// to this.message.
func (s *Server) stateRoutes(g *echo.Group) {
	viewer, runner, editor := require(engine.RoleViewer), require(engine.RoleRunner), require(engine.RoleEditor)
	g.POST("/executions/:id/messages", s.answer, runner)

	g.GET("/settings", s.listSettings, viewer)
	g.GET("/settings/:name", s.getSetting, viewer)
	g.PUT("/settings/:name", s.putSetting, editor)
	g.DELETE("/settings/:name", s.deleteSetting, editor)

	g.GET("/files", s.listFiles, viewer)
	g.GET("/files/:name", s.getFile, viewer)
	g.PUT("/files/:name", s.putFile, editor)
	g.DELETE("/files/:name", s.deleteFile, editor)
}

// answer is POST /api/v1/executions/{id}/messages {"answer": ...}.
func (s *Server) answer(c echo.Context) error {
	var req struct {
		Answer json.RawMessage `json:"answer"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Answer) == 0 {
		return invalid(`the body needs "answer", like {"answer": {"approved": true}}`)
	}
	var answer any
	if err := json.Unmarshal(req.Answer, &answer); err != nil {
		return invalid("answer is not valid JSON: %v", err)
	}
	exec, err := s.Engine.Answer(c.Request().Context(), c.Param("id"), answer)
	if err != nil {
		return err
	}
	// Without the answer, which may hold what the message asked for.
	s.audit(c, "message.answer", "execution", exec.ID, map[string]any{"flow": exec.Name})
	return c.JSON(http.StatusAccepted, exec)
}

func (s *Server) listSettings(c echo.Context) error {
	items, err := s.State.ListSettings(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.Setting]{Items: items})
}

func (s *Server) getSetting(c echo.Context) error {
	v, err := s.State.GetSetting(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (s *Server) putSetting(c echo.Context) error {
	name := c.Param("name")
	if err := validName("setting", name); err != nil {
		return err
	}
	var req struct {
		Value json.RawMessage `json:"value"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Value) == 0 {
		return invalid(`the body needs "value", any JSON value, like {"value": {"cursor": 42}}`)
	}
	v, err := s.State.SaveSetting(c.Request().Context(), name, req.Value)
	if err != nil {
		return err
	}
	s.audit(c, "setting.save", "setting", name, nil)
	return c.JSON(http.StatusOK, v)
}

func (s *Server) deleteSetting(c echo.Context) error {
	if err := s.State.DeleteSetting(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "setting.delete", "setting", c.Param("name"), nil)
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listFiles(c echo.Context) error {
	items, err := s.State.ListFiles(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listResponse[engine.File]{Items: items})
}

type fileBody struct {
	engine.File
	Text   *string `json:"text,omitempty"`
	Base64 string  `json:"base64"`
}

// getFile returns the file's content as base64, and as text too when it is UTF-8.
func (s *Server) getFile(c echo.Context) error {
	f, err := s.State.GetFile(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	body := fileBody{File: f, Base64: base64.StdEncoding.EncodeToString(f.Content)}
	if utf8.Valid(f.Content) {
		t := string(f.Content)
		body.Text = &t
	}
	return c.JSON(http.StatusOK, body)
}

func (s *Server) putFile(c echo.Context) error {
	name := c.Param("name")
	if err := validName("file", name); err != nil {
		return err
	}
	var req struct {
		Text   *string `json:"text"`
		Base64 *string `json:"base64"`
	}
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var content []byte
	switch {
	case req.Text != nil && req.Base64 != nil:
		return invalid(`give either "text" or "base64", not both`)
	case req.Text != nil:
		content = []byte(*req.Text)
	case req.Base64 != nil:
		b, err := base64.StdEncoding.DecodeString(*req.Base64)
		if err != nil {
			return invalid("base64 is not valid standard base64: %v", err)
		}
		content = b
	default:
		return invalid(`the body needs "text" or "base64", like {"text": "hello"}`)
	}
	f, err := s.State.SaveFile(c.Request().Context(), name, content)
	if err != nil {
		return err
	}
	s.audit(c, "file.save", "file", name, map[string]any{"size": len(content)})
	return c.JSON(http.StatusOK, f)
}

func (s *Server) deleteFile(c echo.Context) error {
	if err := s.State.DeleteFile(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	s.audit(c, "file.delete", "file", c.Param("name"), nil)
	return c.NoContent(http.StatusNoContent)
}
