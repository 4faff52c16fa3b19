-- A silo's heartbeat. Deliberately does not bump the table version: liveness is not a membership change.
UPDATE calico_membership
SET IAmAliveTime = @IAmAliveTime
WHERE DeploymentId = @DeploymentId AND Address = @Address AND Port = @Port AND Generation = @Generation;
