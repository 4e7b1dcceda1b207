// Package toolfile reads tool declarations from a JSON file: what
// toolguard.Tool says in Go — effect, risk, which arguments name
// destinations, what the result carries — for tools that are not Go
// functions, such as those of an MCP server run behind a guard by another
// program. A file is checked whole when it is read: an unknown key, a key
// given twice, a destination without its field or root, a relative root
// where no base directory is known, and every error Tool.Check finds are
// refused, with the tool and the key that is wrong.
//
//	{"tools": {
//	  "read_text_file": {"effect": "read", "destinations": [{"path": "path", "root": "/srv/files"}],
//	                     "output": {"untrusted": "untrusted:file"}},
//	  "write_file":     {"effect": "write", "destinations": [{"path": "path", "root": "/srv/files"}]},
//	  "fetch":          {"effect": "external", "destinations": [{"url": "url", "assume_scheme": "https"}]},
//	  "send_money":     {"effect": "external", "risk": "high",
//	                     "destinations": [{"recipient": "to", "kind": "iban"}], "redact": ["pin"]}
//	}}
//
// A destination names its kind by the key that holds its argument path:
// "url", "email", "path" (with "root"), "argv", "recipient" (with "kind"),
// or "fixed_url" (a URL the tool always reaches, not an argument);
// "optional" and "assume_scheme" are as Dest.Optional and
// Dest.AssumeScheme. "output" takes "untrusted", "untrusted_paths" and
// "trusted_paths" (toolguard.Output); "output_taint" and "redact" are lists
// of strings.
package toolfile
