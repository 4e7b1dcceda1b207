// Package authz decides, for every tool call an AI agent makes, whether it
// may run and with what authority. It embeds OPA's Rego engine: a policy is
// compiled once by [New], and each call is one [Engine.Decide] on a prepared
// query, in process, under a deadline.
//
// # Why
//
// A model's output is not a trusted request. ztagent authorizes each tool
// call on its own, at run time, on who asks (the agent's SPIFFE ID), for
// whom (the delegation chain), for what task, with which tool, reaching
// which destinations, after reading what (taint), and when. The answer is
// not just yes or no: the [Decision] also says whether a human must approve,
// the audience, scopes and lifetime of the credential to mint, and which
// hosts the call may reach. The guard in package toolguard enforces all of
// it; [Decider] is the seam it consumes.
//
// # How
//
//	engine, err := authz.New(ctx, authz.WithDataJSON(grants)) // embedded default policy
//	...
//	d, err := engine.Decide(ctx, &authz.Input{...})
//	if err != nil || !d.Allow {
//		// deny; d.Reasons[0].Code says why
//	}
//
// Bring your own policy with [WithModule] (rego v1) and [WithQuery]; the
// query's single value must be a decision document:
//
//	{"allow": true, "reasons": [{"code": "...", "message": "..."}],
//	 "approval": {"required": false}, "credential": {"audience": "...", "scopes": [...], "ttl_seconds": 60},
//	 "egress": {"hosts": [...]}, "redact": [], "cache": {"ttl_seconds": 5}}
//
// "cache" is optional: ttl_seconds > 0 lets an engine built with
// [WithDecisionCache] reuse an allow that needs no approval for that long
// (see there for what the key covers and when an entry dies); it is
// [Decision.CacheTTL].
//
// # What a decision costs
//
// Decide converts the input to an OPA value directly (no JSON round trip)
// and evaluates the prepared query. Two things make a guarded call cheaper
// than evaluating the policy from scratch, and neither changes a decision:
//
//   - The rule memo. When a policy is compiled, the engine finds the rules
//     whose value depends only on data, input.subject and input.tool: the
//     agent's grants, the tool's scopes, the fixed sets the rules compare
//     against. Such a rule has one value per agent and tool under a
//     revision, so each evaluation starts with the values an earlier
//     successful evaluation for the same agent and tool computed already in
//     OPA's per-evaluation rule cache; only what depends on the call is
//     evaluated again. A rule qualifies only if everything it reads
//     qualifies: no `with`, only deterministic standard builtins (a custom
//     builtin or print disqualifies), no reference into other parts of the
//     input. It is always on; tests compare memoized and plain evaluation on
//     thousands of random inputs, and a fuzz target keeps doing so.
//   - The decision cache ([WithDecisionCache]), which skips evaluation
//     altogether for a repeated input the policy marked cacheable.
//
// # Safe defaults: fail closed
//
// Only a decision whose "allow" is the literal boolean true allows. Every
// other outcome denies and returns an [*Error] with a stable code, together
// with a Decision whose only reason carries the same code:
//
//	code                        when
//	policy_nil_input            Decide got a nil *Input
//	policy_bad_input            the input cannot be encoded (Call.Args is not JSON)
//	policy_undefined            the query is undefined, or the decision has no "allow"
//	policy_allow_not_boolean    "allow" is a string, number, null, object...
//	policy_multiple_results     the query has several results or expressions
//	policy_unexpected_bindings  the query binds variables
//	policy_eval_error           evaluation failed: builtin error (strict mode), conflict...
//	policy_canceled             the caller's context was canceled before or during evaluation
//	                            (toolguard's "canceled": ended before the policy was asked)
//	policy_deadline             WithTimeout (default 500ms) or the caller's deadline passed
//	policy_bad_decision         a decision field has the wrong type (reasons not objects,
//	                            ttl_seconds not an integer, a reason without code...)
//	policy_engine_not_ready     the Engine is nil or was not built by New
//
// Builtin errors are fatal (rego.StrictBuiltinErrors), so a policy that
// stumbles on bad input denies instead of silently skipping a rule. A policy
// that denies without a reason gets one with code "denied".
//
// Policies cannot reach outside the process. These builtins are refused at
// compile time unless named in [WithUnsafeBuiltins] ([RefusedBuiltins]):
// http.send, net.lookup_ip_addr, opa.runtime, rego.parse_module, trace and
// time.now_ns. Policies read the time from input.time, so a decision can be
// replayed from its record.
//
// Each Decision carries PolicyID (the query) and Revision, a SHA-256 over
// the modules, data and query, so an audit record names exactly what decided.
//
// # Signed bundles
//
// [WithBundle] takes the policy and its data from a signed OPA bundle on an
// HTTP bundle server, polled in the background until [Engine.Close]:
//
//	engine, err := authz.New(ctx, authz.WithBundle(authz.BundleConfig{
//		URL:       "https://bundles.example.com",
//		Resource:  "bundles/authz.tar.gz",
//		PublicKey: pemPublicKey, // built with: opa build --signing-key ... (RS256, key id "global")
//	}))
//
// Download, ETag caching and verification are OPA's own code (packages
// download and bundle). Verification cannot be turned off: a bundle is
// activated only if its .signatures.json verifies under PublicKey and every
// file matches its signed digest, with no file missing or added. An
// unsigned, stripped, re-signed or tampered bundle, a bad manifest, a delta
// bundle, a policy that does not compile, or an HTTP error is reported
// ([WithReloadHook], [Engine.Stats], [Engine.LastReloadError]) and the last
// good policy keeps deciding. New returns only once a bundle is in force,
// or fails when its ctx ends, saying why the last attempt was rejected.
//
// # Decision logs
//
// [WithDecisionLogs] ships every decision to a decision-log service through
// OPA's own decision-log plugin (packages plugins, plugins/logs and
// plugins/rest): OPA buffers, batches, gzips, uploads (POST URL+"/logs")
// and retries, in the event format OPA servers use, so any OPA decision-log
// service accepts it. Each event carries a fresh decision_id, which Decide
// also returns in [Decision].DecisionID so an audit record can point at it,
// the query path, the revision (and bundle name), the result and, on a
// failure, the error code, never its detail. The input is logged without
// call.args: argument values may be secrets, and call.args_digest still
// identifies them. Decide never waits for the network; what is lost (the
// buffer is bounded) is counted in [Engine.DecisionLogStats]. Close
// uploads what is buffered, for at most FlushTimeout.
//
// # The default policy
//
// Without WithModule the engine loads the embedded library ([DefaultPolicy],
// package ztagent, rego v1, query data.ztagent.decision). It reads grants
// from the data document, keyed by the agent's SPIFFE ID (input.subject.spiffe_id;
// spiffe://ztagent.dev/agent/default is the identity toolguard.New uses when
// given none):
//
//	{
//	  "agents": {
//	    "spiffe://ztagent.dev/agent/default": {
//	      "tools": ["read_file", "fetch_url", "send_email", "delete_record"],
//	      "hosts": ["docs.example.com", "mail.example.com", "api.internal.example"],
//	      "private_hosts": ["api.internal.example"]
//	    }
//	  },
//	  "tools": {"send_email": {"scopes": ["email:send"]}, "export_report": {"approval": "always"}},
//	  "credential_ttl_seconds": 60
//	}
//
// With no data at all it denies everything. Its rules, each covered by a
// Rego unit test in authz/policy/*_test.rego:
//
//	rule / reason code                 when                                                      effect
//	(default)                          no deny rule fires                                        allow; otherwise deny
//	tool_not_granted                   tool.name not in data.agents[subject.spiffe_id].tools     deny
//	                                   (unknown agents have no tools)
//	unknown_effect                     tool.effect not read, write, destructive or external      deny
//	destination_not_allowed            a url/email destination whose host (case-insensitive)     deny
//	                                   is not in the agent's hosts, or has no host
//	destination_kind_unknown           a destination whose kind is not url, email, path or argv  deny
//	external_without_destination       effect external and no url/email destination             deny
//	argument_injection                 an argv destination flagged: a command-line argument      deny
//	                                   that begins with '-' (toolguard.ArgvArg)
//	task_expired                       task.expires_at is set and not after input.time           deny
//	unknown_approval_setting_requires_approval
//	                                   data.tools[name].approval set, and not "always" or        approval.required
//	                                   "never": read as "always"
//	tool_setting_requires_approval     data.tools[name].approval is "always" (reads included)    approval.required
//	write_requires_approval            effect write or destructive                               approval.required
//	high_risk_requires_approval        tool.risk high                                            approval.required
//	tainted_context_requires_approval  context.taint non-empty and effect not read               approval.required
//	                                   (these three: unless data.tools[name].approval is "never")
//	allowed                            allowed and no approval reason                            the one reason
//	egress.allow_private (not a code)  every url/email destination's host is in the agent's      true; otherwise false
//	                                   private_hosts (each must also be in its hosts)
//	cache.ttl_seconds (not a code)     allowed, effect read, no approval required                data.decision_cache_ttl_seconds,
//	                                                                                             else 5; otherwise 0 (no reuse)
//
// On deny, reasons lists the deny codes; on allow, the approval codes, or
// "allowed"; most fundamental first, in the order of the table, so the first
// reason is the one a caller should act on. The messages of tool_not_granted
// and destination_not_allowed name the agent's SPIFFE ID and where its grants
// were looked up (data.agents["<id>"].tools or .hosts), or say that
// data.agents has no entry for that ID at all. Approval rules never deny:
// approval.reason joins their codes and the guard asks a human.
//
// data.tools[name].approval sets approval per tool: "always", "never", or
// absent or null for the rules by effect, risk and taint. Deny rules are
// decided first and stand: "never" lifts the library's three approval rules
// for that tool, taint included, so on a destructive tool it is the
// deployer's explicit choice; approval_reasons rules added beside the
// library still apply. Any other value (a typo such as "Never", another
// type) is read as "always" under its own code: it never weakens anything.
// A decision that needs approval is never cached.
//
// The credential's audience is "https://<host>" of the first url/email
// destination, else "urn:ztagent:tool:<name>"; its scopes are
// data.tools[name].scopes, else ["<name>:<effect>"]; ttl_seconds is
// data.credential_ttl_seconds, else 60. egress.hosts are the call's allowed
// hosts (lower case, sorted). egress.allow_private lets every granted name of
// the call resolve to a private address (see [Egress]), so the policy sets it
// only when all of the call's hosts are in data.agents[id].private_hosts: a
// call that also reaches one other host, granted or not, gets false.
// private_hosts is read per agent only (there is no top-level list) and
// qualifies hosts: a name listed there and not in hosts is granted nothing.
// redact is empty. Path destinations are not host-checked: the guard
// confines them under a root.
//
// To extend the default policy rather than replace it, load [DefaultPolicy]
// with WithModule and add modules to package ztagent with more deny or
// approval_reasons rules.
package authz
