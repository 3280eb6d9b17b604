package email

import (
	"errors"
	"net/textproto"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// A relay that answers 421 closes the connection (RFC 5321 3.8): it
// takes no more from us for now, most often because we hold too many
// connections or sent too many mails. In a storm, every page that tries
// it anyway is one more refusal, and each retry of each page another:
// the relay asked for less and got more. So a 421 pauses the channel.
// A page sent during the pause does not reach the relay: it is deferred
// to the pause's end (klaxon.DeferredError), not failed. The first
// pause lasts pauseFirst; each 421 to a send that started after the
// pause before it was set doubles it, up to pauseMax; a mail the relay
// takes ends the doubling. A 421 to a send that started before the
// pause was set (one of the sends in flight when the relay began to
// refuse) says nothing new, and leaves the pause as it is.
const (
	pauseFirst = 10 * time.Second
	pauseMax   = 2 * time.Minute
)

// pause is the channel's pause after a 421. It is safe for concurrent
// use.
type pause struct {
	mu     sync.Mutex
	until  time.Time     // sends before it are deferred to it
	set    time.Time     // when the pause was last set
	length time.Duration // its length; 0 once a mail was taken
}

// holds reports whether a send at now is to wait, and until when.
func (p *pause) holds(now time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.until, now.Before(p.until)
}

// refused notes a 421 at now to a send that started at started, and
// returns how long from now the channel pauses.
func (p *pause) refused(started, now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.length == 0 || started.After(p.set) {
		p.length = min(max(2*p.length, pauseFirst), pauseMax)
		p.set, p.until = now, now.Add(p.length)
	}
	return max(p.until.Sub(now), 0)
}

// taken notes a mail the relay took: the next 421 pauses for
// pauseFirst again.
func (p *pause) taken() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.length = 0
}

// closing reports whether err is the relay's 421, at any point of the
// exchange: its greeting, EHLO, AUTH, or the mail's own commands.
func closing(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() == 421 {
		return true
	}
	var te *textproto.Error
	return errors.As(err, &te) && te.Code == 421
}
