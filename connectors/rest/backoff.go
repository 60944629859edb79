package rest

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// backoff is retry_backoff in seconds.
type backoff struct {
	initial, maximum, multiplier, deadline float64
}

// Bounds of retry_backoff values; values outside are clamped, never refused.
const (
	minDelay      = 1.0    // seconds between tries, at least
	maxDelay      = 3600.0 // seconds between tries, at most
	maxMultiplier = 10.0
	maxDeadline   = 86400.0
)

func parseBackoff(in inputs) (backoff, error) {
	b := backoff{initial: 1, maximum: 60, multiplier: 2, deadline: 600}
	obj, err := in.object("retry_backoff")
	if err != nil || obj == nil {
		return b, err
	}
	fields := map[string]*float64{"initial": &b.initial, "maximum": &b.maximum, "multiplier": &b.multiplier, "deadline": &b.deadline}
	for k, v := range obj {
		p, ok := fields[k]
		if !ok {
			return b, inputErrorf("retry_backoff", "input retry_backoff: unknown key %q; use initial, maximum, multiplier and deadline (seconds)", k)
		}
		if v == nil {
			continue
		}
		f, ok := toFloat(v)
		if !ok || math.IsNaN(f) {
			return b, inputErrorf("retry_backoff", "input retry_backoff: %s must be a number, not %s", k, kind(v))
		}
		*p = f
	}
	b.initial = clamp(b.initial, minDelay, maxDelay)
	b.maximum = clamp(b.maximum, b.initial, maxDelay)
	b.multiplier = clamp(b.multiplier, 1, maxMultiplier)
	b.deadline = clamp(b.deadline, 0, maxDeadline)
	return b, nil
}

func clamp(f, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, f)) }

// delay returns the wait in seconds before retry n (0 for the first retry),
// raised to a Retry-After the server sent, never above maximum.
func (b backoff) delay(n int, retryAfter float64) float64 {
	d := b.initial * math.Pow(b.multiplier, float64(n))
	d = math.Max(d, retryAfter)
	return clamp(d, minDelay, b.maximum)
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date; 0 if absent.
func retryAfter(h http.Header, now time.Time) float64 {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return s
	}
	if t, err := http.ParseTime(v); err == nil {
		return math.Max(0, t.Sub(now).Seconds())
	}
	return 0
}

func fmtSeconds(s float64) string { return fmt.Sprintf("%gs", math.Round(s*1000)/1000) }
