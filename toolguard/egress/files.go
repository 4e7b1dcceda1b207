package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// OpenFile opens name for the guarded call running under ctx, as
// os.OpenFile would, but only if name is one of the files of the call's
// grant (its authorized path destinations, declared with toolguard.PathArg)
// or lies below one, and only through os.Root at the root the file was
// resolved under: ".." and symlinks that leave the root fail at open time,
// so a symlink swapped in after the decision does not escape.
// A path with a symlink in it below the root is refused, before the file is
// opened and again after, with a check that the file opened is the one the
// path names: the policy judged the path, not where a symlink leads. A
// symlink swapped in during the open is found before O_TRUNC takes effect,
// and a file is created only where no symlink is.
// name is what the tool received, absolute or relative to the root.
// Outside a guarded call, or after it returned, nothing is opened. A
// refusal matches ErrEgressDenied; an error from opening a path the call
// may open (it does not exist) does not.
func OpenFile(ctx context.Context, name string, flag int, perm os.FileMode) (*os.File, error) {
	e, err := grantFrom(ctx)
	if err != nil {
		return nil, refused("toolguard: open %s refused: %w", name, err)
	}
	for _, g := range e.files {
		if g == (File{}) {
			continue // the zero File names no root: it grants nothing
		}
		full, rel, err := lexicalPath(g.root, name)
		if err != nil || !within(g.path, full) {
			continue
		}
		r, err := os.OpenRoot(g.root)
		if err != nil {
			return nil, fmt.Errorf("toolguard: open %s: %w", name, err)
		}
		defer r.Close()
		if err := noSymlinks(r, rel); err != nil {
			return nil, refused("toolguard: open %s refused: %w", name, err)
		}
		return openChecked(r, rel, name, flag, perm)
	}
	return nil, refused("toolguard: open %s refused: not a path authorized for this call", name)
}

// openChecked opens rel under r so that a symlink swapped in while it opens
// (os.Root follows one that stays inside the root) does no harm before
// sameAfterOpen finds it: O_TRUNC is applied only to the checked file, and a
// file is created only with O_EXCL, which never follows a symlink.
func openChecked(r *os.Root, rel, name string, flag int, perm os.FileMode) (*os.File, error) {
	trunc := flag&os.O_TRUNC != 0
	flag &^= os.O_TRUNC
	var f *os.File
	var err error
	switch {
	case flag&os.O_CREATE == 0 || flag&os.O_EXCL != 0:
		f, err = r.OpenFile(rel, flag, perm)
	default: // create if missing: the existing file first, then a new one
		if f, err = r.OpenFile(rel, flag&^os.O_CREATE, perm); errors.Is(err, fs.ErrNotExist) {
			if f, err = r.OpenFile(rel, flag|os.O_EXCL, perm); errors.Is(err, fs.ErrExist) {
				f, err = r.OpenFile(rel, flag&^os.O_CREATE, perm) // created meanwhile
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("toolguard: open %s: %w", name, err)
	}
	if err := sameAfterOpen(r, rel, f); err != nil {
		_ = f.Close()
		return nil, refused("toolguard: open %s refused: %w", name, err)
	}
	if trunc {
		if err := f.Truncate(0); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("toolguard: open %s: %w", name, err)
		}
	}
	return f, nil
}

// sameAfterOpen checks, once f is open, that rel still has no symlink in it
// and names the file f is: a symlink swapped in while the file was being
// opened shows in one or the other.
func sameAfterOpen(r *os.Root, rel string, f *os.File) error {
	if err := noSymlinks(r, rel); err != nil {
		return err
	}
	opened, err := f.Stat()
	if err != nil {
		return err
	}
	named, err := r.Lstat(rel)
	if err != nil || !os.SameFile(opened, named) {
		return errors.New("the path changed while the file was opened")
	}
	return nil
}

// ReadFile reads a whole file through OpenFile.
func ReadFile(ctx context.Context, name string) ([]byte, error) {
	f, err := OpenFile(ctx, name, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	return b, errors.Join(err, f.Close())
}
