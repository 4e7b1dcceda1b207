package mcpfstest_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/internal/mcpfstest"
)

// The harness installs the pinned server and it answers MCP over stdio:
// initialize, then tools/list names its file tools.
func TestServerAnswersOverStdio(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "a.txt"), []byte("hello"), 0o644))
	argv := mcpfstest.Command(t, root)
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})

	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	send := func(v any) {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		_, err = stdin.Write(append(b, '\n'))
		require.NoError(t, err)
	}
	recv := func(id int) map[string]any {
		for lines.Scan() {
			var msg map[string]any
			require.NoError(t, json.Unmarshal(lines.Bytes(), &msg), lines.Text())
			if msg["id"] == float64(id) {
				return msg
			}
		}
		t.Fatalf("no response %d; stderr:\n%s", id, stderr.String())
		return nil
	}
	send(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": map[string]any{
		"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "mcpfstest", "version": "0"},
	}})
	require.Contains(t, recv(1), "result")
	send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	send(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
	res := recv(2)["result"].(map[string]any)
	var names []string
	for _, tool := range res["tools"].([]any) {
		names = append(names, tool.(map[string]any)["name"].(string))
	}
	require.Contains(t, names, "read_text_file")
	require.Contains(t, names, "write_file")
}
