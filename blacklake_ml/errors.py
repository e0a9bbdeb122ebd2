"""One exception hierarchy for the whole package.

Every error a user can cause or meet derives from :class:`BlacklakeError` and, where one fits,
from the matching builtin too (``PathNotFound`` is a ``FileNotFoundError``), so callers can
catch either. Vendor errors (SQLAlchemy, fsspec/botocore) are translated once, at the
storage and catalog boundaries.

Each class carries its CLI exit code (``exit_code``) and its HTTP status (``http_status``)
as class attributes, inherited by subclasses unless they set their own: the CLI exits with
``exc.exit_code``, and the HTTP layers (the gateway and the Jupyter server extension) answer
with ``exc.http_status``, so the mapping lives here, once, and both servers agree.
"""

from __future__ import annotations

from collections.abc import Iterable


class BlacklakeError(Exception):
    """Base class of every error raised on purpose by blacklake_ml."""

    #: Process exit code the CLI uses for this error kind.
    exit_code: int = 1
    #: HTTP status the gateway and the Jupyter extension answer with for this error kind.
    http_status: int = 500


# -- bad input ------------------------------------------------------------------------------
class InvalidInput(BlacklakeError, ValueError):
    """The caller passed something malformed; nothing was changed."""

    exit_code = 2
    http_status = 400


class InvalidName(InvalidInput):
    """A repository, branch or tag name breaks the naming rules."""


class InvalidPath(InvalidInput):
    """A path inside a repository is absolute, escapes the root, has NUL bytes or is too long."""


class InvalidMetadata(InvalidInput):
    """Metadata is not a flat str->str mapping within the size limits."""


class InvalidMessage(InvalidInput):
    """A commit message is empty or too long."""


class UnsafeSymlink(InvalidInput):
    """A directory being put holds a symlink that leads outside it (refused unless following
    symlinks was asked for), or a symlink loop."""


class InvalidURI(InvalidInput):
    """A ``blacklake://`` URI does not parse."""


class InvalidVersion(InvalidInput):
    """A version name or version range breaks the semantic-version rules."""


class AmbiguousRef(InvalidInput):
    """A commit id prefix matches more than one commit."""

    # 400 like the rest of bad input (not 300 Multiple Choices: the candidates are commits,
    # not representations of one resource); HTTP bodies list them as ``candidates``.

    def __init__(self, prefix: str, candidates: Iterable[str]) -> None:
        self.candidates = sorted(candidates)
        shown = ", ".join(c[:12] for c in self.candidates[:5])
        super().__init__(f"commit prefix {prefix!r} is ambiguous: matches {shown}")


# -- missing things -------------------------------------------------------------------------
class NotFound(BlacklakeError, LookupError):
    """Something named by the caller does not exist."""

    exit_code = 3
    http_status = 404


class RepoNotFound(NotFound):
    """No repository of that name."""


class RefNotFound(NotFound):
    """No branch, tag or commit matches the reference."""


class PathNotFound(NotFound, FileNotFoundError):
    """The path does not exist at that reference (or on the local disk)."""


class ObjectNotFound(NotFound, FileNotFoundError):
    """An object the store should hold is missing: the store is damaged (run ``fsck``)."""

    # A NotFound (exit code 3), but nothing the caller named is missing: the store is damaged,
    # a server-side failure, so 500 and not 404 (a client must not read it as "no such file").
    http_status = 500


class NoHistory(NotFound):
    """A rollback or roll-forward has no earlier (or undone) state to go to."""

    # 404 (inherited): the state asked for does not exist; nothing was changed.


class EnvironmentNotFound(NotFound):
    """Nothing was ever deployed to that environment of the repository."""


# -- things already there -------------------------------------------------------------------
class AlreadyExists(BlacklakeError, FileExistsError):
    """Creating something whose name is taken."""

    exit_code = 4
    http_status = 409


class RepoExists(AlreadyExists):
    """A repository of that name exists."""


class RefExists(AlreadyExists):
    """A branch or tag of that name exists in the repository."""


class DirectoryNotEmpty(AlreadyExists):
    """``checkout`` into a non-empty directory without ``force``."""

    # 409 (inherited): the target's current state conflicts with the request; retrying with
    # ``force`` (or into an empty directory) succeeds.


# -- concurrency and merging ----------------------------------------------------------------
class ConflictError(BlacklakeError):
    """Two changes touch the same paths; ``paths`` lists them."""

    exit_code = 5
    http_status = 409

    def __init__(self, message: str, paths: Iterable[str] = ()) -> None:
        self.paths = sorted(set(paths))
        super().__init__(message)


class MergeConflict(ConflictError):
    """A three-way merge, cherry-pick or revert found conflicting paths."""


class CommitConflict(ConflictError):
    """A concurrent commit to the branch changed the same paths as this one."""


class RefMoved(BlacklakeError):
    """Compare-and-swap on a ref lost the race (internal; retried or turned into a conflict)."""

    # 409 like the conflicts: a concurrent writer won; retrying the request succeeds.
    http_status = 409


class RefConflict(ConflictError):
    """A compare-and-swap the caller asked for failed: the alias (or deployment history) is no
    longer where the caller expected it; nothing was changed."""


class ObjectsVanished(BlacklakeError):
    """Objects this commit deduplicated against were collected by a concurrent ``gc``."""

    # 409: lost a race with a concurrent gc (the store is fine, unlike ObjectNotFound); retrying
    # the request succeeds.
    http_status = 409


# -- limits ---------------------------------------------------------------------------------
class QuotaExceeded(BlacklakeError):
    """The commit would take the repository past its size or file-count quota."""

    exit_code = 6
    # 413 Content Too Large: what was sent would not fit the repository's quota.
    http_status = 413


# -- damage and environment -----------------------------------------------------------------
class CorruptObject(BlacklakeError, OSError):
    """An object's bytes do not hash to its id, or do not decode."""

    exit_code = 7


class StorageError(BlacklakeError, OSError):
    """The object storage failed (after translation of the vendor error)."""

    exit_code = 8


class CatalogError(BlacklakeError):
    """The catalog database failed (after translation of the vendor error)."""

    exit_code = 8


class MissingDependency(BlacklakeError, ImportError):
    """An optional dependency is needed; the message names the pip extra that brings it."""

    exit_code = 9
    # 501 Not Implemented: this server lacks the feature until the pip extra is installed.
    http_status = 501

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(
            f"{what} needs an optional dependency: pip install 'blacklake-ml[{extra}]'")


class Cancelled(BlacklakeError):
    """The operation was cancelled (Ctrl-C); nothing was committed."""

    exit_code = 130
    # 503 Service Unavailable: the server gave up on the request (interrupt, shutdown) with
    # nothing committed, so a client may retry; not a bug (500) nor the client's fault (4xx).
    http_status = 503


# -- warnings -------------------------------------------------------------------------------
class DeprecatedModelWarning(UserWarning):
    """A deprecated model version (or a deprecated repository) was loaded.

    Emitted with :func:`warnings.warn` by ``Repo.open``/``read_bytes``/``get``/``checkout``,
    ``Store.open_uri`` and ``blacklake_ml.open``; the message names the version, the reason
    and the sunset date ("past its sunset date" once it has passed). Turn it into an error
    with ``warnings.simplefilter("error", DeprecatedModelWarning)``.
    """

    def __init__(self, message: str, *, repo: str = "", commit: str | None = None,
                 label: str | None = None, reason: str = "", sunset: str | None = None,
                 past_sunset: bool = False) -> None:
        super().__init__(message)
        self.repo = repo
        self.commit = commit
        self.label = label
        self.reason = reason
        self.sunset = sunset
        self.past_sunset = past_sunset
