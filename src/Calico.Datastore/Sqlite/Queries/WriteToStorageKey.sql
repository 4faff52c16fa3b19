-- WriteStateAsync. @GrainStateVersion is the ETag the grain holds: NULL when it has seen no row.
-- At most one of these two statements can change anything, and each is atomic on its own (a single write
-- statement takes the write lock before it reads), so no explicit transaction is needed:
--   * the INSERT creates version 1 only when the grain expects no row and none exists;
--   * the UPDATE bumps the version only when the stored version is the grain's.
-- Either returns the new version as NewGrainStateVersion. No row at all means the ETag was stale (or another
-- writer created the row first); Orleans then throws InconsistentStateException and nothing was written.
INSERT INTO calico_grain_state
    (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString, PayloadBinary, Version, ModifiedOn)
SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, COALESCE(@GrainIdExtensionString, ''), @PayloadBinary, 1,
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE @GrainStateVersion IS NULL
ON CONFLICT DO NOTHING
RETURNING Version AS NewGrainStateVersion;

UPDATE calico_grain_state
SET PayloadBinary = @PayloadBinary,
    Version = Version + 1,
    ModifiedOn = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
  AND Version = @GrainStateVersion
RETURNING Version AS NewGrainStateVersion;
