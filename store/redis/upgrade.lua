-- Rewrites one incident of layout 1 (one JSON document with its alerts
-- and timeline) as layout 2: its header, its alert records and its
-- timeline list. It does nothing if the document changed since it was
-- read, so replicas that upgrade at once write each incident once.
--
-- KEYS[1] incident hash; KEYS[2] its alerts hash; KEYS[3] its timeline.
-- ARGV[1] the document as read; ARGV[2] the header; ARGV[3] n, then n
-- pairs of alert key and record; then the events.
-- Returns 1 when rewritten, 0 when it was not as read.
if redis.call('HGET', KEYS[1], 'j') ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'j', ARGV[2])
local n = tonumber(ARGV[3])
bulk('HSET', KEYS[2], 4, 3 + 2 * n)
bulk('RPUSH', KEYS[3], 4 + 2 * n, #ARGV)
return 1
