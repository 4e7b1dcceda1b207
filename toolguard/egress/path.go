package egress

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// File is a path a call may open, with the root it was resolved under:
// what ResolvePath accepted. OpenFile opens it, or what lies below it, only
// through that root.
type File struct{ root, path string }

// Path is the path, absolute and clean.
func (f File) Path() string { return f.path }

// ResolvePath places p under root, an absolute directory that exists, and
// refuses what could lead elsewhere than the path judged: "..", NUL and
// control characters, percent-encoded dots and separators (a tool that
// decodes them later would escape), anything outside root after cleaning
// (filepath.Rel compares whole elements, so /srv/data2 is not under
// /srv/data), and a symlink in any element below root, checked through
// os.Root. os.Root alone keeps a path from leaving root; a symlink inside
// root could still lead the tool elsewhere in root than the path the policy
// judges ("public/report.txt" → "../private/secret"). A path that does not
// exist yet is accepted (a tool may create it) as far as it exists. p is
// absolute or relative to root. The check is repeated where the file is
// opened (OpenFile), which is what holds when a symlink is swapped in after
// the decision.
func ResolvePath(root, p string) (File, error) {
	full, rel, err := lexicalPath(root, p)
	if err != nil {
		return File{}, err
	}
	root = filepath.Clean(root)
	r, err := os.OpenRoot(root)
	if err != nil {
		return File{}, fmt.Errorf("root %s cannot be opened", root)
	}
	defer r.Close()
	if err := noSymlinks(r, rel); err != nil {
		return File{}, fmt.Errorf("path %s under %s: %w", rel, root, err)
	}
	return File{root: root, path: full}, nil
}

// lexicalPath places p under root without touching the file system: it
// refuses "..", NUL and control characters, percent-encoded dots and
// separators, and anything outside root after cleaning.
func lexicalPath(root, p string) (full, rel string, err error) {
	if p == "" || strings.IndexFunc(p, isControl) >= 0 {
		return "", "", errors.New("empty path or control characters in path")
	}
	for _, part := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "", "", errors.New("path contains '..'")
		}
	}
	if hidesSeparator(p) {
		return "", "", errors.New("path contains percent-encoded dots or separators")
	}
	root = filepath.Clean(root)
	full = filepath.Clean(p)
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, full)
	}
	rel, ok := relWithin(root, full)
	if !ok {
		return "", "", fmt.Errorf("path is outside %s", root)
	}
	return full, rel, nil
}

// errSymlink is a path with a symlink in it, below its root.
var errSymlink = errors.New("it goes through a symlink, which could lead elsewhere than the path judged")

// noSymlinks checks each element of rel under r, from the first, with
// Lstat: a symlink is errSymlink, an element that does not exist ends the
// walk, and any other failure (a permission, an escape os.Root refuses) is
// an error.
func noSymlinks(r *os.Root, rel string) error {
	at := ""
	for elem := range strings.SplitSeq(rel, string(filepath.Separator)) {
		if elem == "" || elem == "." {
			continue
		}
		at = filepath.Join(at, elem)
		fi, err := r.Lstat(at)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			return errors.New("it cannot be resolved (a symlink that leaves the root?)")
		case fi.Mode()&fs.ModeSymlink != 0:
			return errSymlink
		}
	}
	return nil
}

// within reports whether p is dir or below it, comparing whole elements.
func within(dir, p string) bool {
	_, ok := relWithin(dir, p)
	return ok
}

// relWithin is p relative to dir, if p is dir or below it.
func relWithin(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	return rel, err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
