package rest

import "time"

// SetDelayUnit makes one second of retry_backoff last d, so retry tests run fast.
// Users always wait at least one real second between tries.
func SetDelayUnit(c *Connector, d time.Duration) { c.delayUnit = d }

// Origin is origin, for its table test.
var Origin = origin
