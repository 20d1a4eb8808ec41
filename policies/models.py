"""
No rows here: what a policy says (terms.py) and what it decides (decisions.py) are pure. The
practice's policies are rows of appointments (appointments.models.Policy), beside its providers
and types; this app's migrations 0001-0004 are their table's early history.
"""
