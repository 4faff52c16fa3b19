#!/usr/bin/env bash
# Grafana's published dashboard schema, for the test that checks observability/grafana/dashboards/*.json against it.
# It comes from the @grafana/schema npm package (Grafana Labs, Apache-2.0), pinned below with the registry's
# integrity hash. The package ships no JSON schema and no CUE: its dashboard schema is TypeScript declarations
# generated from Grafana's CUE kinds, dist/types/raw/dashboard/x/types.gen.d.ts (the dashboard JSON Grafana stores,
# schemaVersion 39+, with its Panel, RowPanel, VariableModel, ... types). The test type-checks each dashboard against
# its `Dashboard` interface with tsc (Debian's node-typescript), strict, so unknown properties and wrong types fail.
#
# Fetched once from the npm registry (curl; NPM_CONFIG_REGISTRY or npm's configured registry if set, else
# registry.npmjs.org) into a cache directory and reused from there, so later runs need no network.
#   grafana-schema.sh   prints the path of the declarations file (fetching the package first if it is not cached)
# Environment: CALICO_CACHE  the cache directory (default ${XDG_CACHE_HOME:-$HOME/.cache}/calico)
set -euo pipefail

version=13.2.3
integrity=sha512-rk8FEO7yuFfRTK/JD39747SZFQ+iCTQbpm6Mh2OjnqGx/g/uQQFx56t64eCLXWEyoR68ru4cigcGKrXk+ozrLg==
member=package/dist/types/raw/dashboard/x/types.gen.d.ts

cache="${CALICO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/calico}/grafana-schema-$version"
types="$cache/dashboard-types.gen.d.ts"
if [ ! -s "$types" ]; then
  registry=${NPM_CONFIG_REGISTRY:-$(npm config get registry 2>/dev/null || true)}
  registry=${registry:-https://registry.npmjs.org/}
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  tarball="$work/grafana-schema-$version.tgz"
  curl -fsS -o "$tarball" "${registry%/}/@grafana/schema/-/schema-$version.tgz" \
    || { echo "grafana-schema: could not fetch @grafana/schema@$version from $registry (is the npm registry reachable?)" >&2; exit 1; }
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  [ "$actual" = "$integrity" ] || { echo "grafana-schema: $tarball has integrity $actual, expected $integrity" >&2; exit 1; }
  mkdir -p "$cache"
  tar -xzf "$tarball" -C "$work" "$member" package/LICENSE_APACHE2 package/package.json
  cp "$work/package/LICENSE_APACHE2" "$work/package/package.json" "$cache/"
  cp "$work/$member" "$types.tmp" && mv "$types.tmp" "$types"
fi
echo "$types"
