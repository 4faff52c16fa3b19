-- Forgets a whole cluster (Orleans calls this only for tests and tools).
DELETE FROM calico_membership WHERE DeploymentId = @DeploymentId;
DELETE FROM calico_membership_version WHERE DeploymentId = @DeploymentId;
