package toolfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/ztagent/ztagent/toolguard"
)

// maxFileSize bounds what Load reads: a declaration file is small, and one
// that is not is a mistake rather than something to hold in memory.
const maxFileSize = 4 << 20

// maxDepth bounds nesting: a declaration is four levels deep, and a
// document nested thousands deep is an attack on the reader.
const maxDepth = 32

// Load reads the declarations in the file at path. A relative "root" is
// relative to the file's directory.
func Load(path string) (map[string]toolguard.Tool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("toolfile: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("toolfile: %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("toolfile: %s: larger than %d bytes", path, maxFileSize)
	}
	abs, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("toolfile: %s: %w", path, err)
	}
	tools, err := parse(data, abs)
	if err != nil {
		return nil, fmt.Errorf("toolfile: %s: %w", path, err)
	}
	return tools, nil
}

// Parse reads declarations from data. Every "root" must be absolute.
func Parse(data []byte) (map[string]toolguard.Tool, error) {
	tools, err := parse(data, "")
	if err != nil {
		return nil, fmt.Errorf("toolfile: %w", err)
	}
	return tools, nil
}

type file struct {
	Tools map[string]tool `json:"tools"`
}

type tool struct {
	Effect       string   `json:"effect"`
	Risk         string   `json:"risk"`
	Destinations []dest   `json:"destinations"`
	OutputTaint  []string `json:"output_taint"`
	Redact       []string `json:"redact"`
	Output       *output  `json:"output"`
}

type dest struct {
	URL          *string `json:"url"`
	Email        *string `json:"email"`
	Path         *string `json:"path"`
	Argv         *string `json:"argv"`
	Recipient    *string `json:"recipient"`
	FixedURL     *string `json:"fixed_url"`
	Root         string  `json:"root"`
	Kind         string  `json:"kind"`
	AssumeScheme string  `json:"assume_scheme"`
	Optional     bool    `json:"optional"`
}

type output struct {
	Untrusted      string   `json:"untrusted"`
	UntrustedPaths []string `json:"untrusted_paths"`
	TrustedPaths   []string `json:"trusted_paths"`
}

func parse(data []byte, base string) (map[string]toolguard.Tool, error) {
	if err := noDuplicateKeys(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	if f.Tools == nil {
		return nil, errors.New(`no "tools" object`)
	}
	names := make([]string, 0, len(f.Tools))
	for name := range f.Tools {
		names = append(names, name)
	}
	sort.Strings(names) // the first error is the same on every load
	out := make(map[string]toolguard.Tool, len(f.Tools))
	for _, name := range names {
		t, err := f.Tools[name].declare(name, base)
		if err != nil {
			return nil, fmt.Errorf("tool %q: %w", name, err)
		}
		if err := t.Check(); err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

func (t tool) declare(name, base string) (toolguard.Tool, error) {
	decl := toolguard.Tool{
		Name: name, Effect: toolguard.Effect(t.Effect), Risk: toolguard.Risk(t.Risk),
		OutputTaint: t.OutputTaint, Redact: t.Redact,
	}
	if t.Output != nil {
		decl.Output = toolguard.Output{Untrusted: t.Output.Untrusted, UntrustedPaths: t.Output.UntrustedPaths, TrustedPaths: t.Output.TrustedPaths}
	}
	for i, d := range t.Destinations {
		dd, err := d.declare(base)
		if err != nil {
			return decl, fmt.Errorf("destination %d: %w", i, err)
		}
		decl.Destinations = append(decl.Destinations, dd)
	}
	return decl, nil
}

func (d dest) declare(base string) (toolguard.Dest, error) {
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{{"url", d.URL != nil}, {"email", d.Email != nil}, {"path", d.Path != nil}, {"argv", d.Argv != nil}, {"recipient", d.Recipient != nil}, {"fixed_url", d.FixedURL != nil}} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) != 1 {
		return toolguard.Dest{}, fmt.Errorf(`want exactly one of "url", "email", "path", "argv", "recipient", "fixed_url"; got %v`, kinds)
	}
	if d.Root != "" && d.Path == nil {
		return toolguard.Dest{}, errors.New(`"root" is for a "path" destination`)
	}
	if d.Kind != "" && d.Recipient == nil {
		return toolguard.Dest{}, errors.New(`"kind" is for a "recipient" destination`)
	}
	if d.AssumeScheme != "" && d.URL == nil {
		return toolguard.Dest{}, errors.New(`"assume_scheme" is for a "url" destination`)
	}
	if d.Optional && d.FixedURL != nil {
		return toolguard.Dest{}, errors.New(`a "fixed_url" is never absent: "optional" does not apply`)
	}
	var out toolguard.Dest
	switch {
	case d.URL != nil:
		out = toolguard.URLArg(*d.URL)
		if d.AssumeScheme != "" {
			out = out.AssumeScheme(d.AssumeScheme)
		}
	case d.Email != nil:
		out = toolguard.EmailArg(*d.Email)
	case d.Path != nil:
		root := d.Root
		switch {
		case root == "":
			return out, errors.New(`a "path" destination needs a "root"`)
		case !filepath.IsAbs(root) && base == "":
			return out, fmt.Errorf("root %q is relative, and declarations not read from a file have no directory to resolve it in", root)
		case !filepath.IsAbs(root):
			root = filepath.Join(base, root)
		}
		out = toolguard.PathArg(*d.Path, filepath.Clean(root))
	case d.Argv != nil:
		out = toolguard.ArgvArg(*d.Argv)
	case d.Recipient != nil:
		if d.Kind == "" {
			return out, errors.New(`a "recipient" destination needs a "kind" (iban, phone, chat_channel, chat_user, account, …)`)
		}
		out = toolguard.RecipientArg(*d.Recipient, d.Kind)
	default:
		out = toolguard.FixedURL(*d.FixedURL)
	}
	if d.Optional {
		out = out.Optional()
	}
	return out, nil
}

// noDuplicateKeys refuses an object that names a key twice anywhere:
// encoding/json would keep the last silently, and a declaration file read
// two ways is a declaration nobody reviewed.
func noDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func(path string, depth int) error
	walk = func(path string, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("%s is nested deeper than %d", path, maxDepth)
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key := k.(string)
				if seen[key] {
					return fmt.Errorf("key %q is given twice in %s", key, path)
				}
				seen[key] = true
				if err := walk(path+"."+key, depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := walk(fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk("the file", 0); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("not JSON: the document ends before it is complete")
		}
		return err
	}
	return nil
}
