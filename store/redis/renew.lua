-- Renews the claims on timers that are still held with their tokens.
--
-- KEYS[1] lease hash: incident -> "<lease end us> <claim token>".
-- ARGV[1] new lease end (us); then pairs of incident and claim token.
-- Returns the incidents whose claim is not held with that token.
-- A lease never shrinks: a renewal from a clock behind keeps its end.
local renewed = tonumber(ARGV[1])
local lost = {}
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local lease = redis.call('HGET', KEYS[1], id)
  local ends, holder
  if lease then
    ends, holder = string.match(lease, '^(%-?%d+) (.*)$')
  end
  if token ~= '' and holder == token then
    redis.call('HSET', KEYS[1], id, string.format('%d', math.max(renewed, tonumber(ends))) .. ' ' .. token)
  else
    lost[#lost + 1] = id
  end
end
return lost
