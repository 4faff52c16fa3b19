-- Removes dead silos (SiloStatus.Dead = 6) whose last heartbeat is older than @IAmAliveTime.
DELETE FROM calico_membership
WHERE DeploymentId = @DeploymentId AND Status = 6 AND IAmAliveTime < @IAmAliveTime;
