package scripting

// Job is one run of a script: everything a script runner needs besides the Host. It is
// plain JSON, so that it can travel to a sandbox process.
type Job struct {
	// Name is the flow's name; stack traces name the script Name + ".js".
	Name   string         `json:"name"`
	Script string         `json:"script"`
	Inputs map[string]any `json:"inputs"`
	// ExecutionID identifies the execution, for the runner's own bookkeeping.
	ExecutionID string  `json:"execution_id"`
	Options     Options `json:"options"`
}

// RunJob compiles and runs a job in this process. The engine runs scripts in sandbox
// processes (package sandbox), which call RunJob; it is also the runner of unit tests.
func RunJob(job Job, host Host) Outcome {
	prog, err := Compile(job.Name, job.Script)
	if err != nil {
		return Outcome{Status: "ENDED_ERROR", Message: "the flow's script cannot run: " + err.Error(), Outputs: map[string]any{}}
	}
	inputs := job.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	return Run(prog, host, inputs, job.Options)
}

// CheckScript runs every save-time check of a flow's script: it compiles, and names no
// secret or grant the way only data may. A refusal is a *ScriptError with the place.
// The API runs it in a sandbox process (package sandbox), so that no script can make
// a save take long or allocate much in the API's process.
func CheckScript(name, src string) error {
	if _, err := Compile(name, src); err != nil {
		return err
	}
	for _, check := range []func(string) error{CheckSecretReferences, CheckGrantReferences} {
		if err := check(src); err != nil {
			return err
		}
	}
	return nil
}
