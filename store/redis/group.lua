-- Reads a group and its open incident in one step, so that the version
-- and the incident belong together.
--
-- KEYS[1] group hash; ARGV[1] the shard's hash tag; ARGV[2], optional,
-- the version whose incident the caller holds decoded already.
-- Returns {version, open incident ID, open incident JSON or ""}, or
-- {version, open incident ID} when the caller holds that version.
local g = redis.call('HMGET', KEYS[1], 'v', 'o')
local version, open = g[1] or '0', g[2] or ''
if open == '' then
  return {version, ''}
end
if ARGV[2] == version then
  return {version, open}
end
local body = redis.call('HGET', ARGV[1] .. ':i:' .. open, 'j') or ''
return {version, open, body}
