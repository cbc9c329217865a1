"""Digests of the data files: damage that HDF5 cannot see is caught before a file is read.

A build writes, last, a digest file beside the data: ``NAME.sha256`` lists
``<SHA-256 hex>  <file name>`` for every file the build wrote, in the format of ``sha256sum``
(``sha256sum -c NAME.sha256`` checks it from a shell). :func:`write_manifest` writes it,
:func:`manifest_problem` checks all its files (the build's up-to-date test) and
:func:`verify_digest` checks one file before it is read (:func:`hepdl.common.data.load`).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path

from hepdl.common.io import DataFileError, rebuild_hint

__all__ = ["file_sha256", "manifest_path", "manifest_problem", "read_manifest", "verify_digest",
           "write_manifest"]

_MANIFEST_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")
#: Files verified in this process: resolved path -> ((size, mtime_ns, ctime_ns, inode), digest).
_VERIFIED: dict[str, tuple[tuple[int, int, int, int], str]] = {}
#: A file changed less than this long ago (ns) is hashed again next time: file-system clocks tick
#: coarsely, so a same-size edit within the tick could keep every time stamp (git's "racy clean").
_SETTLE_NS = 2_000_000_000


def manifest_path(path: str | os.PathLike) -> Path:
    """The digest file of a data file: ``NAME.sha256`` beside ``NAME.h5``.

    Examples
    --------
    >>> manifest_path("datasets/warmup_hits/ci/warmup_hits.h5").as_posix()
    'datasets/warmup_hits/ci/warmup_hits.sha256'
    """
    return Path(path).with_suffix(".sha256")


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 digest of a file's bytes as 64 hex digits (what ``sha256sum`` prints).

    The file is read in blocks, so its size does not matter; hashing runs at about 1 GB/s.

    Examples
    --------
    >>> import tempfile
    >>> demo = Path(tempfile.mkdtemp()) / "abc.txt"
    >>> _ = demo.write_bytes(b"abc")
    >>> file_sha256(demo)
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _entry_name(file: str | os.PathLike, folder: Path) -> str:
    """``file``'s name in the manifest of ``folder``: relative, with ``/`` separators."""
    try:
        name = Path(os.path.abspath(file)).relative_to(os.path.abspath(folder)).as_posix()
    except ValueError:
        raise ValueError(f"{file} is not inside {folder}: a digest file lists only files in its "
                         "own folder or below it; move the digest file up") from None
    if "\n" in name or "\\" in name:
        raise ValueError(f"file name {name!r} holds a newline or a backslash, which sha256sum "
                         "would escape; rename the file")
    return name


def write_manifest(manifest: str | os.PathLike, files: Iterable[str | os.PathLike]) -> Path:
    """Write the SHA-256 digests of ``files`` to ``manifest`` atomically, as ``sha256sum`` does.

    Parameters
    ----------
    manifest
        The digest file (``NAME.sha256``, see :func:`manifest_path`).
    files
        The files to list, all in the manifest's folder or below it. Each line is
        ``<hex>  <name>`` with the name relative to that folder; lines are sorted by name, so the
        same files give the same bytes.

    Returns
    -------
    Path
        The manifest. It is written to a temporary file and renamed into place, so an
        interrupted write leaves none.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "abc.txt").write_bytes(b"abc")
    >>> print(write_manifest(folder / "abc.sha256", [folder / "abc.txt"]).read_text(), end="")
    ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  abc.txt
    """
    manifest = Path(manifest)
    named = {_entry_name(file, manifest.parent): Path(file) for file in files}
    if not named:
        raise ValueError(f"no files to list in {manifest}; pass the files the build wrote")
    lines = "".join(f"{file_sha256(file)}  {name}\n" for name, file in sorted(named.items()))
    tmp = manifest.with_name(manifest.name + ".partial")
    try:
        tmp.write_bytes(lines.encode())
        os.replace(tmp, manifest)
    finally:
        tmp.unlink(missing_ok=True)
    return manifest


def read_manifest(manifest: str | os.PathLike, *, rebuild: str | None = None) -> dict[str, str]:
    """Read a digest file into ``{file name relative to its folder: SHA-256 hex}``.

    Raises
    ------
    DataFileError
        The digest file is missing, or a line is not ``<64 hex digits>  <file name>``.
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        raise DataFileError(f"Digest file {manifest} does not exist.{rebuild_hint(rebuild)}")
    entries: dict[str, str] = {}
    lines = manifest.read_bytes().decode(errors="replace").splitlines()
    for number, line in enumerate(lines, start=1):
        match = _MANIFEST_LINE.match(line)
        if match is None:
            raise DataFileError(f"Digest file {manifest} is damaged: line {number} is not "
                                f"'<64 hex digits>  <file name>' but {line[:80]!r}."
                                f"{rebuild_hint(rebuild)}")
        entries[match[2]] = match[1].lower()
    return entries


def _matches(file: Path, expected: str) -> bool:
    """Whether ``file`` hashes to ``expected``; a match is remembered while its stat stays put."""
    key = str(file.resolve())
    st = file.stat()
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if _VERIFIED.get(key) == (stamp, expected):
        return True
    if file_sha256(file) != expected:
        return False
    if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _SETTLE_NS:
        _VERIFIED[key] = (stamp, expected)
    return True


def manifest_problem(manifest: str | os.PathLike,
                     required: Iterable[str | os.PathLike] = ()) -> str | None:
    """Check every file a digest file lists; return the first problem in a few words, or None.

    Parameters
    ----------
    manifest
        The digest file.
    required
        Files that must be listed (the data file itself, say).

    Returns
    -------
    str or None
        ``"no digest"`` (no digest file), ``"digest file damaged"``, ``"NAME not in the digest"``,
        ``"NAME missing"`` or ``"NAME damaged: digest differs"``; None when every file verifies.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "abc.txt").write_bytes(b"abc")
    >>> manifest_problem(folder / "abc.sha256")
    'no digest'
    >>> _ = write_manifest(folder / "abc.sha256", [folder / "abc.txt"])
    >>> manifest_problem(folder / "abc.sha256") is None
    True
    >>> _ = (folder / "abc.txt").write_bytes(b"abd")
    >>> manifest_problem(folder / "abc.sha256")
    'abc.txt damaged: digest differs'
    """
    manifest = Path(manifest)
    if not manifest.is_file():
        return "no digest"
    try:
        entries = read_manifest(manifest)
    except DataFileError:
        return "digest file damaged"
    for file in required:
        if (name := _entry_name(file, manifest.parent)) not in entries:
            return f"{name} not in the digest"
    for name, expected in entries.items():
        if not (manifest.parent / name).is_file():
            return f"{name} missing"
        if not _matches(manifest.parent / name, expected):
            return f"{name} damaged: digest differs"
    return None


def verify_digest(path: str | os.PathLike, manifest: str | os.PathLike | None = None, *,
                  rebuild: str | None = None) -> None:
    """Check a data file against the digest recorded when it was built, before reading it.

    A success is remembered in this process while the file's size, modification and change
    times and inode stay the same, so a notebook that reads a file twice hashes it once.

    Parameters
    ----------
    path
        The data file.
    manifest
        Its digest file; ``NAME.sha256`` beside it (:func:`manifest_path`) if omitted.
    rebuild
        The command that recreates the file, quoted in the error message.

    Raises
    ------
    DataFileError
        The file is missing; the digest file is missing, damaged or does not list it; or the
        file's digest differs (it was damaged or changed after the build).

    Examples
    --------
    >>> import tempfile
    >>> demo = Path(tempfile.mkdtemp()) / "demo.h5"
    >>> _ = demo.write_bytes(b"not really HDF5: any file works")
    >>> verify_digest(demo, rebuild="make demo")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hepdl.common.io.DataFileError: Data file .../demo.h5 has no digest to check it against: ...
    Rebuild it with:
        make demo
    >>> _ = write_manifest(manifest_path(demo), [demo])
    >>> verify_digest(demo)  # no error: the file is as written
    """
    path = Path(path)
    manifest = manifest_path(path) if manifest is None else Path(manifest)
    if not path.is_file():
        raise DataFileError(f"Data file {path} does not exist.{rebuild_hint(rebuild)}")
    if not manifest.is_file():
        why = (f"has no digest to check it against: {manifest.name} is missing beside it (the "
               "build was interrupted, or it predates digests)")
    else:
        expected = read_manifest(manifest, rebuild=rebuild).get(_entry_name(path, manifest.parent))
        if expected is None:
            why = f"is not listed in its digest file {manifest}"
        elif _matches(path, expected):
            return
        else:
            why = (f"is damaged: its SHA-256 digest differs from the one {manifest.name} "
                   "recorded when it was built")
    raise DataFileError(f"Data file {path} {why}.{rebuild_hint(rebuild)}")
