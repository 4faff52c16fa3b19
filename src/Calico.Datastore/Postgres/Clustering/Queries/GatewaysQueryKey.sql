-- The gateways clients may connect to: members with the requested status (Active) that listen for clients.
SELECT Address AS "Address", ProxyPort AS "ProxyPort", Generation AS "Generation"
FROM calico_membership
WHERE DeploymentId = @DeploymentId AND Status = @Status AND ProxyPort > 0;
