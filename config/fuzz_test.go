package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad loads fuzzed bytes as klaxon.yaml next to the example policies,
// users and schedules: Load must never panic, and must return either a complete
// Config or only *Errors.
func FuzzLoad(f *testing.F) {
	example, err := os.ReadFile("../examples/klaxon.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add([]byte(strings.ReplaceAll(string(example), "policy: payments", "policy: nope")))
	f.Add([]byte(strings.ReplaceAll(string(example), "severity=~", "severity=~(")))
	f.Add([]byte(strings.ReplaceAll(string(example), ":-dev-api-token", "")))
	f.Add([]byte(strings.ReplaceAll(string(example), "console: {}", "console: ~\n  twilio: {from: 1}")))
	f.Add([]byte(string(example) + "lisen: x\nstore: {redis: {addrs: [], db: x}}\n"))
	f.Add([]byte(string(example[:len(example)/2])))
	f.Add([]byte(""))
	f.Add([]byte("- a\n"))
	f.Add([]byte("route: {policy: default, routes: [{routes: [{matchers: ['{a=\"1\",b!~\"x\"}']}]}]}\npolicies: policies\n"))
	f.Add([]byte("1: 2\n? [a]\n: b\nlisten: &x [*x]\n"))
	f.Add([]byte("api: {tokens: [{name: a, token: \"${X:-${Y}}\"}]}\nusers: \"$${x}\"\n"))
	f.Add([]byte(strings.ReplaceAll(string(example), "schedules: schedules/", "schedules: nope/")))
	f.Add([]byte(strings.ReplaceAll(string(example), "listen: 127.0.0.1:8080", "listen: [{address: ':0', serve: [api, x]}, {address: ':0', tls: {cert_file: users.yaml}}, 1]\ntls: {}")))
	f.Add([]byte(strings.ReplaceAll(string(example), "users: users.yaml", "schedules: [x]")))

	dir := f.TempDir()
	copyFile(f, "../examples/users.yaml", filepath.Join(dir, "users.yaml"))
	for _, p := range []string{"policies/default.yaml", "policies/payments.yaml", "schedules/payments-primary.yaml", "schedules/payments-secondary.yaml"} {
		copyFile(f, filepath.Join("../examples", p), filepath.Join(dir, p))
	}
	path := filepath.Join(dir, "klaxon.yaml")

	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path, nil)
		if err == nil {
			if c == nil || c.Route == nil || c.Policies == nil || c.Users == nil || c.Schedules == nil {
				t.Fatalf("no error and an incomplete config: %+v", c)
			}
			return
		}
		if c != nil {
			t.Fatalf("a config and an error: %v", err)
		}
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			var ce *Error
			if !errors.As(e, &ce) {
				t.Fatalf("%T is not a *config.Error: %v", e, e)
			}
		}
	})
}

func copyFile(f *testing.F, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		f.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		f.Fatal(err)
	}
}
