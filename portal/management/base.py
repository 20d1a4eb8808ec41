"""The base of every `manage.py` command that prints or exports client data."""

from typing import Any

from django.core.management.base import BaseCommand

from portal.audit import buffer, scope

# Options every command has, which say nothing about what it showed (call_command passes
# skip_checks itself).
DJANGOS_OWN = frozenset(
    {
        "help",
        "version",
        "verbosity",
        "settings",
        "pythonpath",
        "traceback",
        "no_color",
        "force_color",
        "skip_checks",
        "stdout",
        "stderr",
    }
)


class ClientDataCommand(BaseCommand):
    """
    Runs `handle` as the operator's unit of work (`portal.audit.scope.command_scope`): the
    entries it notes (`self.note(...)`, or any service it calls) are written when it ends, in
    one INSERT, naming the command line it was run with. A command streaming more than fits in
    memory calls `self.flush()` after each chunk instead.

    `secret_options`: options whose values never reach the log (none of ours takes one yet).
    """

    secret_options: frozenset[str] = frozenset()
    _argv: list[str] | None = None
    unit: buffer.Unit | None = None

    def run_from_argv(self, argv: list[str]) -> None:
        self._argv = list(argv)
        try:
            super().run_from_argv(argv)
        finally:
            self._argv = None

    def execute(self, *args: Any, **options: Any) -> Any:
        argv = self._argv or self.invocation(args, options)
        with scope.command_scope(argv, self.secret_options) as unit:
            self.unit = unit
            try:
                return super().execute(*args, **options)
            finally:
                self.unit = None

    def invocation(self, args: tuple, options: dict[str, Any]) -> list[str]:
        """
        The command line that would have given these options, for a command run by
        `call_command` (a test, another command, the scheduler's Python): sys.argv is then
        someone else's. Only options that differ from their defaults are shown.
        """
        name = type(self).__module__.rsplit(".", 1)[-1]
        words = ["manage.py", name]
        for action in self.create_parser("manage.py", name)._actions:
            if not action.option_strings or action.dest not in options:
                continue
            if action.dest in DJANGOS_OWN:
                continue
            value = options[action.dest]
            if value == action.default or value is None:
                continue
            flag = max(action.option_strings, key=len)
            if value is True or value is False:
                words.append(flag)
            else:
                words += [flag, str(value)]
        return words + [str(arg) for arg in args]

    def note(self, *entries: Any) -> None:
        buffer.note(*entries)

    def flush(self) -> None:
        """Write what was noted so far (one INSERT), so a long export holds little at once."""
        if self.unit is not None:
            buffer.flush(self.unit)
