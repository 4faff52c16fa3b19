-- Creates the cluster's version row if it is missing; one boolean: whether this call created it.
WITH inserted AS (
    INSERT INTO calico_membership_version (DeploymentId) VALUES (@DeploymentId)
    ON CONFLICT (DeploymentId) DO NOTHING
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM inserted) AS "Inserted";
