package redis

import (
	"testing"

	"github.com/klaxonhq/klaxon/internal/redistest"
	"github.com/stretchr/testify/require"
)

func TestPersistence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		aof, rdb bool
	}{
		{"none", nil, false, false},
		{"append-only file", []string{"--appendonly", "yes"}, true, false},
		{"snapshots", []string{"--save", "60 1"}, false, true},
		{"both", []string{"--appendonly", "yes", "--save", "60 1"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.Start(t, tt.args...)
			s := open(t, Options{Addrs: []string{srv.Addr()}})
			t.Cleanup(func() { _ = s.Close() })
			aof, rdb, err := s.Persistence(t.Context())
			require.NoError(t, err)
			require.Equal(t, tt.aof, aof, "aof")
			require.Equal(t, tt.rdb, rdb, "rdb")
		})
	}
}
