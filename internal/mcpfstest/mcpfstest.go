// Package mcpfstest gives tests the real MCP filesystem server,
// @modelcontextprotocol/server-filesystem from the npm registry, at the
// version pinned by internal/tools/mcpfs (package.json and its lock file),
// installed once into the tools cache (see internal/toolbuild.RequireNode).
// It speaks MCP over stdio: tests run it as a child process.
package mcpfstest

import (
	"testing"

	"github.com/ztagent/ztagent/internal/toolbuild"
)

// Program is the pinned server.
var Program = toolbuild.NodeProgram{Module: "internal/tools/mcpfs", Bin: "mcp-server-filesystem"}

// Command returns the command that runs the server over stdio, serving the
// directories roots (each must exist): node, its script, then roots.
func Command(t testing.TB, roots ...string) []string {
	t.Helper()
	return append(toolbuild.RequireNode(t, Program), roots...)
}
