-- Calico datastore schema for SQLite, applied at every silo start in one BEGIN IMMEDIATE transaction.
-- Every statement is idempotent; the query texts in OrleansQuery are rewritten from Sqlite/Queries/*.sql by the
-- installer on each start, so a newer release brings its queries with it.

-- The Orleans ADO.NET providers read their statements from here: SELECT QueryKey, QueryText FROM OrleansQuery.
CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  TEXT NOT NULL PRIMARY KEY,
    QueryText TEXT NOT NULL
);

-- One row per (service, state name, grain). Orleans 10 passes the [PersistentState] name as GrainTypeString;
-- CalicoAdoNetGrainStorage passes the whole grain id ("type/key") as the string key, so grains of different types
-- with the same key never share a row. GrainIdN0/N1 stay in the key because they are part of the provider's
-- contract (always 0 for these string ids). The hashes the provider also sends are not needed: the unique key is
-- the index.
CREATE TABLE IF NOT EXISTS calico_grain_state
(
    ServiceId              TEXT    NOT NULL,
    GrainTypeString        TEXT    NOT NULL,
    GrainIdN0              INTEGER NOT NULL,
    GrainIdN1              INTEGER NOT NULL,
    GrainIdExtensionString TEXT    NOT NULL,
    -- NULL once cleared: the row stays behind holding the version, so a writer with an older ETag still fails.
    PayloadBinary          BLOB,
    Version                INTEGER NOT NULL,
    ModifiedOn             TEXT    NOT NULL,
    -- For the catalog: the grain type and the primary key string, split off the grain id.
    GrainType              TEXT GENERATED ALWAYS AS (substr(GrainIdExtensionString, 1, instr(GrainIdExtensionString, '/') - 1)) VIRTUAL,
    GrainKey               TEXT GENERATED ALWAYS AS (substr(GrainIdExtensionString, instr(GrainIdExtensionString, '/') + 1)) VIRTUAL,
    UNIQUE (ServiceId, GrainTypeString, GrainIdN0, GrainIdN1, GrainIdExtensionString)
);

CREATE INDEX IF NOT EXISTS calico_grain_state_by_type ON calico_grain_state (ServiceId, GrainType);

-- The catalog's listing by key prefix (rows whose keys start with a parent's id: a subnet's blocks, a network's ports).
CREATE INDEX IF NOT EXISTS calico_grain_state_by_key ON calico_grain_state (ServiceId, GrainType, GrainKey);
