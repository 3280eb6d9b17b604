package smtptest_test

import (
	"net/smtp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/internal/smtptest"
)

const msg = "Subject: hi\r\n\r\nhello\r\n"

func TestServer(t *testing.T) {
	s := smtptest.Start(t, smtptest.Options{Username: "u", Password: "p"})
	to := []string{"alice@example.com"}

	err := smtp.SendMail(s.Addr(), nil, "k@example.com", to, []byte(msg))
	require.ErrorContains(t, err, "authenticate", "AUTH is required")
	err = smtp.SendMail(s.Addr(), smtp.PlainAuth("", "u", "bad", s.Host()), "k@example.com", to, []byte(msg))
	require.ErrorContains(t, err, "535")

	auth := smtp.PlainAuth("", "u", "p", s.Host())
	require.NoError(t, smtp.SendMail(s.Addr(), auth, "k@example.com", to, []byte(msg)))
	require.Len(t, s.Untaken(), 1, "what no Wait took")
	m := s.WaitMessage(t)
	require.Empty(t, s.Untaken())
	require.Equal(t, "k@example.com", m.From)
	require.Equal(t, to, m.To)
	require.True(t, strings.HasSuffix(string(m.Data), "hello\r\n"))

	s.Refuse(550, "no such user", 1)
	require.ErrorContains(t, smtp.SendMail(s.Addr(), auth, "k@example.com", to, []byte(msg)), "550")
	require.NoError(t, smtp.SendMail(s.Addr(), auth, "k@example.com", to, []byte(msg)))
	s.WaitMessage(t)
	require.Len(t, s.Messages(), 2)
}
