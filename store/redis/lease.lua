-- Leases timers that a scan found ready, if they still are: neither set
-- again (another due time) nor cancelled nor leased by another claim
-- since.
--
-- KEYS[1] timer queue zset; KEYS[2] timer hash; KEYS[3] lease hash.
-- ARGV[1] now (us); ARGV[2] lease end (us); ARGV[3] claim token; then
-- pairs of incident and due (us) as the scan saw them.
-- Returns the JSON of each timer leased.
local now, token = tonumber(ARGV[1]), ARGV[3]
local value = ARGV[2] .. ' ' .. token
local out = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  local due = redis.call('ZSCORE', KEYS[1], id)
  if due and tonumber(due) == tonumber(ARGV[i + 1]) then
    local free = true
    local lease = redis.call('HGET', KEYS[3], id)
    if lease then
      local ends, holder = string.match(lease, '^(%-?%d+) (.*)$')
      -- Its own lease is free to this claim: the same claim sent again.
      free = holder == token or tonumber(ends) <= now
    end
    local body = redis.call('HGET', KEYS[2], id)
    if free and body then
      redis.call('HSET', KEYS[3], id, value)
      out[#out + 1] = body
    end
  end
end
return out
