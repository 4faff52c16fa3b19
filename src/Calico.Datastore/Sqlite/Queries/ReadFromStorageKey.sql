-- ReadStateAsync: the payload (NULL when cleared) and the version, which Orleans turns into the ETag.
-- No row means the grain was never written.
SELECT PayloadBinary, Version
FROM calico_grain_state
WHERE ServiceId = @ServiceId
  AND GrainTypeString = @GrainTypeString
  AND GrainIdN0 = @GrainIdN0
  AND GrainIdN1 = @GrainIdN1
  AND GrainIdExtensionString = COALESCE(@GrainIdExtensionString, '');
