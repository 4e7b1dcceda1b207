package authz

import (
	"encoding/json"
	"time"
)

// Input is the document a policy sees as `input`. Its JSON form is the
// contract between the guard and every policy, so field names never change
// meaning; new fields may be added.
type Input struct {
	Subject   Subject   `json:"subject"`
	Principal Principal `json:"principal"`
	Task      Task      `json:"task"`
	Tool      Tool      `json:"tool"`
	Call      Call      `json:"call"`
	Context   Context   `json:"context"`
	// Provenance says where argument values came from, when the conversation
	// keeps track (toolguard.Provenance): by argument path
	// ("call.args.to", "call.args.items.0.id") for every string argument,
	// and by destination ("call.destinations.0"). A value the conversation
	// never saw is absent.
	Provenance map[string]Origin `json:"provenance,omitempty"`
	// Usage is what the budgets of the agent and of the task hold now for
	// the tool called (toolguard budgets); absent when none was used.
	Usage *Usage `json:"usage,omitempty"`
	// Peer is the process that asked for the call over a protocol (an MCP
	// client), when there is one; nil for a call made in this process.
	Peer *Peer `json:"peer,omitempty"`
	// Time is the decision time. Policies read the clock from here (time.now_ns
	// is refused by default) so a decision can be replayed from its record.
	Time time.Time `json:"time"`
}

// Subject is the workload that asks: the agent's SPIFFE ID.
type Subject struct {
	SPIFFEID    string `json:"spiffe_id"`
	TrustDomain string `json:"trust_domain"`
}

// Principal is on whose behalf the agent acts, and the delegation chain that
// led here (user first, the calling agent last).
type Principal struct {
	User  string   `json:"user,omitempty"`
	Chain []string `json:"chain"`
}

// Task is the intent the agent was given; tool calls are judged against it.
type Task struct {
	ID        string     `json:"id,omitempty"`
	Purpose   string     `json:"purpose,omitempty"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	CallsUsed int        `json:"calls_used"`
}

// Tool describes the tool being called, as registered by the developer (never
// as described by the model).
type Tool struct {
	Name   string `json:"name"`
	Effect string `json:"effect"` // read | write | destructive | external
	Risk   string `json:"risk"`   // low | medium | high
}

// Call is one proposed tool call with a frozen copy of its arguments.
type Call struct {
	ID           string          `json:"id"`
	Args         json.RawMessage `json:"args"`        // canonical JSON of the frozen args
	ArgsDigest   string          `json:"args_digest"` // names Args: toolguard writes "hmac-sha256:<hex>" under its key
	Destinations []Destination   `json:"destinations"`
}

// Destination is where a call reaches, derived from the arguments by code and
// already canonical (punycode host, cleaned path). A URL's Path is
// percent-decoded ("/a%20b" is "/a b"), as the server reads it.
type Destination struct {
	Kind    string `json:"kind"`           // "url" | "path" | "email" | "argv" | "recipient"
	Type    string `json:"type,omitempty"` // a recipient's kind: "iban", "phone", "chat_channel", …
	Scheme  string `json:"scheme,omitempty"`
	Host    string `json:"host,omitempty"` // for email: the domain
	Port    int    `json:"port,omitempty"`
	Path    string `json:"path,omitempty"`
	Address string `json:"address,omitempty"` // email address; a recipient's canonical form
	// Flagged marks a command-line argument ("argv") that begins with '-':
	// the program would read it as an option, not as data.
	Flagged bool `json:"flagged,omitempty"`
}

// Context is what the conversation carries into the call, in particular the
// taint labels of untrusted content the model has read.
type Context struct {
	ConversationID string   `json:"conversation_id,omitempty"`
	Taint          []string `json:"taint"`
	// TracksProvenance says the conversation keeps track of where values
	// came from (toolguard.Provenance): input.provenance is then what it
	// knows, and a value absent from it was never seen.
	TracksProvenance bool `json:"tracks_provenance,omitempty"`
	// ProvenanceOverflow says the conversation's provenance stopped keeping
	// track (its bound was reached, or a value was too long to scan): any
	// value may have come from untrusted content.
	ProvenanceOverflow bool `json:"provenance_overflow,omitempty"`
}

// Origin is where one value came from.
type Origin struct {
	// Trusted: seen in a trusted source (the user's own words, the user's
	// own records).
	Trusted bool `json:"trusted"`
	// Untrusted: seen in content anyone can write (a web page, an e-mail).
	Untrusted bool `json:"untrusted"`
	// Sources name the untrusted sources, "label@call_id", first seen first.
	Sources []string `json:"sources,omitempty"`
}

// Usage is what budgets hold for the tool called, by scope.
type Usage struct {
	Agent map[string]ToolUsage `json:"agent,omitempty"` // by tool name
	Task  map[string]ToolUsage `json:"task,omitempty"`
}

// ToolUsage is one tool's budgets in one scope, within their windows.
type ToolUsage struct {
	Calls        float64            `json:"calls"`
	Sum          map[string]float64 `json:"sum,omitempty"` // by argument
	Destinations float64            `json:"destinations"`
}

// Peer is who asked for a call from another process, and what it says
// about the call. ID is the identity this process authenticated (the
// SPIFFE ID of its X.509-SVID over mTLS, or the subject of a token it
// presented); "" when it was not authenticated. Chain and Taint are its
// claims, verified by nobody: the default policy lets claimed taint make a
// decision stricter and never lets a claim loosen one.
type Peer struct {
	ID    string   `json:"id,omitempty"`
	Chain []string `json:"chain,omitempty"` // the principal chain it says it acts for
	Taint []string `json:"taint,omitempty"` // labels of untrusted content it says its conversation read
}
