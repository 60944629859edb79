package oauth

import "time"

// SetClock makes c read the time from now, so tests can move past a token's expiry.
func SetClock(c *Cache, now func() time.Time) { c.now = now }
