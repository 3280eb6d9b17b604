package embedded

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/klaxonhq/klaxon/store/storetest"
)

// TestPagedEntries: the entries of bucketPaged follow the life of an
// incident (see storetest.CheckPagedEntries).
func TestPagedEntries(t *testing.T) {
	s := openTemp(t)
	storetest.CheckPagedEntries(t, s, func(user string) []string {
		var ids []string
		prefix := pagedPrefix(user)
		require.NoError(t, s.view(func(tx *txn) error {
			c := tx.Bucket(bucketPaged).Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				ids = append(ids, string(k[len(prefix)+1:]))
			}
			return nil
		}))
		return ids
	})
}
