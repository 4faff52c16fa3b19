# Loaded by every Python process of scripts/tempest-network.sh's Tempest run (its directory is on PYTHONPATH there, and
# nowhere else): Debian's tempest package sleeps 10 s in SubnetsClient.delete_subnet before every subnet delete, a
# workaround for Neutron servers that tear ports down asynchronously. This API deletes synchronously (a subnet delete
# answers only once its ports' addresses are gone), so the sleep only makes the run longer: about a third of its time.
# The request itself is unchanged. Applied only when the installed method is the one with that sleep.
import inspect

try:
    from tempest.lib.services.network import subnets_client as _subnets
except Exception:  # not a Tempest process, or another Tempest: leave everything as it is
    _subnets = None

if _subnets is not None:
    try:
        _source = inspect.getsource(_subnets.SubnetsClient.delete_subnet)
    except (OSError, TypeError):
        _source = ""
    if "time.sleep(10)" in _source:
        def delete_subnet(self, subnet_id):
            return self.delete_resource('/subnets/%s' % subnet_id)

        _subnets.SubnetsClient.delete_subnet = delete_subnet
