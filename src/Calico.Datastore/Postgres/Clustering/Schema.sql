-- Orleans membership (clustering) tables for PostgreSQL, applied at silo start like Postgres/Schema.sql and under
-- the same advisory lock. The query texts are rewritten from Postgres/Clustering/Queries/*.sql on each start.
-- "DeploymentId" is Orleans' ClusterId.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- One row per cluster: its version is the membership table's ETag. Every change of a member row bumps it in the
-- same statement, which is what makes Orleans' optimistic membership protocol safe.
CREATE TABLE IF NOT EXISTS calico_membership_version
(
    DeploymentId text        NOT NULL PRIMARY KEY,
    Version      integer     NOT NULL DEFAULT 0,
    ModifiedOn   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS calico_membership
(
    DeploymentId text        NOT NULL REFERENCES calico_membership_version (DeploymentId),
    Address      text        NOT NULL,
    Port         integer     NOT NULL,
    Generation   integer     NOT NULL,
    SiloName     text        NOT NULL,
    HostName     text        NOT NULL,
    Status       integer     NOT NULL,  -- Orleans SiloStatus: 3 Active, 6 Dead
    ProxyPort    integer     NOT NULL,  -- the gateway port; 0 when the silo is no gateway
    SuspectTimes text,                  -- "silo,time|silo,time" as Orleans formats it
    StartTime    timestamptz NOT NULL,
    IAmAliveTime timestamptz NOT NULL,
    PRIMARY KEY (DeploymentId, Address, Port, Generation)
);
