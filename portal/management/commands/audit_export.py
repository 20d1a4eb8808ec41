import contextlib
import csv

from django.core.management.base import CommandError

from portal.audit import scope
from portal.audit.export import HEADER, entries_of
from portal.audit.models import Action
from portal.management.arguments import window
from portal.management.base import ClientDataCommand
from portal.models import User, normalize_email_address


class _Verbatim:
    """The command's stdout for the csv module: no line ending added to what it writes."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")


def _user(value: str, *, name: str) -> User:
    found = User.objects.filter(email=normalize_email_address(value)).first()
    if found is None:
        raise CommandError(f"No account with the email {value!r} ({name}).")
    return found


class Command(ClientDataCommand):
    help = (
        "Write the access log's entries about one client (--client) or by one staff member "
        "(--actor) in [--start, --end) as CSV, oldest first, times in UTC. Streams in chunks, "
        "so any number of entries fits. The export is itself logged: one 'exported' entry "
        "per client whose entries it wrote."
    )

    def add_arguments(self, parser):
        parser.add_argument("--client", help="The client's email: entries about them.")
        parser.add_argument("--actor", help="A staff member's email: entries of what they did.")
        parser.add_argument("--start", required=True, help="YYYY-MM-DD (UTC) or ISO 8601.")
        parser.add_argument("--end", required=True, help="YYYY-MM-DD (inclusive) or ISO 8601.")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, client, actor, start, end, output, **options):
        if bool(client) == bool(actor):
            raise CommandError("Give either --client or --actor (one of them).")
        begin, finish = window(start, end)
        whose = _user(client, name="--client") if client else _user(actor, name="--actor")
        of = {"client_id": whose.pk} if client else {"actor_id": whose.pk}
        try:
            destination = (
                open(output, "w", newline="", encoding="utf-8")  # noqa: SIM115  (closed by the with below)
                if output
                else contextlib.nullcontext(_Verbatim(self.stdout))
            )
        except OSError as error:
            raise CommandError(f"Can't write {output}: {error.strerror}.") from None
        count = 0
        clients: set[int] = set()
        with destination as target:
            writer = csv.writer(target)
            writer.writerow(HEADER)
            for row in entries_of(**of, start=begin, end=finish):
                writer.writerow(row.cells)
                if row.client_id is not None:
                    clients.add(row.client_id)
                count += 1
            if client:
                clients = {whose.pk}  # looking for a client's entries is an access, found or not
            # The command line (and its --start and --end) is the entry's origin, and the
            # operating-system user its detail, as for every command that shows client data.
            self.note(*(scope.entry(Action.EXPORTED, client_id=pk) for pk in sorted(clients)))
        if output:
            self.stdout.write(f"{count} entries written to {output}.")
        else:
            self.stderr.write(f"{count} entries exported.")
