-- IGrainStateCatalog.ListAsync with a key prefix: the live states of one grain type whose key starts with it, as a
-- range [@KeyFrom, @KeyTo) over the index calico_grain_state_by_key (SQLite compares text bytewise).
SELECT GrainKey, PayloadBinary
FROM calico_grain_state
WHERE ServiceId = @ServiceId
  AND GrainType = @GrainType
  AND GrainKey >= @KeyFrom
  AND GrainKey < @KeyTo
  AND PayloadBinary IS NOT NULL
ORDER BY GrainKey, GrainTypeString;
