#!/usr/bin/env bash
# Builds the Debian package calico_<version>_amd64.deb: self-contained calico-silo and calicoctl in /usr/lib/calico
# (links in /usr/bin), systemd units calico-controller and calico-compute, their settings in /etc/calico (conffiles),
# and maintainer scripts from packaging/. Needs the .NET SDK and dpkg-deb; not root.
# Usage: scripts/package.sh [--output DIR]   (default DIR: artifacts/package, which git ignores)
# The last line printed is the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

out=artifacts/package
while [ $# -gt 0 ]; do
  case "$1" in
    --output) out=${2:?--output needs a directory}; shift 2 ;;
    *) echo "package.sh: unknown argument '$1' (usage: scripts/package.sh [--output DIR])" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "package.sh: dpkg-deb not found (Debian's dpkg package)" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/build
rm -rf "$work"
mkdir -p "$work"

# Self-contained single files (the runtime inside; no .NET on the target), each published on its own and then put
# in one directory. Native libraries stay beside them (nothing is extracted at run time) and appsettings.json too
# (calico-silo reads it from beside its executable).
publish() {
  dotnet publish "$1" -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
    -p:DebugType=None -p:DebugSymbols=false --nologo -v quiet -o "$2" >&2
}
publish src/Calico.Silo/Calico.Silo.csproj "$work/silo"
publish src/Calico.Cli/Calico.Cli.csproj "$work/cli"

root=$work/root
lib=$root/usr/lib/calico
mkdir -p "$lib" "$root/usr/bin" "$root/usr/lib/systemd/system" "$root/etc/calico" "$root/usr/share/doc/calico" "$root/DEBIAN"
cp -a "$work/silo/." "$lib/"
for f in "$work"/cli/*; do
  name=$(basename "$f")
  if [ -e "$lib/$name" ] && ! cmp -s "$f" "$lib/$name"; then
    echo "package.sh: calico-silo and calicoctl both publish $name, with different contents" >&2
    exit 1
  fi
  cp -a "$f" "$lib/"
done
# Executables 0755, everything else 0644, whatever modes the NuGet packages gave their files.
find "$lib" -type f -exec chmod 644 {} +
chmod 755 "$lib/calico-silo" "$lib/calicoctl"
ln -s ../lib/calico/calico-silo "$root/usr/bin/calico-silo"
ln -s ../lib/calico/calicoctl "$root/usr/bin/calicoctl"
install -m 644 packaging/calico-controller.service packaging/calico-compute.service "$root/usr/lib/systemd/system/"
install -m 644 packaging/controller.env packaging/compute.env "$root/etc/calico/"
install -m 644 README.md ARCHITECTURE.md "$root/usr/share/doc/calico/"
install -m 755 packaging/postinst packaging/prerm packaging/postrm "$root/DEBIAN/"

# The version calico-silo reports ("calico-silo 1.0.0+<commit>"): the Debian version is its numbers, then the
# commit count and the commit, so that a later commit is a later package.
reported=$("$lib/calico-silo" --version)
upstream=${reported#calico-silo }
upstream=${upstream%%+*}
[[ "$upstream" =~ ^[0-9][0-9A-Za-z.~-]*$ ]] || { echo "package.sh: unexpected version '$reported' from calico-silo --version" >&2; exit 1; }
version=$upstream
if commit=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null); then
  version="$upstream+git$(git -C "$repo" rev-list --count HEAD).$commit"
fi

size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<EOF
Package: calico
Version: $version
Architecture: amd64
Maintainer: Calico for .NET developers <calico@localhost>
Installed-Size: $size
Depends: libc6, libgcc-s1, libstdc++6, libssl3 | libssl3t64
Recommends: iproute2, nftables, libnftables1, dnsmasq
Suggests: bird2, postgresql
Section: net
Priority: optional
Description: pure layer-3 networking for VMs and containers (control plane and host agent)
 Calico for .NET: a cluster of Orleans silos that owns the desired state (a Neutron v2.0 API) and, on every compute
 host, an agent that makes the kernel hold it (routes, nftables, dnsmasq, BIRD).
 .
 calico-silo runs a controller (calico-controller.service) or a compute node (calico-compute.service);
 calicoctl is the operator's tool. Nothing is started at installation.
EOF
printf '/etc/calico/controller.env\n/etc/calico/compute.env\n' > "$root/DEBIAN/conffiles"

deb=$out/calico_${version}_amd64.deb
rm -f "$out"/calico_*_amd64.deb
# zstd (Debian 12's dpkg reads it): seconds, where xz, the default, takes minutes over 230 MB on a busy 2-core machine.
dpkg-deb --build --root-owner-group -Zzstd "$root" "$deb" >&2
rm -rf "$work"
echo "$deb"
