package route

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon"
)

func TestTable(t *testing.T) {
	root, err := New(designSpec())
	require.NoError(t, err)
	policies := map[string]klaxon.Policy{"default": {Name: "default"}, "payments": {Name: "payments"}}
	table := NewTable(root, policies, map[string]map[string]string{"prometheus": {"team": "sre"}})

	for _, tc := range []struct {
		name   string
		alert  klaxon.Alert
		group  string // "" for the alert's own group
		policy string
		labels map[string]string
	}{
		{
			name:   "the root route",
			alert:  klaxon.Alert{Key: "am/1", Labels: map[string]string{"alertname": "DiskFull", "service": "db"}},
			policy: "default",
			labels: map[string]string{"alertname": "DiskFull", "service": "db"},
		},
		{
			name:   "a child route's policy and group_by",
			alert:  klaxon.Alert{Key: "am/2", Labels: map[string]string{"alertname": "Latency", "service": "payments", "severity": "page", "region": "eu"}},
			policy: "payments",
			labels: map[string]string{"alertname": "Latency", "region": "eu"},
		},
		{
			name:   "none of group_by: a group of its own",
			alert:  klaxon.Alert{Key: "am/3", Labels: map[string]string{"host": "a"}},
			policy: "default",
			labels: map[string]string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := table.Route(&tc.alert)
			require.NoError(t, err)
			r := root.Match(tc.alert.Labels)
			require.Equal(t, r.GroupKey(tc.alert.Labels, tc.alert.Key), tmpl.Group)
			require.Equal(t, tc.policy, tmpl.Policy.Name)
			require.Equal(t, tc.labels, tmpl.Labels)
			group, err := table.Group(&tc.alert)
			require.NoError(t, err)
			require.Equal(t, tmpl.Group, group, "Group is Route's group")
			require.Same(t, r, table.Match(tc.alert.Labels))
		})
	}

	t.Run("a policy the table does not have", func(t *testing.T) {
		_, err := NewTable(root, nil, nil).Route(&klaxon.Alert{Key: "am/1"})
		require.ErrorContains(t, err, `route {}: no policy "default"`)
	})
	t.Run("an integration's labels", func(t *testing.T) {
		require.Equal(t, map[string]string{"team": "sre"}, table.Labels("prometheus"))
		require.Nil(t, table.Labels("datadog"))
	})
}

// TestTableChat: a route's subscribers add to its policy's, a child's to
// its parent's, and a route's slack_channel takes the place of the
// policy's; the policies themselves are left as they were.
func TestTableChat(t *testing.T) {
	root, err := New(Spec{Policy: "default", Subscribers: []string{"user:carol"}, Routes: []Spec{
		{Matchers: []string{`service="payments"`}, SlackChannel: "C0PAY", Subscribers: []string{"https://status.example.com/hook"}},
	}})
	require.NoError(t, err)
	policies := map[string]klaxon.Policy{"default": {Name: "default", Subscribers: []string{"user:dave"}, SlackChannel: "C0ALL"}}
	table := NewTable(root, policies, nil)

	tmpl, err := table.Route(&klaxon.Alert{Key: "am/1", Labels: map[string]string{"service": "payments"}})
	require.NoError(t, err)
	require.Equal(t, []string{"user:dave", "user:carol", "https://status.example.com/hook"}, tmpl.Policy.Subscribers)
	require.Equal(t, "C0PAY", tmpl.Policy.SlackChannel)

	tmpl, err = table.Route(&klaxon.Alert{Key: "am/2", Labels: map[string]string{"service": "db"}})
	require.NoError(t, err)
	require.Equal(t, []string{"user:dave", "user:carol"}, tmpl.Policy.Subscribers)
	require.Equal(t, "C0ALL", tmpl.Policy.SlackChannel)
	require.Equal(t, []string{"user:dave"}, policies["default"].Subscribers, "the policy is not changed")
}

// TestTableChatOnce: a subscriber that the policy, a route and its
// parent each name is told once: the updates go to each entry of the
// list, so one listed twice would get every update twice.
func TestTableChatOnce(t *testing.T) {
	root, err := New(Spec{Policy: "default", Subscribers: []string{"user:carol"}, Routes: []Spec{
		{Matchers: []string{`service="payments"`}, Subscribers: []string{"user:carol", "user:dave", "https://status.example.com/hook"}},
	}})
	require.NoError(t, err)
	policies := map[string]klaxon.Policy{"default": {Name: "default", Subscribers: []string{"user:dave"}}}
	tmpl, err := NewTable(root, policies, nil).Route(&klaxon.Alert{Key: "am/1", Labels: map[string]string{"service": "payments"}})
	require.NoError(t, err)
	require.Equal(t, []string{"user:dave", "user:carol", "https://status.example.com/hook"}, tmpl.Policy.Subscribers)
}
