-- IGrainStateCatalog.ListAsync: every live (not cleared) state of one grain type in this service.
SELECT GrainKey, PayloadBinary
FROM calico_grain_state
WHERE ServiceId = @ServiceId
  AND GrainType = @GrainType
  AND PayloadBinary IS NOT NULL
ORDER BY GrainKey, GrainTypeString;
