"""
The access log: who saw or changed which client's record, kept so that it cannot be quietly
edited. `portal.audit.recorder.record_entries` is the one way to write to it;
`portal.audit.verify.verify` (and `manage.py audit_verify`) checks it.
"""
