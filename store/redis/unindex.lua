-- Deletes an alert's index entry if it still holds the value that a
-- commit removed from its group: an entry a later commit wrote stays.
--
-- KEYS[1] alert index entry; ARGV[1] the value removed.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
