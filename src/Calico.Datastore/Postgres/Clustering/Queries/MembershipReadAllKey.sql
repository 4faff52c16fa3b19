-- The whole membership table: the version row joined with every member. A cluster without members still gives
-- one row (member columns NULL), which is how Orleans learns the version.
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
LEFT JOIN calico_membership m ON m.DeploymentId = v.DeploymentId
WHERE v.DeploymentId = @DeploymentId;
