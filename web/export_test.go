package web

// SetListLimit makes the incident list show n incidents at a time until
// the returned function restores it. Not for parallel tests.
func SetListLimit(n int) (restore func()) {
	old := listLimit
	listLimit = n
	return func() { listLimit = old }
}
