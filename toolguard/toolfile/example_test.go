package toolfile_test

import (
	"fmt"

	"github.com/ztagent/ztagent/toolguard/toolfile"
)

// Declarations for the tools of a server written in another language,
// read once at start: each becomes the toolguard.Tool its calls are
// guarded by.
func Example() {
	tools, err := toolfile.Parse([]byte(`{"tools": {
	  "read_text_file": {"effect": "read", "destinations": [{"path": "path", "root": "/srv/files"}],
	                     "output": {"untrusted": "untrusted:file"}},
	  "write_file": {"effect": "write", "destinations": [{"path": "path", "root": "/srv/files"}]}
	}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tools["read_text_file"].Effect, tools["write_file"].Effect, tools["read_text_file"].Output.Untrusted)

	_, err = toolfile.Parse([]byte(`{"tools": {"delete": {"effect": "delete"}}}`))
	fmt.Println(err)
	// Output:
	// read write untrusted:file
	// toolfile: toolguard: tool delete: unknown effect "delete"
}
