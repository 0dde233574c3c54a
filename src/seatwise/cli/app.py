"""The ``seatwise`` group, and the one place where failures become messages.

No user ever sees a traceback: an error Seatwise raises on purpose prints ``error: …`` (one
line naming what is wrong) and exits 2 for bad input or 1 for an operational failure; a
database failure is said in one sentence (and that running again is safe); anything
unexpected prints one line with an error id, and its traceback goes to a log file
(``SEATWISE_DEBUG=1`` shows it instead).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import traceback
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from seatwise.core.errors import SeatwiseError
from seatwise.store.database import describe_database_error

EXIT_INVALID = 2
EXIT_FAILED = 1


def fail(error: SeatwiseError | str, code: int | None = None) -> NoReturn:
    """Print ``error: …`` on stderr and exit (2 for bad input, 1 for a failure)."""
    click.echo(f"error: {error}", err=True)
    if code is None:
        code = error.exit_code if isinstance(error, SeatwiseError) else EXIT_INVALID
    sys.exit(code)


def error_log() -> Path:
    return Path(os.environ.get("SEATWISE_ERROR_LOG", Path(tempfile.gettempdir()) / "seatwise.log"))


def _unexpected(error: BaseException) -> NoReturn:
    if os.environ.get("SEATWISE_DEBUG"):
        raise error
    error_id = uuid.uuid4().hex[:12]
    where = error_log()
    try:
        # a command line may hold bytes that are not UTF-8: written escaped, never refused
        with where.open("a", encoding="utf-8", errors="backslashreplace") as log:
            command = " ".join(sys.argv)
            log.write(f"--- {datetime.now(UTC).isoformat()} error {error_id}: {command}\n")
            log.write("".join(traceback.format_exception(error)))
        told = f"details in {where}"
    except OSError:
        told = "set SEATWISE_DEBUG=1 to see the details"
    fail(
        f"unexpected failure ({type(error).__name__}: {error}), error id {error_id}; {told}. "
        "Every change is one transaction, so nothing was half-done.",
        EXIT_FAILED,
    )


def log_to_file() -> None:
    """What the library logs (an account a billing run could not bill, with its traceback)
    goes to the error log, never to the terminal."""
    logger = logging.getLogger("seatwise")
    if not logger.handlers:
        handler = logging.FileHandler(
            error_log(), delay=True, encoding="utf-8", errors="backslashreplace"
        )
        handler.setFormatter(logging.Formatter("--- %(asctime)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False


_NEGATIVE_NUMBER = re.compile(r"-\d[\d.,]*")


class NumbersAsArguments(click.Command):
    """A command whose arguments may be negative numbers: `credits quote acme -1` is told
    what is wrong with -1 credits, not click's "No such option: -1"."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(_NEGATIVE_NUMBER.fullmatch(arg) for arg in args):
            ctx.ignore_unknown_options = True  # such a token is then an argument
        return super().parse_args(ctx, args)


class SafeGroup(click.Group):
    """A click group whose commands never end in a traceback."""

    command_class = NumbersAsArguments
    group_class = type  # its groups are SafeGroups too, and so make the same commands

    def invoke(self, ctx: click.Context) -> Any:
        log_to_file()
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except SeatwiseError as error:
            fail(error)
        except SQLAlchemyError as error:
            fail(describe_database_error(error), EXIT_FAILED)
        except OSError as error:
            what = error.filename or type(error).__name__
            fail(f"{error.strerror or error} ({what})", EXIT_FAILED)
        except KeyboardInterrupt:
            fail("interrupted; every change is one transaction, so nothing was half-done", 130)
        except Exception as error:  # the last guard: one line, never a traceback
            _unexpected(error)


@click.group(cls=SafeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="seatwise")
def main() -> None:
    """Seatwise: seat billing and prepaid credits, exactly right and explained.

    Every command that uses a database takes --database-url (default: $SEATWISE_DATABASE_URL,
    else the SQLite file ./seatwise.db). Instants are ISO 8601 with a zone (2025-03-01T09:00:00Z).
    """
