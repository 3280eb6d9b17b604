-- Reads a group, its open incident's header and, of the alert keys asked,
-- the records that incident holds, in one step, so that they belong to one
-- version.
--
-- KEYS[1] group hash; ARGV[1] the shard's hash tag; ARGV[2] and ARGV[3]
-- the version and token whose header the caller holds decoded already, or
-- ""; ARGV[4..] alert keys.
-- Returns {version, token, open incident ID, header, alert records...}:
-- token names the group's state (its last commit's token, "" before one);
-- header is "" when the caller holds that state's, false when the
-- incident is missing; an alert record is false when the incident lacks
-- that alert.
local g = redis.call('HMGET', KEYS[1], 'v', 'o', 'c')
local version, open, token = g[1] or '0', g[2] or '', g[3] or ''
if open == '' then
  return {version, token, ''}
end
local inc = ARGV[1] .. ':i:' .. open
local header = ''
if ARGV[2] ~= version or ARGV[3] ~= token then
  header = redis.call('HGET', inc, 'j')
end
return bulk('HMGET', inc .. ':a', 4, #ARGV, {version, token, open, header})
