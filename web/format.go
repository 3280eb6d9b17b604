package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/review"
)

// parsePages parses each page's template with the layout it fills.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web console: %w", err)
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web console: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFiles, n)
		if err != nil {
			return nil, fmt.Errorf("web console: %w", err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"age":     age,
	"span":    klaxon.Span,
	"iso":     func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utc":     func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"utcs":    func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }, // the timeline's: a page and its ack are often a minute's
	"join":    strings.Join,
	"ack":     func() klaxon.Scope { return klaxon.ScopeAct },
	"admin":   func() klaxon.Scope { return klaxon.ScopeAdmin },
	"add":     func(a, b int) int { return a + b },
	"eventOf": eventText,
	"median":  func(s review.Stat) string { return statOr(s, s.Median) },
	"p90":     func(s review.Stat) string { return statOr(s, s.P90) },
	"short":   short,
	"long":    func(s string) bool { return utf8.RuneCountInString(s) > shortText },
	"webURL":  webURL,
	// segment writes a name (a schedule's, free text in its file) as one
	// segment of a link's path: html/template leaves "/", "#" and "?"
	// as they are in a URL, which would split it or cut it short.
	"segment": url.PathEscape,
}

// shortText is how many characters of a summary a heading or a row
// shows: one is free text of up to 16 KiB (a stack trace), which would
// push an incident's buttons screens down.
const shortText = 280

// short is s cut to shortText characters, marked; the page shows the
// whole text apart, folded (see long).
func short(s string) string {
	if utf8.RuneCountInString(s) <= shortText {
		return s
	}
	n := 0
	for i := range s {
		if n == shortText {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// statOr is d, or a dash when the stat counted nothing.
func statOr(s review.Stat, d review.Duration) string {
	if s.Count == 0 {
		return "—"
	}
	return d.String()
}

// age says how long ago t was, to the coarsest unit that matters:
// "45s", "12m", "3h 5m", "2d 4h".
func age(t, now time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// eventText says what a timeline entry records, for people.
func eventText(e klaxon.Event) string {
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(string(e.Kind), "_", " "))
	if e.Alert != "" {
		fmt.Fprintf(&b, " %s", e.Alert)
	}
	if e.User != "" {
		fmt.Fprintf(&b, " to %s", e.User)
	}
	if e.Via != "" {
		fmt.Fprintf(&b, " by %s", e.Via)
	}
	switch {
	case e.Step == nil:
	case *e.Step < 0:
		b.WriteString(" (fallback)")
	default:
		fmt.Fprintf(&b, " (step %d)", *e.Step+1)
	}
	if e.By != "" {
		fmt.Fprintf(&b, " by %s", e.By)
		if e.ViaToken != "" {
			fmt.Fprintf(&b, " through %s", e.ViaToken)
		}
	}
	if e.How != "" {
		fmt.Fprintf(&b, " via %s", e.How)
	}
	if e.Text != "" {
		fmt.Fprintf(&b, ": %s", e.Text)
	}
	return b.String()
}
