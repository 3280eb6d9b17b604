package slacktest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Headers of a request Slack signs.
const (
	SignatureHeader = "X-Slack-Signature"
	TimestampHeader = "X-Slack-Request-Timestamp"
)

// Sign is Slack's signature of a request body sent at timestamp ts (Unix
// seconds): "v0=" and the hex HMAC-SHA256, keyed with the app's signing
// secret, of "v0:<ts>:<body>".
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Press is a button press in a message: who pressed which button, on
// which message.
type Press struct {
	// UserID is the Slack user who pressed, such as "U0ALICE"; UserName
	// their handle.
	UserID, UserName string
	// ActionID and Value are the button's.
	ActionID, Value string
	// Channel and MessageTS are the message's.
	Channel, MessageTS string
	// ResponseURL is where the app may answer; see Server.ResponseURL.
	ResponseURL string
	// TriggerID tells presses apart; a new one when "".
	TriggerID string
}

// Command is a slash command typed in a channel.
type Command struct {
	UserID, UserName string
	// Command is the command, "/klaxon" when "", and Text what followed it.
	Command, Text string
	ChannelID     string
	ResponseURL   string
	TriggerID     string
}

// Interaction builds the request Slack sends to an app's interactivity
// URL target when someone presses a button: a form POST whose payload
// field is a block_actions interaction, signed with secret at at.
func Interaction(t testing.TB, target, secret string, at time.Time, p Press) *http.Request {
	t.Helper()
	if p.TriggerID == "" {
		p.TriggerID = trigger(at)
	}
	actionTS := fmt.Sprintf("%d.%06d", at.Unix(), at.Nanosecond()/1000)
	payload := map[string]any{
		"type":       "block_actions",
		"user":       map[string]any{"id": p.UserID, "username": p.UserName, "name": p.UserName, "team_id": TeamID},
		"api_app_id": "A0KLAXON1",
		"token":      "verificationtokendeprecated",
		"container": map[string]any{"type": "message", "message_ts": p.MessageTS, "channel_id": p.Channel,
			"is_ephemeral": false},
		"trigger_id":            p.TriggerID,
		"team":                  map[string]any{"id": TeamID, "domain": "klaxon-test"},
		"enterprise":            nil,
		"is_enterprise_install": false,
		"channel":               map[string]any{"id": p.Channel, "name": "incidents"},
		"message":               map[string]any{"type": "message", "ts": p.MessageTS, "text": "an incident"},
		"state":                 map[string]any{"values": map[string]any{}},
		"response_url":          p.ResponseURL,
		"actions": []map[string]any{{
			"action_id": p.ActionID, "block_id": "klaxon_actions", "value": p.Value, "type": "button",
			"text": map[string]any{"type": "plain_text", "text": p.ActionID, "emoji": true}, "action_ts": actionTS,
		}},
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatalf("slacktest: encode interaction: %v", err)
	}
	return signed(t, target, secret, at, url.Values{"payload": {string(b)}})
}

// SlashCommand builds the request Slack sends to a slash command's
// request URL target: a form POST signed with secret at at.
func SlashCommand(t testing.TB, target, secret string, at time.Time, c Command) *http.Request {
	t.Helper()
	if c.Command == "" {
		c.Command = "/klaxon"
	}
	if c.TriggerID == "" {
		c.TriggerID = trigger(at)
	}
	form := url.Values{
		"token": {"verificationtokendeprecated"}, "team_id": {TeamID}, "team_domain": {"klaxon-test"},
		"channel_id": {c.ChannelID}, "channel_name": {"incidents"}, "user_id": {c.UserID}, "user_name": {c.UserName},
		"command": {c.Command}, "text": {c.Text}, "api_app_id": {"A0KLAXON1"}, "is_enterprise_install": {"false"},
		"response_url": {c.ResponseURL}, "trigger_id": {c.TriggerID},
	}
	return signed(t, target, secret, at, form)
}

func trigger(at time.Time) string {
	return fmt.Sprintf("%d.%d.%x", at.Unix(), at.UnixNano()%1e9, at.UnixNano())
}

// signed is a form POST of form to target, signed with secret at at.
func signed(t testing.TB, target, secret string, at time.Time, form url.Values) *http.Request {
	t.Helper()
	body := form.Encode()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, target, strings.NewReader(body))
	if err != nil {
		t.Fatalf("slacktest: request to %s: %v", target, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set(TimestampHeader, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(SignatureHeader, Sign(secret, at.Unix(), []byte(body)))
	return req
}

// Answer is how an app answered a request that Slack sent it.
type Answer struct {
	Status int
	Body   string
	// ResponseType and Text are the body's, when it is a JSON message
	// such as {"response_type": "ephemeral", "text": "..."}.
	ResponseType string
	Text         string
}

// Do sends req, as Slack does, and returns the app's answer; the test
// fails when no answer comes.
func Do(t testing.TB, req *http.Request) Answer {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second} // Slack waits 3 s; a test waits longer
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("slacktest: %s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("slacktest: read answer from %s: %v", req.URL, err)
	}
	a := Answer{Status: resp.StatusCode, Body: string(body)}
	var msg struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if json.Unmarshal(body, &msg) == nil {
		a.ResponseType, a.Text = msg.ResponseType, msg.Text
	}
	return a
}
