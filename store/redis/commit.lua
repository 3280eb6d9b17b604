-- Commits one group: checks the version that was read, then writes the
-- group record, its incidents and their state index, its alert index and
-- its timers. On a cluster every key is in the group's shard: it is named
-- KEYS or built from the shard's hash tag, so the script runs in one slot.
-- On a single server it also writes the commit's keys outside the shard.
-- The state machine is not here: the script only stores what Go decided.
--
-- KEYS[1] group hash {v: version, o: open incident, c: last commit token,
-- p: the commit token before it, m: the token of the last commit that
-- moved alerts and its moves (JSON), l: the incident it last closed}
-- KEYS[2] shard alert index hash: alert key -> "<token> <group>"
-- KEYS[3] shard timer queue zset: incident -> due (us)
-- KEYS[4] shard timer hash: incident -> timer JSON
-- KEYS[5] shard lease hash: incident -> "<lease end us> <claim token>"
-- KEYS[5+i] incident hash {j: header JSON, s: state}, one per incident;
-- its alerts are the hash <key>:a (alert key -> record, see keys.go),
-- their details the hash <key>:d, their keys the sorted set <key>:k, its
-- timeline the list <key>:e (event JSON), in the same slot. The keys
-- after those are the others of the shard that the script builds from
-- its hash tag: declared only, so that a slot being migrated refuses the
-- script whole rather than part way (see undeclared in commit.go).
-- ARGV[1] version read; ARGV[2] open incident ID or ""; ARGV[3] group key;
-- ARGV[4] shard hash tag; ARGV[5] commit token; ARGV[6] "1" when the open
-- incident must already exist; ARGV[7] the token of the state read (the
-- group's last commit token), "" to check the version alone; ARGV[8] the
-- commit's time (µs) when it asks which keys it indexes moved
-- (Commit.Moved), else ""; ARGV[9] the version after (ARGV[1] + 1,
-- decimal: a Lua number would print a large one in its exponent form);
-- then counted
-- lists: on a single server, the keys outside the shard that the commit
-- writes (see entries in commit.go), keys to set (key, value), sets to
-- add to (key, member) and alert entries to set (key, value), all empty
-- on a cluster, where they are written ahead; incidents (ID, state,
-- score, header JSON or "" for a header the group holds as it is, then
-- counted lists of alert records (key, record), of details records (key,
-- record), of alert keys to add to the sorted set (0, key) and of events
-- (JSON)), alert keys to index, the claim token the
-- committer holds ("" for none), timers (incident, due us, JSON),
-- incidents whose timer to cancel. A timer set or cancelled keeps its
-- claim unless the commit carries that claim's token.
--
-- An incident written resolved while it is the group's open one leaves
-- the shard's alert index: each of its alerts whose entry names this
-- group. One of more than a thousand alerts is kept owed in the shard's
-- hash T:ux instead (see drain.lua).
--
-- A key indexed that another group had indexed moved: the script keeps
-- it, owed, in the shard's sorted set T:mv (see moves.go) until it is
-- settled.
--
-- Returns {1, {removed index values...}, {moved...}} when committed: the
-- alert and shard value of each entry of this group's alert index that
-- it removed, and the place in the list of alert entries, from 1, and
-- the group before of each entry that another group held. It returns {0,
-- version} when the group is no longer in the state read, {2} when the
-- open incident does not exist.
local group = KEYS[1]
local g = redis.call('HMGET', group, 'v', 'c', 'p', 'o')
local version, last = g[1] or '0', g[2] or ''
if version ~= ARGV[1] or (ARGV[7] ~= '' and last ~= ARGV[7]) then
  -- The same commit sent again (a client retry after a lost reply, which
  -- sends again every commit of its pipeline) has already applied when
  -- its token is the group's last, or the one before when another
  -- commit of the group landed in between.
  if last == ARGV[5] or g[3] == ARGV[5] then
    -- It tells again the moves it found, kept under its token.
    local m = redis.call('HGET', group, 'm')
    local tok, body
    if m then
      tok, body = string.match(m, '^(%S+) (.*)$')
    end
    if tok == ARGV[5] then
      return {1, {}, cjson.decode(body)}
    end
    return {1}
  end
  return {0, version}
end
local tag, token, gkey = ARGV[4], ARGV[5], ARGV[3]
if ARGV[6] == '1' and redis.call('EXISTS', tag .. ':i:' .. ARGV[2]) == 0 then
  return {2}
end

-- Nothing is written above this line: a refused commit changes nothing.
-- The keys outside the shard go first: should one fail (a set of pages
-- that is not a set), the commit has written nothing else.
local asks = ARGV[8] ~= ''
local a = 10
local n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do
  redis.call('SET', ARGV[a], ARGV[a + 1])
  a = a + 2
end
n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do
  redis.call('SADD', ARGV[a], ARGV[a + 1])
  a = a + 2
end
local moved = {}
n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do
  -- GET, then SET: SET's GET option needs Redis 6.2.
  local before = asks and redis.call('GET', ARGV[a])
  redis.call('SET', ARGV[a], ARGV[a + 1])
  local from = before and string.match(before, '^%S+ (.*)$')
  if from and from ~= gkey then
    moved[#moved + 1] = i
    moved[#moved + 1] = from
  end
  a = a + 2
end
if #moved > 0 then
  -- For the same commit sent again: the entries name this group by then.
  redis.call('HSET', group, 'm', token .. ' ' .. cjson.encode(moved))
end
local was = g[4] or ''
local closed = {}
n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do
  local id, state, score, body = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  a = a + 4
  local key = KEYS[5 + i]
  -- An incident the commit opens and closes (a fold of a firing and its
  -- resolve on a group with none open) is the group's last closed one
  -- too: a report late to it must find it.
  local fresh = false
  if body ~= '' then
    local old = redis.call('HGET', key, 's')
    fresh = not old
    if old == state then
      -- In its state's set already, with the same score (its ID's).
      redis.call('HSET', key, 'j', body)
    else
      if old then
        redis.call('ZREM', tag .. ':st:' .. old, id)
      end
      redis.call('HSET', key, 'j', body, 's', state)
      redis.call('ZADD', tag .. ':st:' .. state, score, id)
    end
  end
  local m = tonumber(ARGV[a]); a = a + 1
  if m > 0 then
    bulk('HSET', key .. ':a', a, a + 2 * m - 1)
    a = a + 2 * m
  end
  m = tonumber(ARGV[a]); a = a + 1
  if m > 0 then
    bulk('HSET', key .. ':d', a, a + 2 * m - 1)
    a = a + 2 * m
  end
  m = tonumber(ARGV[a]); a = a + 1
  if m > 0 then
    bulk('ZADD', key .. ':k', a, a + 2 * m - 1)
    a = a + 2 * m
  end
  m = tonumber(ARGV[a]); a = a + 1
  if m > 0 then
    bulk('RPUSH', key .. ':e', a, a + m - 1)
    a = a + m
  end
  if id == was and state == 'resolved' then
    closed[#closed + 1] = key
    redis.call('HSET', group, 'l', id)
  elseif fresh and state == 'resolved' then
    redis.call('HSET', group, 'l', id)
  end
end
redis.call('HSET', group, 'v', ARGV[9], 'o', ARGV[2], 'c', token, 'p', last)

local removed = {}
for _, key in ipairs(closed) do
  -- An incident of a storm holds 100,000 alerts, and the script holds
  -- the server while it runs: past a thousand, the unindexing is owed,
  -- for drain.lua to make a thousand at a time.
  if redis.call('HLEN', key .. ':a') > 1000 then
    redis.call('HSET', tag .. ':ux', key, '0 ' .. gkey)
  else
    unindex(KEYS[2], redis.call('HKEYS', key .. ':a'), gkey, {}, removed, '')
  end
end
-- After the unindexing: a key this commit indexes for the group's next
-- incident stays indexed.
local value = token .. ' ' .. gkey
n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do
  redis.call('HSET', KEYS[2], ARGV[a], value)
  a = a + 1
end
-- Each move is owed until it is settled (see moves.go): the alert's
-- resolve in the group it left. The alerts to index, just read, are
-- those whose entries were set above, in the same order.
for j = 1, #moved, 2 do
  local alert, from = ARGV[a - n - 1 + moved[j]], moved[j + 1]
  redis.call('ZADD', tag .. ':mv', ARGV[8], ARGV[8] .. ':' .. #gkey .. ':' .. gkey .. #alert .. ':' .. alert ..
    #from .. ':' .. from .. ARGV[2])
end

local claim = ARGV[a]; a = a + 1
-- release drops the claim on id's timer when this commit holds it.
local function release(id)
  local lease = redis.call('HGET', KEYS[5], id)
  if claim ~= '' and lease and string.match(lease, '^%-?%d+ (.*)$') == claim then
    redis.call('HDEL', KEYS[5], id)
  end
end
n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do
  local id = ARGV[a]
  redis.call('ZADD', KEYS[3], ARGV[a + 1], id)
  redis.call('HSET', KEYS[4], id, ARGV[a + 2])
  release(id)
  a = a + 3
end
n = tonumber(ARGV[a]); a = a + 1
for i = 1, n do
  local id = ARGV[a]
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
  release(id)
  a = a + 1
end
return {1, removed, moved}
