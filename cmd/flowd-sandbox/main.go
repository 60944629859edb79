// Command flowd-sandbox runs flow scripts for a flowd worker, one at a time, in a
// process with a memory limit (see package sandbox). The worker starts it; it is not
// meant to be run by hand. Installed beside flowd, it keeps each sandbox small: flowd
// itself can serve as the sandbox too, at the cost of a larger process per script.
package main

import (
	"fmt"
	"os"

	"github.com/flowd/flowd/sandbox"
)

func main() {
	if !sandbox.IsChild() {
		fmt.Fprintln(os.Stderr, "flowd-sandbox runs scripts for a flowd worker, which starts it; there is nothing to do by hand")
		os.Exit(2)
	}
	sandbox.ServeChild()
}
