-- WriteStateAsync. @GrainStateVersion is the ETag the grain holds: NULL when it has seen no row.
-- At most one of these two statements can change anything, and each is atomic on its own:
--   * the INSERT creates version 1 only when the grain expects no row; a row inserted concurrently makes it do
--     nothing (ON CONFLICT waits for the other transaction, then skips);
--   * the UPDATE bumps the version only when the stored version is the grain's; a concurrent UPDATE of the same
--     row makes it wait, then re-check "Version = @GrainStateVersion" against the committed row and skip.
-- Either returns the new version as NewGrainStateVersion. No row at all means the ETag was stale; Orleans then
-- throws InconsistentStateException and nothing was written.
INSERT INTO calico_grain_state
    (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString, PayloadBinary, Version)
SELECT @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, COALESCE(@GrainIdExtensionString, ''), @PayloadBinary, 1
WHERE @GrainStateVersion IS NULL
ON CONFLICT ON CONSTRAINT calico_grain_state_key DO NOTHING
RETURNING Version AS "NewGrainStateVersion";

UPDATE calico_grain_state
SET PayloadBinary = @PayloadBinary,
    Version = Version + 1,
    ModifiedOn = now()
WHERE ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '')
  AND Version = @GrainStateVersion
RETURNING Version AS "NewGrainStateVersion";
