package examples_test

import (
	"testing"

	"github.com/flowd/flowd/engine"
	"github.com/flowd/flowd/examples"
	"github.com/flowd/flowd/scripting"
)

// TestExamplesSave: every example passes the checks of PUT /api/v1/flows, so that
// seeding them and saving them from the editor both work.
func TestExamplesSave(t *testing.T) {
	for _, ex := range examples.All() {
		t.Run(ex.Name, func(t *testing.T) {
			if _, err := scripting.Compile(ex.Name, ex.Script); err != nil {
				t.Fatal(err)
			}
			if err := scripting.CheckSecretReferences(ex.Script); err != nil {
				t.Fatal(err)
			}
			if err := scripting.CheckGrantReferences(ex.Script); err != nil {
				t.Fatal(err)
			}
			if ex.InputsSchema == nil {
				t.Fatalf("examples/%s.js declares no inputs: add examples/%s.schema.json", ex.Name, ex.Name)
			}
			if err := engine.CheckInputsSchema(ex.InputsSchema); err != nil {
				t.Fatal(err)
			}
		})
	}
}
