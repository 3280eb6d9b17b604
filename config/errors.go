package config

import (
	"errors"
	"fmt"

	"github.com/klaxonhq/klaxon"
)

// Error is one problem in the configuration: the file, the key path in it
// (like steps[0].escalate_after) and what is wrong. Load returns every
// Error it finds, joined with errors.Join. An Error matches
// klaxon.ErrInvalid, unless it is about a file that could not be read: then
// it wraps the error from the file system.
type Error struct {
	// File is the file as the user named it: the path given to Load, or a
	// file it names, joined to the folder of the path given to Load.
	File string
	// Path is the key path in File; empty for the file as a whole.
	Path string
	Msg  string

	err error
}

// Error returns "FILE: PATH: MSG", leaving out an empty FILE or PATH.
func (e *Error) Error() string {
	s := e.Msg
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.File != "" {
		s = e.File + ": " + s
	}
	return s
}

// Is makes errors.Is(err, klaxon.ErrInvalid) true for a problem in the
// content of a file.
func (e *Error) Is(target error) bool { return e.err == nil && target == klaxon.ErrInvalid }

// Unwrap returns the error that made a file unreadable, if any.
func (e *Error) Unwrap() error { return e.err }

// problems collects the Errors of one Load.
type problems struct {
	list []error
	// undecoded are the keys, by file and path, whose values could not
	// be decoded: they are left empty, and not said to be empty too.
	undecoded map[[2]string]bool
}

// add records a problem at path in file, unless its value could not be
// decoded (undecoded): that problem says what is wrong with it.
func (p *problems) add(file, path, format string, args ...any) {
	if p.undecoded[[2]string{file, path}] {
		return
	}
	p.list = append(p.list, &Error{File: file, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// undecodable records that the value at path in file could not be
// decoded, and why.
func (p *problems) undecodable(file, path, format string, args ...any) {
	p.add(file, path, format, args...)
	if p.undecoded == nil {
		p.undecoded = map[[2]string]bool{}
	}
	p.undecoded[[2]string{file, path}] = true
}

// err joins the problems; nil when there are none.
func (p *problems) err() error { return errors.Join(p.list...) }

// count is how many problems there are so far.
func (p *problems) count() int { return len(p.list) }
