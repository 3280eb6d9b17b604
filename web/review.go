package web

import (
	"cmp"
	"net/http"
	"net/url"
	"time"

	"github.com/klaxonhq/klaxon/config"
	"github.com/klaxonhq/klaxon/review"
)

type reviewPage struct {
	ID, Markdown, TZ string
}

// export is the review of the request's incident in Markdown, with
// times in the reader's zone: ?tz=, else the signed-in user's own, else
// UTC.
func (c *Console) export(r *http.Request, id *Identity) (md string, loc *time.Location, err error) {
	v := c.o.View()
	tz := r.URL.Query().Get("tz")
	if tz == "" && id.Kind == KindUser {
		if u, ok := v.User(id.Name); ok {
			tz = u.TimeZone
		}
	}
	if loc, err = review.Zone(tz); err != nil {
		return "", nil, err
	}
	md, err = review.Export(r.Context(), c.o.Incidents, v.User, r.PathValue("id"), loc)
	return md, loc, err
}

// review serves GET /incidents/{id}/review: the post-incident review in
// Markdown, to read and to copy; /incidents/{id}/review.md is the file.
func (c *Console) review(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	md, loc, err := c.export(r, id)
	if err != nil {
		c.fail(w, r, id, err)
		return
	}
	c.show(w, r, s, id, "review", page{Title: "Review of #" + r.PathValue("id"), Nav: "incidents", Data: reviewPage{ID: r.PathValue("id"), Markdown: md, TZ: loc.String()}})
}

// reviewFile serves GET /incidents/{id}/review.md.
func (c *Console) reviewFile(w http.ResponseWriter, r *http.Request, _ *session, id *Identity) {
	md, _, err := c.export(r, id)
	if err != nil {
		c.fail(w, r, id, err)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="incident-`+url.PathEscape(r.PathValue("id"))+`-review.md"`)
	_, _ = w.Write([]byte(md))
}

type reportPage struct {
	Since, By string
	Bys       []string
	Report    review.Report
	Truncated bool
}

// report serves GET /report?since=30d&by=: MTTA, MTTR, pages, after-hours
// pages and the noisiest alerts.
func (c *Console) report(w http.ResponseWriter, r *http.Request, s *session, id *Identity) {
	q, now := r.URL.Query(), c.now()
	p := reportPage{Since: cmp.Or(q.Get("since"), "30d"), By: q.Get("by"), Bys: []string{review.ByPolicy, review.ByService, review.ByIntegration, review.ByUser}}
	since, err := config.Since(p.Since, now)
	if err == nil {
		err = review.CheckBy(p.By)
	}
	if err != nil {
		c.fail(w, r, id, err)
		return
	}
	p.Report, p.Truncated, err = review.Load(r.Context(), c.o.Incidents, review.Options{Since: since, By: p.By, Users: c.o.View().User})
	if err != nil {
		c.fail(w, r, id, err)
		return
	}
	c.show(w, r, s, id, "report", page{Title: "Report", Nav: "report", Data: p})
}
