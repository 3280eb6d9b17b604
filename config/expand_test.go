package config

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestExpand(t *testing.T) {
	env := map[string]string{"SET": "value", "EMPTY": "", "QUOTED": "a\"b\n${SET}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		name string
		in   string
		want string
		err  string
	}{
		{name: "no reference", in: "plain $ text {}", want: "plain $ text {}"},
		{name: "set", in: "${SET}", want: "value"},
		{name: "within text", in: "a-${SET}-b-${SET}", want: "a-value-b-value"},
		{name: "default when unset", in: "${UNSET:-dev-token}", want: "dev-token"},
		{name: "default when empty", in: "${EMPTY:-dev}", want: "dev"},
		{name: "set wins over default", in: "${SET:-dev}", want: "value"},
		{name: "empty default", in: "${UNSET:-}", want: ""},
		{name: "default with specials", in: "${UNSET:-a:b-c$d{e}", want: "a:b-c$d{e"},
		{name: "set but empty", in: "${EMPTY}", want: ""},
		{name: "value not expanded again", in: "${QUOTED}", want: "a\"b\n${SET}"},
		{name: "escaped", in: "$${SET} and $$", want: "${SET} and $$"},
		{name: "unset", in: "x${UNSET}", err: "environment variable UNSET is not set (use ${UNSET:-default} for a default)"},
		{name: "unterminated", in: "${SET", err: "unterminated ${ (write $${ for a literal ${)"},
		{name: "empty name", in: "${}", err: "bad reference ${}: want ${VAR} or ${VAR:-default}"},
		{name: "bad name", in: "${A-B}", err: "bad reference ${A-B}: want ${VAR} or ${VAR:-default}"},
		{name: "digit first", in: "${1A}", err: "bad reference ${1A}: want ${VAR} or ${VAR:-default}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.in, lookup)
			if tt.err != "" {
				require.EqualError(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
