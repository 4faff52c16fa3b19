-- One member and the table version; the version row comes back even when the member does not exist.
SELECT v.DeploymentId AS "DeploymentId",
       m.Address      AS "Address",
       m.Port         AS "Port",
       m.Generation   AS "Generation",
       m.SiloName     AS "SiloName",
       m.HostName     AS "HostName",
       m.Status       AS "Status",
       m.ProxyPort    AS "ProxyPort",
       m.SuspectTimes AS "SuspectTimes",
       m.StartTime    AS "StartTime",
       m.IAmAliveTime AS "IAmAliveTime",
       v.Version      AS "Version"
FROM calico_membership_version v
LEFT JOIN calico_membership m
       ON m.DeploymentId = v.DeploymentId
      AND m.Address = @Address
      AND m.Port = @Port
      AND m.Generation = @Generation
WHERE v.DeploymentId = @DeploymentId;
