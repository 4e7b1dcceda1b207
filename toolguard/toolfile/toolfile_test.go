package toolfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ztagent/ztagent/toolguard"
	"github.com/ztagent/ztagent/toolguard/toolfile"
)

const sample = `{"tools": {
  "read_text_file": {"effect": "read", "destinations": [{"path": "path", "root": "files"}],
                     "output": {"untrusted": "untrusted:file"}},
  "fetch": {"effect": "external", "destinations": [{"url": "url", "assume_scheme": "https", "optional": true}]},
  "send_money": {"effect": "external", "risk": "high",
                 "destinations": [{"recipient": "to", "kind": "iban"}, {"fixed_url": "https://bank.example/api"}],
                 "redact": ["pin"], "output_taint": ["untrusted:bank"]},
  "run": {"effect": "destructive", "destinations": [{"argv": "args"}, {"email": "notify"}]}
}}`

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tools.json")
	require.NoError(t, os.WriteFile(path, []byte(sample), 0o600))
	tools, err := toolfile.Load(path)
	require.NoError(t, err)
	require.Len(t, tools, 4)

	read := tools["read_text_file"]
	require.Equal(t, "read_text_file", read.Name)
	require.Equal(t, toolguard.Read, read.Effect)
	require.Equal(t, toolguard.Output{Untrusted: "untrusted:file"}, read.Output)
	require.Equal(t, []toolguard.Dest{toolguard.PathArg("path", filepath.Join(dir, "files"))}, read.Destinations,
		"a relative root is the file's directory's")
	require.Equal(t, []toolguard.Dest{toolguard.URLArg("url").AssumeScheme("https").Optional()}, tools["fetch"].Destinations)
	send := tools["send_money"]
	require.Equal(t, toolguard.High, send.Risk)
	require.Equal(t, []string{"pin"}, send.Redact)
	require.Equal(t, []string{"untrusted:bank"}, send.OutputTaint)
	require.Equal(t, []toolguard.Dest{toolguard.RecipientArg("to", "iban"), toolguard.FixedURL("https://bank.example/api")}, send.Destinations)
	require.Equal(t, []toolguard.Dest{toolguard.ArgvArg("args"), toolguard.EmailArg("notify")}, tools["run"].Destinations)
	for _, tool := range tools {
		require.NoError(t, tool.Check())
	}
}

// A file is refused whole, with the tool and the key that is wrong.
func TestRefused(t *testing.T) {
	for name, c := range map[string]struct{ doc, want string }{
		"not JSON":                  {`{`, "ends before it is complete"},
		"empty":                     {``, "ends before it is complete"},
		"no tools":                  {`{}`, `no "tools" object`},
		"unknown key":               {`{"tools": {"a": {"effect": "read", "efect": "x"}}}`, `unknown field "efect"`},
		"duplicate tool":            {`{"tools": {"a": {"effect": "read"}, "a": {"effect": "write"}}}`, `key "a" is given twice in the file.tools`},
		"duplicate key in tool":     {`{"tools": {"a": {"effect": "read", "effect": "write"}}}`, `key "effect" is given twice`},
		"two values":                {`{"tools": {}} {}`, "more than one JSON value"},
		"no effect":                 {`{"tools": {"a": {}}}`, "effect is required"},
		"bad effect":                {`{"tools": {"a": {"effect": "delete"}}}`, `unknown effect "delete"`},
		"bad name":                  {`{"tools": {"a b": {"effect": "read"}}}`, `tool name "a b"`},
		"two kinds":                 {`{"tools": {"a": {"effect": "read", "destinations": [{"url": "u", "email": "e"}]}}}`, "want exactly one of"},
		"no kind":                   {`{"tools": {"a": {"effect": "read", "destinations": [{}]}}}`, "want exactly one of"},
		"path without root":         {`{"tools": {"a": {"effect": "read", "destinations": [{"path": "p"}]}}}`, `needs a "root"`},
		"relative root in Parse":    {`{"tools": {"a": {"effect": "read", "destinations": [{"path": "p", "root": "rel"}]}}}`, "is relative"},
		"root on a url":             {`{"tools": {"a": {"effect": "read", "destinations": [{"url": "u", "root": "/x"}]}}}`, `"root" is for a "path"`},
		"recipient without kind":    {`{"tools": {"a": {"effect": "read", "destinations": [{"recipient": "to"}]}}}`, `needs a "kind"`},
		"bad scheme":                {`{"tools": {"a": {"effect": "read", "destinations": [{"url": "u", "assume_scheme": "ftp"}]}}}`, "want https or http"},
		"bad fixed url":             {`{"tools": {"a": {"effect": "read", "destinations": [{"fixed_url": "ftp://x"}]}}}`, "fixed URL"},
		"optional fixed url":        {`{"tools": {"a": {"effect": "read", "destinations": [{"fixed_url": "https://x", "optional": true}]}}}`, `"optional" does not apply`},
		"bad path":                  {`{"tools": {"a": {"effect": "read", "destinations": [{"url": "a..b"}]}}}`, "destination 0"},
		"untrusted paths, no label": {`{"tools": {"a": {"effect": "read", "output": {"untrusted_paths": ["x"]}}}}`, "need an Untrusted label"},
		"too deep":                  {strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested deeper"},
		"wrong type":                {`{"tools": {"a": {"effect": 1}}}`, "cannot unmarshal number"},
	} {
		_, err := toolfile.Parse([]byte(c.doc))
		require.ErrorContains(t, err, c.want, name)
		require.True(t, strings.HasPrefix(err.Error(), "toolfile: "), name)
	}
}

func TestLoadBounds(t *testing.T) {
	_, err := toolfile.Load(filepath.Join(t.TempDir(), "missing.json"))
	require.Error(t, err)
	big := filepath.Join(t.TempDir(), "big.json")
	require.NoError(t, os.WriteFile(big, []byte(`{"tools": {}, "x": "`+strings.Repeat("a", 5<<20)+`"}`), 0o600))
	_, err = toolfile.Load(big)
	require.ErrorContains(t, err, "larger than")
}

// FuzzParse: any document either parses into declarations that pass
// Tool.Check, or is refused; nothing panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte(`{"tools": {"a": {"effect": "read", "destinations": [{"path": "p", "root": "/r"}]}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		tools, err := toolfile.Parse(doc)
		if err != nil {
			return
		}
		for name, tool := range tools {
			require.Equal(t, name, tool.Name)
			require.NoError(t, tool.Check())
		}
	})
}
