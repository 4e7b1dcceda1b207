package toolguard

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Effect says what a tool does to the world; the policy treats each differently.
type Effect string

const (
	Read        Effect = "read"        // retrieves, changes nothing
	Write       Effect = "write"       // changes state the agent's owner controls
	Destructive Effect = "destructive" // deletes or overwrites, hard to undo
	External    Effect = "external"    // sends data outside the trust domain
)

// Risk is the tool author's judgement of the harm a misuse could do.
type Risk string

const (
	Low    Risk = "low"
	Medium Risk = "medium"
	High   Risk = "high"
)

// Tool is the metadata of a tool, declared once at wrap time. The model never
// supplies any of it.
type Tool struct {
	// Name is what the model calls the tool; it is what policies grant.
	Name string
	// Effect is required: there is no safe guess.
	Effect Effect
	// Risk defaults to Low for Read, Medium for Write, High otherwise.
	Risk Risk
	// Destinations declares which arguments name where the call reaches.
	Destinations []Dest
	// OutputTaint labels that the tool's output carries, such as
	// "untrusted:web". After the tool runs, they are added to the TaintSet in
	// the call's context, so later calls in the conversation are judged as
	// possibly steered by that output.
	OutputTaint []string
	// Redact lists argument paths (written as in Destinations) whose values
	// decision records never show, whatever the policy's redact list says:
	// a password, an API key. A path is checked against the arguments'
	// shape when the tool is wrapped, and a key that would be read as one of
	// these fields is refused (see Wrap).
	Redact []string
	// InputSchema is the JSON Schema (draft 2020-12 or draft-07, local
	// references only) of the arguments, as MCP tools declare it in
	// inputSchema. Arguments that do not validate are refused with
	// CodeBadArgs before the policy runs, and WrapJSON checks the declared
	// destination and redaction paths against it.
	InputSchema json.RawMessage
	// Output declares where the values of the tool's result come from, for
	// a conversation's Provenance: content anyone can write, or records of
	// the user's own systems. Its Untrusted label also taints the
	// conversation, as OutputTaint does.
	Output Output

	// Filled by validate.
	redact      []argPath
	redactPaths []string // redact in the form audit reads
	output      *outputSpec
	taint       []string // OutputTaint and Output.Untrusted
}

// Output declares what a tool's result carries. Trust is per field, not
// per tool: an e-mail's subject and body are anyone's words, its verified
// sender is not; a calendar event's description is, its participants are
// the user's own contacts.
type Output struct {
	// Untrusted labels content anyone can write ("untrusted:web",
	// "untrusted:email"). With UntrustedPaths empty, the whole result is
	// such content (less TrustedPaths).
	Untrusted string
	// UntrustedPaths are the paths of the result (written as in
	// Destinations, crossing arrays) that hold such content. Paths of the
	// result that neither list names are registered nowhere: they are
	// neither trusted nor untrusted, as if never seen.
	UntrustedPaths []string
	// TrustedPaths are paths of the result that are records of the user's
	// own systems (a calendar event's participants, the user's payee list):
	// their values are registered as trusted.
	//
	// Wrap checks both lists against the result type, as it checks
	// Destinations against the arguments: a path the type does not have is
	// an error, not a declaration that silently does nothing.
	TrustedPaths []string
}

// Check reports what Wrap would refuse in the declaration itself: a bad
// name, effect, risk, destination, redaction or output path. What depends
// on the tool's argument and result types (whether a declared path exists
// in them) is checked by Wrap. For declarations read from a file (see
// package toolguard/toolfile), so that a mistake is found when the file is
// loaded.
func (t Tool) Check() error {
	_, err := t.validate()
	return err
}

var toolName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,128}$`)

// validate checks the declaration and fills defaults; it works on a copy so the
// caller's value is never changed.
func (t Tool) validate() (Tool, error) {
	if t.Name == "" {
		return t, errors.New("toolguard: tool name is empty")
	}
	if !toolName.MatchString(t.Name) {
		return t, fmt.Errorf("toolguard: tool name %q: want 1-128 of [A-Za-z0-9_.:-]", t.Name)
	}
	switch t.Effect {
	case Read, Write, Destructive, External:
	case "":
		return t, fmt.Errorf("toolguard: tool %s: effect is required", t.Name)
	default:
		return t, fmt.Errorf("toolguard: tool %s: unknown effect %q", t.Name, t.Effect)
	}
	switch t.Risk {
	case Low, Medium, High:
	case "":
		t.Risk = defaultRisk(t.Effect)
	default:
		return t, fmt.Errorf("toolguard: tool %s: unknown risk %q", t.Name, t.Risk)
	}
	for i, d := range t.Destinations {
		if err := d.validate(); err != nil {
			return t, fmt.Errorf("toolguard: tool %s: destination %d: %w", t.Name, i, err)
		}
	}
	t.redact, t.redactPaths = nil, nil
	for _, r := range t.Redact {
		p, err := parseArgPath(r)
		if err != nil {
			return t, fmt.Errorf("toolguard: tool %s: redact: %w", t.Name, err)
		}
		t.redact = append(t.redact, p)
		t.redactPaths = append(t.redactPaths, strings.Join(p.names(), "."))
	}
	out, err := t.Output.spec()
	if err != nil {
		return t, fmt.Errorf("toolguard: tool %s: %w", t.Name, err)
	}
	t.output = out
	t.taint = slices.Clone(t.OutputTaint)
	if l := t.Output.Untrusted; l != "" && !slices.Contains(t.taint, l) {
		t.taint = append(t.taint, l)
	}
	t.Destinations = append([]Dest(nil), t.Destinations...)
	t.OutputTaint = append([]string(nil), t.OutputTaint...)
	t.Redact = append([]string(nil), t.Redact...)
	t.InputSchema = append(json.RawMessage(nil), t.InputSchema...)
	return t, nil
}

func defaultRisk(e Effect) Risk {
	switch e {
	case Read:
		return Low
	case Write:
		return Medium
	default:
		return High
	}
}
