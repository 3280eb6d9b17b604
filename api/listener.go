package api

import (
	"net"
	"sync"
)

// LimitListener wraps ln so that one client address holds at most perIP
// connections at once: a connection past that is closed as soon as it is
// accepted. A flood of idle connections from one address then cannot take
// every file descriptor, and senders from other addresses are still
// served.
func LimitListener(ln net.Listener, perIP int) net.Listener {
	return &limitListener{Listener: ln, perIP: perIP, open: map[string]int{}}
}

type limitListener struct {
	net.Listener
	perIP int

	mu   sync.Mutex
	open map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, err := net.SplitHostPort(c.RemoteAddr().String())
		if err != nil {
			host = c.RemoteAddr().String()
		}
		l.mu.Lock()
		if l.open[host] >= l.perIP {
			l.mu.Unlock()
			_ = c.Close()
			continue
		}
		l.open[host]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, release: sync.OnceFunc(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			if l.open[host]--; l.open[host] == 0 {
				delete(l.open, host)
			}
		})}, nil
	}
}

type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}
