package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	koanfyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/api"
	"github.com/klaxonhq/klaxon/config"
)

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", name))
	require.NoError(t, err)
	return string(b)
}

// withoutStore drops a config's leading comment lines before "# Klaxon
// configuration." and its store block, up to the next blank line.
func withoutStore(t *testing.T, cfg string) string {
	t.Helper()
	i := strings.Index(cfg, "# Klaxon configuration.")
	require.GreaterOrEqual(t, i, 0)
	cfg = cfg[i:]
	start := strings.Index(cfg, "\nstore:\n")
	require.GreaterOrEqual(t, start, 0)
	end := strings.Index(cfg[start+1:], "\n\n")
	require.GreaterOrEqual(t, end, 0)
	return cfg[:start+1] + cfg[start+1+end+2:]
}

// TestExampleRedisConfig checks examples/klaxon-redis.yaml: klaxon check
// passes, it keeps the store in Redis, and it is examples/klaxon.yaml but
// for its store block.
func TestExampleRedisConfig(t *testing.T) {
	t.Setenv("KLAXON_REDIS_ADDR", "")
	path := filepath.Join("..", "..", "examples", "klaxon-redis.yaml")
	var out, errOut bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"check", "--config", path}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "ok")

	cfg, err := config.Load(path, nil)
	require.NoError(t, err)
	require.NotNil(t, cfg.Store.Redis)
	require.Equal(t, []string{"redis:6379"}, cfg.Store.Redis.Addrs)

	require.Equal(t, withoutStore(t, readExample(t, "klaxon.yaml")), withoutStore(t, readExample(t, "klaxon-redis.yaml")),
		"examples/klaxon-redis.yaml is examples/klaxon.yaml with store.redis: copy what changed in klaxon.yaml over")
}

// TestExampleCompose checks examples/docker-compose.yml as far as it can
// without Docker: two replicas of the image on the Redis config, nginx
// dealing one port out to both, Redis with AOF on a volume.
func TestExampleCompose(t *testing.T) {
	m, err := koanfyaml.Parser().Unmarshal([]byte(readExample(t, "docker-compose.yml")))
	require.NoError(t, err)
	services, ok := m["services"].(map[string]any)
	require.True(t, ok, "services")
	require.ElementsMatch(t, []string{"klaxon-1", "klaxon-2", "lb", "redis"}, slices.Collect(maps.Keys(services)))

	str := func(v any) []string {
		var out []string
		list, _ := v.([]any)
		for _, x := range list {
			out = append(out, x.(string))
		}
		return out
	}
	for _, name := range []string{"klaxon-1", "klaxon-2"} {
		s := services[name].(map[string]any)
		require.Equal(t, "Dockerfile", s["build"].(map[string]any)["dockerfile"], name)
		require.Equal(t, []string{"serve", "--config", "/etc/klaxon/klaxon.yaml"}, str(s["command"]), name)
		require.Equal(t, "0.0.0.0:8080", s["environment"].(map[string]any)["KLAXON_LISTEN"], name)
		require.Contains(t, str(s["volumes"]), "./klaxon-redis.yaml:/etc/klaxon/klaxon.yaml:ro", name)
	}
	redis := services["redis"].(map[string]any)
	require.Equal(t, "--appendonly yes", strings.Join(str(redis["command"])[1:3], " "))
	require.Contains(t, str(redis["volumes"]), "redis-data:/data")
	require.Contains(t, m["volumes"], "redis-data")

	lb := services["lb"].(map[string]any)
	require.Contains(t, str(lb["volumes"]), "./nginx.conf:/etc/nginx/nginx.conf:ro")
	nginx := readExample(t, "nginx.conf")
	upstreams := regexp.MustCompile(`(?m)^\s*server (klaxon-\d):8080\b`).FindAllStringSubmatch(nginx, -1)
	require.Len(t, upstreams, 2)
	require.Equal(t, "klaxon-1", upstreams[0][1])
	require.Equal(t, "klaxon-2", upstreams[1][1])
	// nginx lets through every body Klaxon takes: one it refused, an
	// Alertmanager group, would be lost.
	size := regexp.MustCompile(`(?m)^\s*client_max_body_size (\d+)m;`).FindStringSubmatch(nginx)
	require.NotNil(t, size, "nginx.conf sets client_max_body_size")
	mb, err := strconv.Atoi(size[1])
	require.NoError(t, err)
	require.GreaterOrEqual(t, mb<<20, api.MaxGroupBody)
}
