package email_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
	"github.com/klaxonhq/klaxon/notify"
	"github.com/klaxonhq/klaxon/notify/email"
)

// After the end of a mail (the "." of DATA), what a relay does.
const (
	takeAndDrop = "drop" // takes the mail, then goes away without a word
	takeAnd451  = "451"  // takes the mail, then answers 451 all the same
	takeAnd250  = "250"  // takes the mail and says so
)

// ambiguousRelay is a relay that answers the end of the mail of its
// connection i as ends[i] says (takeAnd250 past the list), and records
// every mail it read to the end, whatever it answered.
type ambiguousRelay struct {
	mu    sync.Mutex
	conns int
	mails [][]byte
}

func startAmbiguousRelay(t *testing.T, ends ...string) (*ambiguousRelay, *net.TCPAddr) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &ambiguousRelay{}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			end := takeAnd250
			if r.conns < len(ends) {
				end = ends[r.conns]
			}
			r.conns++
			r.mu.Unlock()
			wg.Go(func() { r.serve(c, end) })
		}
	})
	return r, l.Addr().(*net.TCPAddr)
}

func (r *ambiguousRelay) serve(c net.Conn, end string) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second)) // bounds a failure only
	br := bufio.NewReader(c)
	say := func(s string) { _, _ = io.WriteString(c, s+"\r\n") }
	say("220 relay ready")
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250 relay")
		case cmd == "DATA":
			say("354 go ahead")
			var data bytes.Buffer
			for {
				if line, err = br.ReadString('\n'); err != nil {
					return
				}
				if line == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(line, "."))
			}
			r.mu.Lock()
			r.mails = append(r.mails, data.Bytes())
			r.mu.Unlock()
			switch end {
			case takeAndDrop:
				return
			case takeAnd451:
				say("451 4.3.0 try again later")
			default:
				say("250 queued")
			}
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// messageIDs are the Message-IDs of the mails r read.
func (r *ambiguousRelay) messageIDs(t *testing.T) []string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, data := range r.mails {
		m, err := mail.ReadMessage(bytes.NewReader(data))
		require.NoError(t, err)
		ids = append(ids, m.Header.Get("Message-ID"))
	}
	return ids
}

// TestRetriedMailKeepsItsMessageID: a relay that took a mail and then
// went away, or answered 4xx all the same, may deliver it; the mail is
// tried again, within the try and then by the engine, and may be
// delivered again. Each copy has the Message-ID of the first, so that
// the mail servers and apps that keep one message of a Message-ID
// (Gmail among them) show the page once. Another page, to another
// person or of another step, and a status update, are mails of their
// own.
func TestRetriedMailKeepsItsMessageID(t *testing.T) {
	relay, addr := startAmbiguousRelay(t, takeAndDrop, takeAnd451, takeAndDrop)
	e, _ := newEmailAt(t, addr.IP.String(), addr.Port, email.Options{})
	p := page
	p.Opened = t0.Add(-time.Minute)

	err := e.Send(t.Context(), p)
	require.Error(t, err, "no try had the relay's word")
	require.True(t, notify.Retryable(err), "the engine tries the page again: %v", err)
	require.NoError(t, e.Send(t.Context(), p), "the engine's next try")
	ids := relay.messageIDs(t)
	require.Len(t, ids, 4, "three tries of the first Send, one of the second")
	require.Regexp(t, `^<[^<>@\s]+@klaxon\.example\.com>$`, ids[0])
	for i, id := range ids {
		require.Equal(t, ids[0], id, "copy %d of the page", i)
	}

	bob := p
	bob.User = klaxon.User{ID: "bob", Email: "bob@example.com"}
	next := p
	next.Notification++
	update := klaxon.Page{Incident: p.Incident, Opened: p.Opened, User: p.User, Via: klaxon.ViaEmail,
		Summary: p.Summary, Update: "acknowledged", Text: "Incident #42 acknowledged by alice: " + p.Summary}
	for _, o := range []klaxon.Page{bob, next, update} {
		require.NoError(t, e.Send(t.Context(), o))
	}
	ids = relay.messageIDs(t)
	seen := map[string]int{}
	for i, id := range ids[3:] {
		j, ok := seen[id]
		require.False(t, ok, "mail %d has the Message-ID of mail %d: %s", i+3, j+3, id)
		seen[id] = i
	}
}
