package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/klaxonhq/klaxon"
	"github.com/redis/go-redis/v9"
)

// classify marks an error that says Redis cannot be reached or cannot
// serve now so that it matches klaxon.ErrUnavailable: the HTTP edge
// answers 503 and the sender retries. Other errors are returned as they
// are.
func classify(err error) error {
	if err == nil || !unavailable(err) {
		return err
	}
	return fmt.Errorf("redis %w: %w", klaxon.ErrUnavailable, err)
}

// unavailable reports whether err is Redis being unreachable, slow,
// closed, or in a state that passes: loading its data, a cluster without
// all its slots, a failover in progress, a busy script.
func unavailable(err error) bool {
	var netErr net.Error
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false // the caller gave up: not Redis's fault
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.As(err, &netErr),
		errors.Is(err, redis.ErrClosed),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted),
		redis.IsLoadingError(err),
		redis.IsClusterDownError(err),
		redis.IsTryAgainError(err),
		redis.IsReadOnlyError(err),
		redis.IsMasterDownError(err),
		redis.IsMaxClientsError(err),
		redis.IsNoReplicasError(err),
		redis.HasErrorPrefix(err, "BUSY"),
		// It cannot write: its disk is full (MISCONF, when it cannot
		// save), or its memory (OOM, at maxmemory with noeviction).
		redis.HasErrorPrefix(err, "MISCONF"),
		redis.HasErrorPrefix(err, "OOM"):
		return true
	}
	// go-redis says these in plain errors; Redis the last while a
	// script's slot migrates (a reshard) and a key it reads has moved.
	msg := err.Error()
	return strings.Contains(msg, "all sentinels specified in configuration are unreachable") ||
		strings.Contains(msg, "cluster has no nodes") ||
		strings.Contains(msg, "Script attempted to access a non local key")
}
