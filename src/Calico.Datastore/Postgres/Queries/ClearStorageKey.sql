-- ClearStateAsync: drop the payload but keep the row and bump its version (a tombstone), under the same ETag rule
-- as a write. Orleans reads the new version from the first column; no row means the ETag was stale.
UPDATE calico_grain_state
SET PayloadBinary = NULL,
    Version = Version + 1,
    ModifiedOn = now()
WHERE ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
  AND Version = @GrainStateVersion
RETURNING Version AS "NewGrainStateVersion";
