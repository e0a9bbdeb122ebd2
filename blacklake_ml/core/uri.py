"""``blacklake://<repo>/<ref>/<path>`` URIs."""

from __future__ import annotations

from dataclasses import dataclass

from blacklake_ml.core.names import normalize_path, validate_repo_name
from blacklake_ml.errors import InvalidURI

SCHEME = "blacklake://"


@dataclass(frozen=True)
class BlacklakeURI:
    """A parsed URI: repository, reference (branch, tag or commit id/prefix) and path."""

    repo: str
    ref: str
    path: str = ""

    @classmethod
    def parse(cls, uri: str, *, require_ref: bool = True) -> BlacklakeURI:
        """Parse and validate ``uri``; ``path`` comes back canonical ('' for the root)."""
        if not isinstance(uri, str) or not uri.startswith(SCHEME):
            raise InvalidURI(f"not a blacklake URI: {uri!r} (expected blacklake://REPO/REF/PATH)")
        rest = uri[len(SCHEME) :]
        if "?" in rest or "#" in rest:
            raise InvalidURI(f"blacklake URIs take no query or fragment: {uri!r}")
        repo, _, rest = rest.partition("/")
        ref, _, path = rest.partition("/")
        if not repo:
            raise InvalidURI(f"URI names no repository: {uri!r}")
        validate_repo_name(repo)
        if not ref and require_ref:
            raise InvalidURI(f"URI names no ref (branch, tag or commit): {uri!r}")
        return cls(repo=repo, ref=ref, path=normalize_path(path))

    def __str__(self) -> str:
        base = f"{SCHEME}{self.repo}/{self.ref}"
        return f"{base}/{self.path}" if self.path else base

