package embedded

import (
	"os"
	"syscall"
)

// fdatasync makes f's data durable, without its times, as bbolt does.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
