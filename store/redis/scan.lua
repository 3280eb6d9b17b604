-- Finds the timers that a claim at now could take, without taking them:
-- of the shards named, the max earliest-due timers ready at now (due, and
-- not leased or their lease ended), and the earliest time another timer
-- of those shards is ready. A cluster runs it per shard; a single server
-- for all shards at once.
--
-- KEYS[2k-1] timer queue zset of shard k: incident -> due (us)
-- KEYS[2k]   lease hash of shard k: incident -> "<lease end us> <token>"
-- ARGV[1] now (us); ARGV[2] max.
-- Returns {has next (0/1), next (us), k, incident, due, ready, ...}.
local now, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local picked, best = {}, nil -- picked: sorted by due, then incident

local function later(ready)
  if not best or ready < best then
    best = ready
  end
end

-- pick keeps c if it is among the max earliest; what it drops or
-- displaces is ready later, at its ready time.
local function pick(c)
  local n = #picked
  if n >= max then
    local last = picked[n]
    if c.due > last.due or (c.due == last.due and c.id >= last.id) then
      later(c.ready)
      return
    end
    picked[n] = nil
    later(last.ready)
    n = n - 1
  end
  local i = n + 1
  while i > 1 and (picked[i - 1].due > c.due or (picked[i - 1].due == c.due and picked[i - 1].id > c.id)) do
    picked[i] = picked[i - 1]
    i = i - 1
  end
  picked[i] = c
end

for k = 1, #KEYS / 2 do
  local queue, leases = KEYS[2 * k - 1], KEYS[2 * k]
  local offset, page, done = 0, 4, false
  -- Pages grow: a poll with nothing due reads one timer per shard.
  while not done do
    local items = redis.call('ZRANGE', queue, offset, offset + page - 1, 'WITHSCORES')
    done = #items < 2 * page
    for i = 1, #items, 2 do
      local id, due = items[i], tonumber(items[i + 1])
      -- A timer is ready at its due time or its lease end, whichever is
      -- later. The rest of the shard is due at due or later: once that is
      -- past best, and past now or the last picked, none of it counts.
      local full = #picked >= max and due > picked[#picked].due
      if best and due >= best and (due > now or full) then
        done = true
        break
      end
      local ready = due
      local lease = redis.call('HGET', leases, id)
      if lease then
        ready = math.max(due, tonumber(string.match(lease, '^%-?%d+')))
      end
      if ready <= now then
        pick({k = k, id = id, due = due, ready = ready})
      else
        later(ready)
      end
    end
    offset = offset + page
    page = math.min(page * 2, 256)
  end
end

local out = {0, 0}
if best then
  out[1], out[2] = 1, best
end
for _, c in ipairs(picked) do
  out[#out + 1] = c.k
  out[#out + 1] = c.id
  out[#out + 1] = c.due
  out[#out + 1] = c.ready
end
return out
