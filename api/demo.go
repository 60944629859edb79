package api

import (
	"io"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// jokes are served by /demo/jokes/random so that the examples run without internet.
var jokes = []string{
	"There are 10 kinds of people: those who understand binary and those who don't.",
	"A workflow engine walks into a bar. It orders a drink, crashes, and orders the same drink again.",
	"Why do programmers prefer dark mode? Because light attracts bugs.",
	"I would tell you a UDP joke, but you might not get it.",
	"Durable execution means never having to say 'where was I?'.",
}

// demoRoutes serves small, unauthenticated endpoints that the examples call, so that a
// newcomer's first flow works on a machine without internet access:
//
//	GET /demo/jokes/random   {"type": "success", "value": {"id": N, "joke": "..."}}
//	ANY /demo/anything/*     echoes the request as httpbin's /anything does
func demoRoutes(e *echo.Echo) {
	e.GET("/demo/jokes/random", func(c echo.Context) error {
		i := rand.IntN(len(jokes))
		return c.JSON(http.StatusOK, map[string]any{"type": "success", "value": map[string]any{"id": i + 1, "joke": jokes[i]}})
	})
	e.Any("/demo/anything*", func(c echo.Context) error {
		r := c.Request()
		body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil {
			return err
		}
		headers := map[string]string{}
		for k, v := range r.Header {
			if !strings.EqualFold(k, "Authorization") && !strings.EqualFold(k, "Cookie") {
				headers[k] = strings.Join(v, ", ")
			}
		}
		args := map[string]any{}
		for k, v := range r.URL.Query() {
			if len(v) == 1 {
				args[k] = v[0]
			} else {
				args[k] = v
			}
		}
		return c.JSON(http.StatusOK, map[string]any{
			"method": r.Method, "url": c.Scheme() + "://" + r.Host + r.URL.RequestURI(), "args": args, "headers": headers, "data": string(body),
		})
	})
}
