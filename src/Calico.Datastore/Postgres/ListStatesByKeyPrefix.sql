-- IGrainStateCatalog.ListAsync with a key prefix: the live states of one grain type whose key starts with it, as a
-- range [@KeyFrom, @KeyTo) in bytewise order ("C"), which the index calico_grain_state_by_key serves.
SELECT GrainKey, PayloadBinary
FROM calico_grain_state
WHERE ServiceId = @ServiceId
  AND GrainType = @GrainType
  AND GrainKey COLLATE "C" >= @KeyFrom
  AND GrainKey COLLATE "C" < @KeyTo
  AND PayloadBinary IS NOT NULL
ORDER BY GrainKey COLLATE "C", GrainTypeString;
