package e2e

import (
	"strings"
	"sync"
	"testing"
)

// TestHostileFlowsKeepWorkerServing runs attacks through the whole product at once
// and checks that each ends ENDED_ERROR while an ordinary flow still succeeds, and
// that hostile trigger inputs stay data.
func TestHostileFlowsKeepWorkerServing(t *testing.T) {
	each(t, func(t *testing.T, b *backend) {
		attacks := map[string]string{
			"regex":  `function handler() { return /^(a+)+\1$/.test('a'.repeat(40) + '!'); }`,
			"repeat": `function handler() { return 'x'.repeat(2 ** 30).length; }`,
			"loop":   `function handler() { for (;;) {} }`,
			"deep":   `function handler() { return JSON.parse('['.repeat(1e6) + ']'.repeat(1e6)); }`,
		}
		ok := unique("ordinary")
		pushFlow(t, b.api, ok, `function handler(system, inputs) { return {echo: inputs.s, n: inputs.n}; }`)
		names := map[string]string{}
		for k, src := range attacks {
			names[k] = unique("attack_" + k)
			pushFlow(t, b.api, names[k], src)
		}
		var wg sync.WaitGroup
		results := make(map[string]execution)
		var mu sync.Mutex
		for k, name := range names {
			for i := range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					e := runFlow(t, b.api, name, nil)
					mu.Lock()
					results[k+string(rune('0'+i))] = e
					mu.Unlock()
				}()
			}
		}
		tricky := "${process.exit()} {{7*7}} `rm -rf /` <script>alert(1)</script>"
		e := runFlow(t, b.api, ok, map[string]any{"s": tricky, "n": 1})
		wg.Wait()
		if e.Status != "ENDED_SUCCESS" || e.Outputs["echo"] != tricky {
			t.Fatalf("the ordinary flow among attacks ended %s %q %v", e.Status, e.StatusMessage, e.Outputs)
		}
		for k, r := range results {
			if r.Status != "ENDED_ERROR" {
				t.Errorf("attack %s ended %s %q", k, r.Status, r.StatusMessage)
			}
		}
		deep := `{"inputs": ` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
		b.api.must(t, "POST", "/api/v1/flows/"+ok+"/executions", deep, nil, 422) // nested past the limit
	})
}
