-- Calico grain storage schema for PostgreSQL, applied at every silo start in one transaction that first takes an
-- advisory lock (see PostgresSchema), so silos starting together do not race on CREATE ... IF NOT EXISTS.
-- Every statement is idempotent; the query texts in OrleansQuery are rewritten from Postgres/Queries/*.sql.
-- Tables are created in the first schema of the connection's search_path.

-- The Orleans ADO.NET providers read their statements from here: SELECT QueryKey, QueryText FROM OrleansQuery.
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL PRIMARY KEY,
    QueryText text        NOT NULL
);

-- One row per (service, state name, grain): see Sqlite/Schema.sql for why the key is what it is.
CREATE TABLE IF NOT EXISTS calico_grain_state
(
    ServiceId              text        NOT NULL,
    GrainTypeString        text        NOT NULL,
    GrainIdN0              bigint      NOT NULL,
    GrainIdN1              bigint      NOT NULL,
    GrainIdExtensionString text        NOT NULL,
    -- NULL once cleared: the row stays behind holding the version, so a writer with an older ETag still fails.
    PayloadBinary          bytea,
    Version                integer     NOT NULL,
    ModifiedOn             timestamptz NOT NULL DEFAULT now(),
    -- For the catalog: the grain type and the primary key string, split off the grain id.
    GrainType              text GENERATED ALWAYS AS (split_part(GrainIdExtensionString, '/', 1)) STORED,
    GrainKey               text GENERATED ALWAYS AS (substr(GrainIdExtensionString, strpos(GrainIdExtensionString, '/') + 1)) STORED,
    CONSTRAINT calico_grain_state_key UNIQUE (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString)
);

CREATE INDEX IF NOT EXISTS calico_grain_state_by_type ON calico_grain_state (ServiceId, GrainType);

-- The catalog's listing by key prefix (rows whose keys start with a parent's id: a subnet's blocks, a network's ports).
CREATE INDEX IF NOT EXISTS calico_grain_state_by_key ON calico_grain_state (ServiceId, GrainType, GrainKey COLLATE "C");
